"""The one place that prints results: Rich for people, JSON for machines, from the same data.

Conventions: the report goes to stdout; progress, hints and errors go to stderr, so
`chatenv doctor --json | jq` always works. Text from the machine (package names such as
`chatenv[local]`, paths, server messages) is printed as `rich.text.Text`, never parsed as markup.
Every string leaves through `redact`, so a registered secret is never printed.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
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


# -- smoke-test ------------------------------------------------------------------------------
# The stages' results as the common lines, plus what a person wants to read under them: the
# generated text and the API's reply. Progress goes to stderr, only on a terminal.

SMOKE_HEADINGS = {"local": "Local generation", "train": "Training step", "api": "API completion"}
_SHOWN_TEXT = 300


@contextlib.contextmanager
def smoke_progress(*, enabled: bool) -> Iterator[Callable[[str | None], None]]:
    """A spinner with the current phase and its elapsed time, on stderr.

    The stages call the yielded function with a phase, or None to take the spinner away (before
    huggingface_hub draws its own download bars); a later phase brings it back."""
    console = stderr_console()
    if not enabled or not console.is_terminal:
        yield lambda _phase: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        refresh_per_second=5,  # a light touch on the GIL while the stages are timed
    )
    task: list[Any] = []
    running = [False]

    def show(phase: str | None) -> None:
        if phase is None:
            if running[0]:
                progress.stop()
                running[0] = False
            return
        if task:
            progress.reset(task[0], description=redact(phase))
        else:
            task.append(progress.add_task(redact(phase), total=None))
        if not running[0]:
            progress.start()
            running[0] = True

    try:
        yield show
    finally:
        show(None)


def render_smoke(report: Report, *, as_json: bool = False, verbose: bool = False) -> None:
    if as_json:
        print_json(report.to_json())
        return
    console = stdout_console()
    section: str | None = None
    for result in report.results:
        if result.section != section:
            if section is not None:
                console.print()
            section = result.section
            console.print(Text(SMOKE_HEADINGS.get(section, section), style="bold"))
        for line in human_lines([result], verbose=verbose)[1:]:
            console.print(line, soft_wrap=True)
        for line in _smoke_text_lines(result):
            console.print(line, soft_wrap=True)
    console.print(summary_line(report), soft_wrap=True)


def _smoke_text_lines(result: CheckResult) -> list[Text]:
    """The generated text (prompt dimmed) or the API's reply, quoted on one line; a note (what
    replaced a v0-era API or model) whatever the status."""
    if "note" in result.data:
        note = Text("      note: ", style="cyan")
        note.append(redact(str(result.data["note"])))
        return [note]
    if result.status is not Status.OK:
        return []
    if "text" in result.data:
        line = Text("      “")
        line.append(_one_line_text(str(result.data.get("prompt", ""))), style="dim")
        line.append(_one_line_text(str(result.data["text"])))
        line.append("”")
        return [line]
    if "reply" in result.data:
        line = Text("      reply: “")
        line.append(_one_line_text(str(result.data["reply"])))
        line.append("”")
        return [line]
    return []


def _one_line_text(text: str) -> str:
    flat = redact(text).replace("\r\n", "\n").replace("\n", "⏎").replace("\t", " ")
    return flat if len(flat) <= _SHOWN_TEXT else flat[:_SHOWN_TEXT] + "…"
