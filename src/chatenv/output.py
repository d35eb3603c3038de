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
from typing import TYPE_CHECKING, Any, TextIO

from chatenv.keys.mask import redact
from chatenv.results import CheckResult, Report, Status

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

# Rich is imported by the functions that print for people, not here: `--json` never needs it,
# and importing it costs ~50 ms on a small machine (measured with python -X importtime).

MARKS: dict[Status, tuple[str, str]] = {
    Status.OK: ("✓", "green"),
    Status.WARN: ("!", "yellow"),
    Status.FAIL: ("✗", "red"),
    Status.SKIP: ("–", "dim"),
}


#: The same marks for terminals whose encoding has no ✓ (a Windows console in cp1252, say).
ASCII_MARKS: dict[Status, str] = {
    Status.OK: "ok",
    Status.WARN: "!",
    Status.FAIL: "x",
    Status.SKIP: "-",
}


def _can_encode(console: Console, text: str) -> bool:
    try:
        text.encode(console.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _console(file: TextIO) -> Console:
    from rich.console import Console

    # highlight=False: Rich would otherwise colour numbers and paths inside our plain text.
    return Console(file=file, highlight=False, emoji=False)


def stdout_console() -> Console:
    return _console(sys.stdout)


def stderr_console() -> Console:
    return _console(sys.stderr)


def print_json(document: Any, file: TextIO | None = None) -> None:
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False)
    out = file or sys.stdout
    try:
        out.write(redact(text) + "\n")
        out.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Rich does for text. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        raise SystemExit(1) from None


def render(report: Report, *, as_json: bool = False, verbose: bool = False) -> None:
    """Print a report: JSON to stdout, or grouped Rich text to stdout."""
    if as_json:
        print_json(report.to_json())
        return
    console = stdout_console()
    ascii_only = not _can_encode(console, "✓✗–…")
    for line in human_lines(report.results, verbose=verbose, ascii_only=ascii_only):
        console.print(line, soft_wrap=True)
    console.print(summary_line(report), soft_wrap=True)


def human_lines(
    results: Iterable[CheckResult], *, verbose: bool = False, ascii_only: bool = False
) -> list[Text]:
    """Results grouped by section, each with its mark, its fix when not ok, details if asked."""
    from rich.text import Text

    lines: list[Text] = []
    section: str | None = None
    for result in results:
        if result.section != section:
            section = result.section
            if lines:
                lines.append(Text(""))
            title = SECTION_TITLES.get(section, section) if section else result.id
            lines.append(Text(redact(title), style="bold"))
        mark, style = MARKS[result.status]
        line = Text("  ")
        line.append(ASCII_MARKS[result.status] if ascii_only else mark, style=style)
        line.append(" " + redact(result.summary))
        lines.append(line)
        if verbose:
            for detail in result.details:
                lines.extend(
                    Text("      " + redact(part), style="dim")
                    for part in detail.rstrip("\n").splitlines() or [""]
                )
        if result.fix and result.status is not Status.OK:
            fix = Text("      fix: ", style="cyan")
            fix.append(redact(result.fix))
            lines.append(fix)
    return lines


def summary_line(report: Report) -> Text:
    from rich.text import Text

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
    elapsed = report.data.get("elapsed_s")
    if isinstance(elapsed, (int, float)):
        text.append(f" in {elapsed:.2f} s", style="dim")
    return text


def hint(message: str) -> None:
    """A progress or advice line for people, on stderr."""
    from rich.text import Text

    stderr_console().print(Text(redact(message), style="dim"), soft_wrap=True)


def notice(message: str) -> None:
    """Something the user should read even in a script (a permission change, a warning)."""
    from rich.text import Text

    line = Text("! ", style="yellow")
    line.append(redact(message))
    stderr_console().print(line, soft_wrap=True)


def error(message: str, fix: str | None = None) -> None:
    """The one line a failed command prints, and its fix, on stderr."""
    from rich.text import Text

    console = stderr_console()
    line = Text("error: ", style="bold red")
    line.append(redact(message))
    console.print(line, soft_wrap=True)
    if fix:
        fix_line = Text("  fix: ", style="cyan")
        fix_line.append(redact(fix))
        console.print(fix_line, soft_wrap=True)


# --- doctor ------------------------------------------------------------------------------------

#: How `chatenv doctor`'s sections are headed for people (JSON keeps the short names).
SECTION_TITLES: dict[str, str] = {
    "platform": "Platform",
    "python": "Python",
    "packages": "Packages",
    "gpu": "GPU and driver",
    "torch": "PyTorch build",
    "deep": "PyTorch, imported (--deep)",
    "frameworks": "Other frameworks",
    "disk": "Disk and model cache",
    "openai": "OpenAI settings",
    "dotenv": ".env file",
    "network": "Network",
}
