"""The one place that prints results: Rich for people, JSON for machines, from the same data.

Conventions: the report goes to stdout; progress, hints and errors go to stderr, so
`chatenv doctor --json | jq` always works. Text from the machine (package names such as
`chatenv[local]`, paths, server messages) is printed as `rich.text.Text`, never parsed as markup.
Every string leaves through `redact`, so a registered secret is never printed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from chatenv.keys.mask import redact
from chatenv.results import CheckResult, Report, Status

MARKS: dict[Status, tuple[str, str]] = {
    Status.OK: ("✓", "green"),
    Status.WARN: ("!", "yellow"),
    Status.FAIL: ("✗", "red"),
    Status.SKIP: ("–", "dim"),
}


def _console(file: TextIO) -> Console:
    # highlight=False: Rich would otherwise colour numbers and paths inside our plain text.
    return Console(file=file, highlight=False, emoji=False)


def stdout_console() -> Console:
    return _console(sys.stdout)


def stderr_console() -> Console:
    return _console(sys.stderr)


def print_json(document: Any, file: TextIO | None = None) -> None:
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False)
    out = file or sys.stdout
    out.write(redact(text) + "\n")
    out.flush()


def render(report: Report, *, as_json: bool = False, verbose: bool = False) -> None:
    """Print a report: JSON to stdout, or grouped Rich text to stdout."""
    if as_json:
        print_json(report.to_json())
        return
    console = stdout_console()
    for line in human_lines(report.results, verbose=verbose):
        console.print(line, soft_wrap=True)
    console.print(summary_line(report), soft_wrap=True)


def human_lines(results: Iterable[CheckResult], *, verbose: bool = False) -> list[Text]:
    """Results grouped by section, each with its mark, its fix when not ok, details if asked."""
    lines: list[Text] = []
    section: str | None = None
    for result in results:
        if result.section != section:
            section = result.section
            if lines:
                lines.append(Text(""))
            lines.append(Text(redact(section or result.id), style="bold"))
        mark, style = MARKS[result.status]
        line = Text("  ")
        line.append(mark, style=style)
        line.append(" " + redact(result.summary))
        lines.append(line)
        if verbose:
            lines.extend(Text("      " + redact(d), style="dim") for d in result.details)
        if result.fix and result.status is not Status.OK:
            fix = Text("      fix: ", style="cyan")
            fix.append(redact(result.fix))
            lines.append(fix)
    return lines


def summary_line(report: Report) -> Text:
    c = report.counts()
    text = Text("\n")
    parts = [
        (f"{c['ok']} ok", "green"),
        (f"{c['warn']} warning{'s' if c['warn'] != 1 else ''}", "yellow" if c["warn"] else ""),
        (f"{c['fail']} failed", "red" if c["fail"] else ""),
        (f"{c['skip']} skipped", "dim"),
    ]
    for i, (part, style) in enumerate(parts):
        if i:
            text.append(", ")
        text.append(part, style=style)
    return text


def hint(message: str) -> None:
    """A progress or advice line for people, on stderr."""
    stderr_console().print(Text(redact(message), style="dim"), soft_wrap=True)


def notice(message: str) -> None:
    """Something the user should read even in a script (a permission change, a warning)."""
    line = Text("! ", style="yellow")
    line.append(redact(message))
    stderr_console().print(line, soft_wrap=True)


def error(message: str, fix: str | None = None) -> None:
    """The one line a failed command prints, and its fix, on stderr."""
    console = stderr_console()
    line = Text("error: ", style="bold red")
    line.append(redact(message))
    console.print(line, soft_wrap=True)
    if fix:
        fix_line = Text("  fix: ", style="cyan")
        fix_line.append(redact(fix))
        console.print(fix_line, soft_wrap=True)


# --- CI formats: Markdown and GitHub Actions ---------------------------------------------------


def _md_cell(text: str) -> str:
    return redact(text).replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    """The report as Markdown: what `--format markdown` prints and what goes into
    $GITHUB_STEP_SUMMARY, a report a user can paste into a bug report."""
    c = report.counts()
    title = (
        f"### chatenv {report.command}: {c['ok']} ok, {c['warn']} warnings, "
        f"{c['fail']} failed, {c['skip']} skipped"
    )
    lines = [title, "", "| | section | check | result | fix |", "|---|---|---|---|---|"]
    for r in report.results:
        fix = f"`{_md_cell(r.fix)}`" if r.fix and r.status is not Status.OK else ""
        lines.append(
            f"| {MARKS[r.status][0]} | {_md_cell(r.section)} | `{_md_cell(r.id)}` "
            f"| {_md_cell(r.summary)} | {fix} |"
        )
    return "\n".join(lines) + "\n"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(report: Report) -> list[str]:
    """`::error::` / `::warning::` workflow commands for every failed or warning result."""
    lines = []
    for r in report.results:
        if r.status not in (Status.FAIL, Status.WARN):
            continue
        level = "error" if r.status is Status.FAIL else "warning"
        message = r.summary + (f"\nfix: {r.fix}" if r.fix else "")
        title = _gh_property(redact(f"chatenv {report.command}: {r.id}"))
        lines.append(f"::{level} title={title}::{_gh_data(redact(message))}")
    return lines
