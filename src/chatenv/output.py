"""The one place that prints results: Rich for people, JSON for machines, from the same data.

Conventions: the report goes to stdout; progress, hints and errors go to stderr, so
`chatenv doctor --json | jq` always works. Text from the machine (package names such as
`chatenv[local]`, paths, server messages) is printed as `rich.text.Text`, never parsed as markup.
Every string leaves through `redact`, so a registered secret is never printed.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, TextIO

from chatenv.keys.mask import redact
from chatenv.problems import problem
from chatenv.results import CheckResult, CommandError, Report, Status

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

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


def _ascii_only(console: Console) -> bool:
    return not _can_encode(console, "✓✗–…")


#: What a console whose encoding lacks them (LC_ALL=C without Python's UTF-8 mode, a cp1252
#: Windows console) shows for the non-ASCII characters chatenv prints itself; any other
#: character it cannot encode (from a path, a server's message) becomes "?".
ASCII_FALLBACK = {
    "✓": "ok",
    "✗": "x",
    "–": "-",
    "—": "-",
    "…": "...",
    "·": "-",
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
    "⏎": " ",
    "›": ">",
    "→": "->",
    "✅": "[ok]",
    "⚠": "[!]",
    "❌": "[x]",
    "➖": "[-]",
    "\ufe0f": "",  # the emoji variation selector after ⚠
}
_FALLBACK_HANDLER = "chatenv-ascii"


def _ascii_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = exc.object[exc.start : exc.end]
    return "".join(ASCII_FALLBACK.get(char, "?") for char in text), exc.end


def _register_fallback() -> None:
    import codecs

    try:
        codecs.lookup_error(_FALLBACK_HANDLER)
    except LookupError:
        codecs.register_error(_FALLBACK_HANDLER, _ascii_fallback)


def is_unicode(stream: IO[str]) -> bool:
    """Whether `stream` writes a Unicode encoding (UTF-8 and its kin), so any text fits."""
    import codecs

    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name.startswith("utf")
    except LookupError:
        return False


def encoding_safe(stream: TextIO) -> TextIO:
    """`stream`, set (once) to write what its encoding lacks as ASCII (`ASCII_FALLBACK`) rather
    than raise UnicodeEncodeError in the middle of a report."""
    if is_unicode(stream) or getattr(stream, "errors", None) == _FALLBACK_HANDLER:
        return stream
    _register_fallback()
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError):
            reconfigure(errors=_FALLBACK_HANDLER)
    return stream


def _console(file: TextIO) -> Console:
    from rich.console import Console

    # highlight=False: Rich would otherwise colour numbers and paths inside our plain text.
    return Console(file=encoding_safe(file), highlight=False, emoji=False)


def stdout_console() -> Console:
    return _console(sys.stdout)


def stderr_console() -> Console:
    return _console(sys.stderr)


def print_json(document: Any, file: TextIO | None = None) -> None:
    """The document, redacted; \\u escapes where the stream's encoding is not Unicode (the
    same data, parsed, on an ASCII console)."""
    out = file or sys.stdout
    text = json.dumps(document, indent=2, ensure_ascii=not is_unicode(out), sort_keys=False)
    try:
        out.write(redact(text) + "\n")
        out.flush()
    except BrokenPipeError:
        _quiet_broken_pipe(out)


def render(
    report: Report,
    *,
    fmt: str = "text",
    verbose: bool = False,
    shown: frozenset[str] = frozenset(),
) -> None:
    """Print a report to stdout in `fmt` (text, json or markdown); under GitHub Actions, also
    its annotations and job summary. The one path every command's report takes, including a
    command stopped by an error (`error_report`): as text that is only its one line on stderr,
    printed already by `error`; a report that did something before it stopped (setup's stages
    before Ctrl-C) still shows what it did."""
    if report.shown_by is not None:
        _follower(report, hints=fmt == "text" and sys.stderr.isatty())
        return
    if fmt == "json":
        print_json(report.to_json())
    elif fmt == "markdown":
        write_stdout(markdown(report))
    elif report.error is None or any(r.id != "error" for r in report.results):
        render_text(report, verbose=verbose, shown=shown)
    github_actions(report, fmt=fmt)


def _follower(report: Report, *, hints: bool) -> None:
    """A rank or node whose report another process prints (`Report.shown_by`): nothing on
    stdout; its failures, one line each, on stderr (and, on a terminal, that it passed)."""
    for result in report.results:
        if result.status in (Status.FAIL, Status.WARN):
            error(result.summary, result.fix)
        elif hints:
            hint(result.summary)


def render_text(
    report: Report, *, verbose: bool = False, shown: frozenset[str] = frozenset()
) -> None:
    """A report for people: the command's own layout where it has one (below), else grouped
    results and the summary line."""
    TEXT_RENDERERS.get(report.command, _render_results)(report, verbose, shown)


def _render_results(report: Report, verbose: bool, shown: frozenset[str]) -> None:
    console = stdout_console()
    _print_results(console, report.results, verbose=verbose)
    print_line(console, summary_line(report))


def _print_results(console: Console, results: Iterable[CheckResult], *, verbose: bool) -> None:
    """Result lines, with ASCII marks where the console cannot encode the usual ones."""
    for line in human_lines(results, verbose=verbose, ascii_only=_ascii_only(console)):
        print_line(console, line)


def print_line(console: Console, line: Text | str = "") -> None:
    """Print one line for people. To a pipe or a file: as it is, however long (logs, grep).
    On a terminal: wrapped at spaces to the terminal's width, each continuation row indented
    two more than the line (under the text, after a mark such as `  ✓ `); a word longer than
    a row stays whole, and a line made with no_wrap (a fix, a command line) is never broken:
    the terminal wraps those itself, so they copy and paste whole."""
    from rich.text import Text

    text = Text(line) if isinstance(line, str) else line
    if (
        not console.is_terminal
        or text.no_wrap
        or (text.cell_len <= console.width and "\n" not in text.plain)
    ):
        console.print(text, soft_wrap=True)
        return
    for row in _hanging_rows(console, text):
        console.print(row, soft_wrap=True)


def _hanging_rows(console: Console, line: Text) -> list[Text]:
    from rich.text import Text

    width = console.width
    rows: list[Text] = []
    for part in line.split("\n", allow_blank=True):
        plain = part.plain
        hang = min(len(plain) - len(plain.lstrip(" ")) + 2, width // 2)
        if part.cell_len <= width or len(plain) <= hang:
            rows.append(part)
            continue
        head, body = part[:hang], part[hang:]
        for i, piece in enumerate(body.divide(_breaks(body.plain, width - hang))):
            piece.rstrip()
            rows.append((head if i == 0 else Text(" " * hang)) + piece)
    return rows


def _breaks(text: str, width: int) -> list[int]:
    """Where rows of at most `width` cells start, breaking only after spaces: a word longer
    than a row gets a row of its own, whole."""
    from rich.cells import cell_len

    breaks: list[int] = []
    start = used = 0
    for word in re.finditer(r"\S+\s*", text):
        if word.start() > start and used + cell_len(word.group().rstrip()) > width:
            breaks.append(word.start())
            start, used = word.start(), 0
        used += cell_len(word.group())
    return breaks


def write_stdout(text: str) -> None:
    """Plain text (Markdown) to stdout, redacted; a closed pipe stops quietly as for JSON."""
    try:
        encoding_safe(sys.stdout).write(redact(text))
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe(sys.stdout)


def _quiet_broken_pipe(out: TextIO) -> None:
    # The reader went away (`| head`): stop quietly, as Rich does for text. Point stdout at
    # devnull so the interpreter's final flush does not raise again.
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, out.fileno())
    raise SystemExit(1) from None


def error_report(command: str, message: str, fix: str | None, exit_code: int) -> Report:
    """The report of a command that stopped with an error: one failed result, and the error
    (its exit code wins) for JSON's `"error"` field."""
    failed = CheckResult.fail("error", message, section="error", fix=fix)
    return Report(command, (failed,), error=CommandError(message, fix, exit_code))


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
            fix = Text("      fix: ", style="cyan", no_wrap=True)
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

    print_line(stderr_console(), Text(redact(message), style="dim"))


def notice(message: str) -> None:
    """Something the user should read even in a script (a permission change, a warning)."""
    from rich.text import Text

    line = Text("! ", style="yellow")
    line.append(redact(message))
    print_line(stderr_console(), line)


def error(message: str, fix: str | None = None) -> None:
    """The one line a failed command prints, and its fix, on stderr."""
    from rich.text import Text

    console = stderr_console()
    line = Text("error: ", style="bold red")
    line.append(redact(message))
    print_line(console, line)
    if fix:
        fix_line = Text("  fix: ", style="cyan", no_wrap=True)
        fix_line.append(redact(fix))
        print_line(console, fix_line)


def confirm(question: str, *, default: bool = True) -> bool:
    """A yes/no question, answered on stdin (a terminal), as click.confirm asks it. Unlike
    click.confirm, Ctrl-C stays KeyboardInterrupt (exit 130 and "interrupted", as at every
    other point) instead of becoming click's Abort, and end of input (Ctrl-D) is "no". The
    question goes to the terminal itself, as getpass's prompt does (`prompt_stream`)."""
    suffix = " [Y/n]: " if default else " [y/N]: "
    with prompt_stream() as out:
        while True:
            try:  # from the first byte of the question: Ctrl-C may come as soon as it shows
                out.write(redact(question) + suffix)
                out.flush()
                answer = sys.stdin.readline()
            except KeyboardInterrupt:
                end_prompt_line()
                raise
            if not answer:
                end_prompt_line()
                return False
            word = answer.strip().lower()
            if not word:
                return default
            if word in ("y", "yes", "n", "no"):
                return word.startswith("y")
            out.write(problem("cli.not-yes-or-no").text(default="yes" if default else "no") + "\n")


@contextlib.contextmanager
def prompt_stream() -> Iterator[TextIO]:
    """Where a question is written: the controlling terminal (/dev/tty), so that it shows
    even when stderr goes to a file (`chatenv setup 2>setup.log`); stderr where there is none
    (Windows, no controlling terminal)."""
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    try:
        tty = open("/dev/tty", "w", encoding=encoding)  # noqa: SIM115 (closed below)
    except OSError:
        yield encoding_safe(sys.stderr)
        return
    with tty:
        yield encoding_safe(tty)


def end_prompt_line() -> None:
    """After Ctrl-C or Ctrl-D at a prompt the cursor is still on the prompt's line (the
    terminal echoed only "^C"): end it, so the error line that follows starts a line."""
    with contextlib.suppress(OSError, ValueError), prompt_stream() as out:
        out.write("\n")
        out.flush()


# --- chatenv install ---------------------------------------------------------------------------
# The plan, the installer's progress and the end of a failed installer's log. Reads the plan's
# JSON form (`Plan.to_json()`), so it knows nothing about how the plan was made.

_ACTION_STYLES = {
    "install": "green",
    "upgrade": "cyan",
    "downgrade": "yellow",
    "replace": "yellow",
    "remove": "red",
    "keep": "dim",
}


def install_plan_lines(plan: dict[str, Any], *, verbose: bool = False) -> list[Text]:
    """Where it installs, the torch choice and its reasons, one row per package."""
    from rich.text import Text

    lines: list[Text] = []
    py = plan["python"]
    head = Text("Target: ", style="bold")
    head.append(redact(f"{py['executable']} (Python {py['version']}, {py['kind']})"))
    lines.append(head)
    installer = plan.get("installer")
    if installer:
        command = " ".join(installer["command"])
        lines.append(Text(redact(f"Installer: {command}"), style="dim", no_wrap=True))
    lines.append(Text(redact(f"Profiles: {', '.join(plan['profiles'])}"), style="dim"))
    torch = plan.get("torch")
    if torch:
        lines.append(Text(""))
        lines.extend(_torch_lines(torch))
    lines.append(Text(""))
    lines.append(Text("Plan", style="bold"))
    rows = plan["packages"]
    width = max((len(r["name"]) for r in rows), default=0)
    new_deps = []
    for row in rows:
        if not row["pinned"] and row["action"] == "keep":
            continue
        if not row["pinned"] and row["action"] == "install" and not verbose:
            new_deps.append(row)
            continue
        lines.append(_package_line(row, width))
    if new_deps:
        names = ", ".join(f"{r['name']} {r['target']}" for r in new_deps[:6])
        more = f", and {len(new_deps) - 6} more (--verbose lists them)" if len(new_deps) > 6 else ""
        line = Text("  ")
        line.append(f"{'install':<9}", style=_ACTION_STYLES["install"])
        noun = "dependency" if len(new_deps) == 1 else "dependencies"
        line.append(redact(f" {len(new_deps)} {noun}: {names}{more}"), style="dim")
        lines.append(line)
    for note in plan.get("notes", []):
        lines.append(Text("  note: " + redact(note), style="yellow"))
    if verbose:
        for problem in plan.get("dependency_problems", []):
            lines.append(Text("  dependency: " + redact(problem), style="dim"))
        for res in plan.get("resolutions", []):
            lines.append(Text("  $ " + redact(" ".join(res["command"])), style="dim", no_wrap=True))
    return lines


def _torch_lines(torch: dict[str, Any]) -> list[Text]:
    from rich.text import Text

    choice = torch["choice"]
    installed = torch.get("installed")
    title = Text("PyTorch: ", style="bold")
    if torch["keep"] and installed:
        title.append(redact(f"keep {installed['version']} ({installed['variant']})"))
        reasons = [torch["reason"]]
    else:
        where = choice["index_url"] or "PyPI"
        title.append(redact(f"{choice['variant']} for torch {choice['series']} from {where}"))
        reasons = [*choice["reasons"], torch["reason"]]
    lines = [title]
    lines.extend(Text("  · " + redact(r), style="dim") for r in reasons if r)
    return lines


def _package_line(row: dict[str, Any], width: int) -> Text:
    from rich.text import Text

    action = row["action"]
    line = Text("  ")
    line.append(f"{action:<9}", style=_ACTION_STYLES.get(action, ""))
    line.append(" " + redact(row["name"]).ljust(width) + "  ")
    installed, target = row.get("installed"), row.get("target")
    if action in {"keep", "remove"}:
        line.append(redact(installed or ""))
    elif installed and target:
        line.append(redact(f"{installed} -> {target}"))
    elif target:
        line.append(redact(target))
    else:
        line.append(
            redact(f"{row.get('spec') or ''} (version decided when installing)"), style="dim"
        )
    if not row["pinned"] and action != "keep":
        line.append("  (dependency)", style="dim")
    return line


def _render_install(report: Report, verbose: bool, shown: frozenset[str]) -> None:
    """The install report: the plan (unless already shown), then results that matter."""
    console = stdout_console()
    plan = report.data.get("plan")
    if "plan" not in shown and plan:
        print_install_plan(plan, verbose=verbose)
    results = (
        report.results
        if verbose or report.data.get("applied") is not None
        else tuple(r for r in report.results if r.status is not Status.OK)
    )
    if results:
        _print_results(console, results, verbose=verbose)
    print_line(console, _install_summary(report))


def _install_summary(report: Report) -> Text:
    from rich.text import Text

    plan = report.data.get("plan") or {}
    if report.exit_code:
        return summary_line(report)
    if plan.get("nothing_to_do"):
        if plan.get("upgrade"):
            return Text(
                "Nothing to do: everything is at the newest versions the pins allow.", style="green"
            )
        return Text("Nothing to do: everything already satisfies the pins.", style="green")
    if report.data.get("dry_run"):
        counts: dict[str, int] = {}
        for row in plan.get("packages", []):
            counts[row["action"]] = counts.get(row["action"], 0) + 1
        parts = [f"{n} to {a}" for a, n in counts.items() if a != "keep"]
        kept = counts.get("keep", 0)
        return Text(f"Dry run: {', '.join(parts) or 'no changes'}; {kept} kept. Nothing changed.")
    log = report.data.get("log")
    text = Text("Installed and verified.", style="green")
    if log:
        text.append(redact(f" Full log: {log}"), style="dim")
    return text


def print_install_plan(plan: dict[str, Any], *, verbose: bool = False) -> None:
    console = stdout_console()
    for line in install_plan_lines(plan, verbose=verbose):
        print_line(console, line)
    console.print("")


def install_log_tail(lines: Iterable[str]) -> None:
    """The end of a failed installer's log, on stderr, above the error line."""
    from rich.text import Text

    console = stderr_console()
    print_line(console, Text("last lines of the installer's log:", style="dim"))
    for line in lines:
        print_line(console, Text("  | " + redact(line), style="dim", no_wrap=True))


def one_row(console: Console, text: str, width: int) -> str:
    """`text` (redacted) cut to `width` cells with an ellipsis, in characters the console can
    encode: a live display must know how many rows it drew, or it leaves copies behind."""
    from rich.cells import cell_len, set_cell_size

    text = redact(text)
    ellipsis = "…"
    if not is_unicode(console.file):
        _register_fallback()
        encoding = console.encoding or "ascii"
        text = text.encode(encoding, _FALLBACK_HANDLER).decode(encoding)
        ellipsis = "..."
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, max(width - len(ellipsis), 0)) + ellipsis


def _spinner(console: Console) -> str:
    """Rich's Braille "dots", or "line" (-\\|/) where the console cannot show Braille."""
    return "dots" if _can_encode(console, "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏") else "line"


class InstallProgress:
    """Progress while an installer runs, on stderr: a Rich status line on a terminal, otherwise
    one line per summarised installer line (what CI logs show)."""

    def __init__(self, log: str) -> None:
        self._console = stderr_console()
        self._log = log
        self._status: Any = None
        self._step = ""

    def __enter__(self) -> InstallProgress:
        hint(f"full installer log: {self._log}")
        if self._console.is_terminal:
            self._status = self._console.status(
                "starting the installer", spinner=_spinner(self._console)
            )
            self._status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(None, None, None)

    def step(self, name: str, requirements: Iterable[str]) -> None:
        self._step = name
        text = f"{name} step: {' '.join(requirements)}"
        if self._status is not None:
            from rich.text import Text

            print_line(self._console, Text(redact(text), style="bold"))
        else:
            hint(text)

    def line(self, text: str | None) -> None:
        if not text:
            return
        if self._status is not None:
            from rich.text import Text

            # one row, whatever the terminal's width: the spinner and a space come before it
            width = max(self._console.width - 2, 10)
            self._status.update(Text(one_row(self._console, f"{self._step}: {text}", width)))
        else:
            hint(f"  {text}")


# --- doctor ------------------------------------------------------------------------------------

#: How `chatenv doctor`'s sections are headed for people (JSON keeps the short names).
SECTION_TITLES: dict[str, str] = {
    "platform": "Platform",
    "python": "Python",
    "packages": "Packages",
    "gpu": "GPU and driver",
    "torch": "PyTorch build",
    "extensions": "Compiled extensions",
    "loading": "What loads",
    "deep": "PyTorch, imported (--deep)",
    "frameworks": "Other frameworks",
    "disk": "Disk and model cache",
    "openai": "OpenAI settings",
    "hf": "Hugging Face access",
    "dotenv": ".env file",
    "network": "Network",
    "project": "The project (its project file)",
    "init": "chatenv init",
    "setup": "chatenv setup",
}


# -- smoke-test ------------------------------------------------------------------------------
# The stages' results as the common lines, plus what a person wants to read under them: the
# generated text and the API's reply. Progress goes to stderr, only on a terminal.

SMOKE_HEADINGS = {
    "local": "Local generation",
    "train": "Training step",
    "api": "API completion",
    "distributed": "Distributed (torch.distributed)",
}
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
        SpinnerColumn(_spinner(console)),
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


def _render_smoke(report: Report, verbose: bool, shown: frozenset[str]) -> None:
    from rich.text import Text

    console = stdout_console()
    section: str | None = None
    for result in report.results:
        if result.section != section:
            if section is not None:
                console.print()
            section = result.section
            console.print(Text(SMOKE_HEADINGS.get(section, section), style="bold"))
        for line in human_lines([result], verbose=verbose, ascii_only=_ascii_only(console))[1:]:
            print_line(console, line)
        for line in _smoke_text_lines(result):
            print_line(console, line)
    print_line(console, summary_line(report))


def _smoke_text_lines(result: CheckResult) -> list[Text]:
    """The generated text (prompt dimmed) or the API's reply, quoted on one line; a note (what
    replaced a v0-era API or model) whatever the status."""
    from rich.text import Text

    table = distributed_table(result)
    if table:
        return [Text("")] + [Text("      " + redact(line)) for line in _aligned(table)] + [Text("")]
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


def distributed_table(result: CheckResult) -> list[list[str]]:
    """The distributed stage's tables, header first: every rank (under the rendezvous line)
    and the bus bandwidth per size (under the bandwidth line). Columns nobody filled are left
    out (CUDA, NCCL and the driver on CPU ranks)."""
    if "ranks" in result.data:
        columns = [
            ("rank", "rank"),
            ("node", "node"),
            ("host", "host"),
            ("device", "device"),
            ("device_name", "GPU"),
            ("torch", "torch"),
            ("cuda", "CUDA"),
            ("nccl", "NCCL"),
            ("driver", "driver"),
            ("state", "state"),
        ]
        rows = list(result.data["ranks"])
        shown = [
            (key, title) for key, title in columns if any(r.get(key) is not None for r in rows)
        ]
        return [[title for _, title in shown]] + [
            ["-" if r.get(key) is None else str(r[key]) for key, _ in shown] for r in rows
        ]
    if "sizes" in result.data:
        from chatenv.smoke.distributed.report import size_text, time_text

        head = ["size", "time", "algbw", "busbw", "slowest rank"]
        return [head] + [
            [
                size_text(row["bytes"]),
                time_text(row["time_us"]),
                f"{row['algbw_gbps']:.3f} GB/s",
                f"{row['busbw_gbps']:.3f} GB/s",
                f"{row['slowest_rank']} ({time_text(row['slowest_time_us'])})",
            ]
            for row in result.data["sizes"]
        ]
    return []


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _one_line_text(text: str) -> str:
    flat = redact(text).replace("\r\n", "\n").replace("\n", "⏎").replace("\t", " ")
    return flat if len(flat) <= _SHOWN_TEXT else flat[:_SHOWN_TEXT] + "…"


# --- Markdown: `--format markdown` and the GitHub job summary ----------------------------------
# A report a user can paste into a bug report: a heading with the counts, one table row per
# result, the details of what went wrong, and the command's own extras (the install plan, the
# generated text, setup's stages). Plain strings, no Rich: doctor's fast path renders it too.

_MD_MARKS = {Status.OK: "✅", Status.WARN: "⚠️", Status.FAIL: "❌", Status.SKIP: "➖"}


def _md_cell(text: str) -> str:
    """Text for a table cell: one line, pipes escaped (GitHub's tables honour `\\|` even inside
    code spans), HTML's `<` neutralised so machine text cannot open a tag."""
    flat = redact(text).replace("\r", "").replace("\n", " ")
    return flat.replace("|", "\\|").replace("<", "&lt;")


def _md_code(text: str) -> str:
    """Inline code that survives backticks inside the text (a longer delimiter, CommonMark)."""
    text = _md_cell(text).replace("&lt;", "<")
    ticks = "`"
    while ticks in text:
        ticks += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _md_fence(text: str, info: str = "") -> list[str]:
    """A fenced block longer than any backtick run in `text`."""
    fence = "```"
    while fence in text:
        fence += "`"
    return [fence + info, redact(text).rstrip("\n"), fence]


def _counts_text(report: Report) -> str:
    c = report.counts()
    warnings = f"{c['warn']} warning{'s' if c['warn'] != 1 else ''}"
    return f"{c['ok']} ok, {warnings}, {c['fail']} failed, {c['skip']} skipped"


def markdown(report: Report, *, level: int = 3) -> str:
    """The report as Markdown: what `--format markdown` prints and what goes into
    $GITHUB_STEP_SUMMARY. `level`: the heading level (setup nests its stages one deeper)."""
    from chatenv import __version__

    mark = _MD_MARKS[Status.FAIL] if report.exit_code else _MD_MARKS[Status.OK]
    head = "#" * level
    lines = [f"{head} {mark} chatenv {report.command}: {_counts_text(report)}", ""]
    meta = f"chatenv {__version__}, exit code {report.exit_code}"
    elapsed = report.data.get("elapsed_s")
    if isinstance(elapsed, (int, float)):
        meta += f", {elapsed:.2f} s"
    lines += [f"_{meta}_", ""]
    if report.error is not None:
        lines.append(f"**error:** {_md_cell(report.error.message)}")
        if report.error.fix:
            lines.append(f"<br>**fix:** {_md_code(report.error.fix)}")
        lines.append("")
        return "\n".join(lines)
    if report.results:
        lines += ["| | section | check | result | fix |", "|---|---|---|---|---|"]
        for r in report.results:
            fix = _md_code(r.fix) if r.fix and r.status is not Status.OK else ""
            lines.append(
                f"| {_MD_MARKS[r.status]} | {_md_cell(r.section)} | {_md_code(r.id)} "
                f"| {_md_cell(r.summary)} | {fix} |"
            )
        lines.append("")
    lines += _md_details(report.results)
    extra = MARKDOWN_EXTRAS.get(report.command)
    if extra is not None:
        lines += extra(report, level + 1)
    kept = [line for i, line in enumerate(lines) if line or (i and lines[i - 1])]
    return "\n".join(kept).strip("\n") + "\n"


def _md_details(results: Iterable[CheckResult]) -> list[str]:
    """The details of what went wrong, folded: what a maintainer reading a bug report needs."""
    rows = [
        (r, d)
        for r in results
        if r.status in (Status.FAIL, Status.WARN)
        for d in r.details
        if d.strip()
    ]
    if not rows:
        return []
    lines = ["<details><summary>Details of warnings and failures</summary>", ""]
    current = None
    for result, detail in rows:
        if result.id != current:
            current = result.id
            lines.append(f"- {_md_code(result.id)}")
        lines += [f"  - {_md_code(part)}" for part in detail.splitlines() if part.strip()]
    lines += ["", "</details>", ""]
    return lines


def _md_install(report: Report, level: int) -> list[str]:
    plan = report.data.get("plan")
    if not plan:
        return []
    head = "#" * level
    py = plan["python"]
    lines = [f"{head} Plan", ""]
    lines.append(
        f"Target: {_md_code(py['executable'])} (Python {_md_cell(py['version'])}, "
        f"{_md_cell(py['kind'])}); profiles: {_md_cell(', '.join(plan['profiles']))}"
    )
    installer = plan.get("installer")
    if installer:
        lines.append(f"<br>Installer: {_md_code(' '.join(installer['command']))}")
    torch = plan.get("torch")
    if torch:
        choice, installed = torch["choice"], torch.get("installed")
        if torch["keep"] and installed:
            what = f"keep {installed['version']} ({installed['variant']})"
            reasons = [torch["reason"]]
        else:
            where = choice["index_url"] or "PyPI"
            what = f"{choice['variant']} for torch {choice['series']} from {where}"
            reasons = [*choice["reasons"], torch["reason"]]
        lines.append(f"<br>PyTorch: {_md_cell(what)}")
        lines += [f"<br>· {_md_cell(r)}" for r in reasons if r]
    lines += ["", "| action | package | installed | target |", "|---|---|---|---|"]
    for row in plan["packages"]:
        if not row["pinned"] and row["action"] == "keep":
            continue
        name = row["name"] + ("" if row["pinned"] else " (dependency)")
        lines.append(
            f"| {row['action']} | {_md_cell(name)} | {_md_cell(row.get('installed') or '')} "
            f"| {_md_cell(row.get('target') or row.get('spec') or '')} |"
        )
    lines.append("")
    for note in plan.get("notes", []):
        lines.append(f"> note: {_md_cell(note)}")
    if report.data.get("log"):
        lines.append(f"Installer log: {_md_code(str(report.data['log']))}")
    lines.append("")
    return lines


def _md_smoke(report: Report, level: int) -> list[str]:
    lines: list[str] = []
    for result in report.results:
        table = distributed_table(result)
        if table:
            lines += ["| " + " | ".join(_md_cell(c) for c in table[0]) + " |"]
            lines += ["|" + "---|" * len(table[0])]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table[1:]]
            lines.append("")
            continue
        if result.status is not Status.OK:
            continue
        if "text" in result.data:
            lines += [f"Generated by {_md_code(result.id)} (prompt, then the new tokens):", ""]
            text = str(result.data.get("prompt", "")) + str(result.data["text"])
            lines += [*_md_fence(text, "text"), ""]
        elif "reply" in result.data:
            lines += [f"Reply to {_md_code(result.id)}:", ""]
            lines += [*_md_fence(str(result.data["reply"]), "text"), ""]
    return lines


# --- GitHub Actions: annotations and the job summary ------------------------------------------
# Workflow commands are lines the runner reads from the step's output; `github_actions` is
# called by `render` for every report, and does nothing outside GitHub Actions.


def _gh_data(text: str) -> str:
    # escaped as @actions/core escapes a command's message: %, CR and LF
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    # a property value (title=...) also escapes the separators `:` and `,`
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(report: Report, workspace: str | None = None) -> list[str]:
    """`::error title=…::…` / `::warning title=…::…` for every failed or warning result (for
    setup: those of its stages, see `_setup_annotated`). A result that points at places in
    files (`data["locations"]`: a line of the project file, a requirement, a v0 API call) gets
    one annotation at each, `file=…,line=…`, so the runner shows it on that line; paths are
    taken relative to `workspace` (GITHUB_WORKSPACE, the repository's root), else the current
    folder."""
    lines = []
    for title, result, level in ANNOTATED.get(report.command, _annotated)(report):
        fix = f"\nfix: {result.fix}" if result.fix else ""
        places = _locations(result, workspace)
        if not places:
            message = result.summary + fix
            lines.append(
                f"::{level} title={_gh_property(redact(title))}::{_gh_data(redact(message))}"
            )
        for where, text in places:
            lines.append(
                f"::{level} {where}title={_gh_property(redact(title))}::"
                f"{_gh_data(redact(text + fix))}"
            )
    return lines


def _locations(result: CheckResult, workspace: str | None) -> list[tuple[str, str]]:
    """`file=…,line=…,` and the message for each place a result points at."""
    import os

    found = result.data.get("locations")
    if not isinstance(found, (list, tuple)):
        return []
    base = workspace or os.getcwd()
    places = []
    for place in found:
        if not isinstance(place, dict) or not place.get("path"):
            continue
        path = str(place["path"])
        try:
            rel = os.path.relpath(path, base)
        except ValueError:  # another drive (Windows)
            rel = path
        shown = path if rel.startswith("..") else rel
        where = f"file={_gh_property(shown)},"
        if isinstance(place.get("line"), int):
            where += f"line={place['line']},"
        places.append((where, str(place.get("message") or result.summary)))
    return places


def _annotated(report: Report) -> list[tuple[str, CheckResult, str]]:
    levels = {Status.FAIL: "error", Status.WARN: "warning"}
    return [
        (f"chatenv {report.command}: {r.id}", r, levels[r.status])
        for r in report.results
        if r.status in levels
    ]


def github_actions(report: Report, *, fmt: str, environ: Mapping[str, str] | None = None) -> None:
    """Under GitHub Actions (GITHUB_ACTIONS=true): the annotations, then the Markdown report
    appended to the job summary. Never fails the command."""
    import os

    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTIONS", "").lower() != "true":
        return
    # The runner reads workflow commands from stdout and stderr alike (actions/runner,
    # src/Runner.Worker/Handlers/ScriptHandler.cs: an OutputManager on each stream), so when
    # stdout carries a JSON document the annotations go to stderr and the JSON stays parseable.
    stream = sys.stderr if fmt == "json" else sys.stdout
    try:
        lines = github_annotations(report, env.get("GITHUB_WORKSPACE"))
        summary = markdown(report)
    except Exception as exc:  # the command's own work is done: never fail it for this
        error = f"{type(exc).__name__}: {exc}"
        notice(problem("github.output-failed").text(error=error))
        return
    if lines:
        try:
            encoding_safe(stream).write("\n".join(lines) + "\n")
            stream.flush()
        except BrokenPipeError:
            _quiet_broken_pipe(stream)
    append_step_summary(summary, env.get("GITHUB_STEP_SUMMARY", ""))


def append_step_summary(text: str, path: str) -> bool:
    """Append `text` to the job summary file; a missing or unwritable one is one warning line
    on stderr, never a failure. Appends only: earlier steps' summaries stay."""
    if not path:
        notice(problem("github.summary-unset").text())
        return False
    try:
        with open(path, "a", encoding="utf-8") as summary:
            summary.write(redact(text) + "\n")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        notice(problem("github.summary-unwritable").text(path=path, reason=reason))
        return False
    return True


# --- chatenv setup -------------------------------------------------------------------------
# Each stage's own report as that command prints it (doctor: only what is not ok, unless
# --verbose), under a numbered heading, while setup runs; then one summary of every stage.
# Reads the stages through `report.data["stages"]` (chatenv.stages.StageRun objects).


def setup_stage_heading(index: int, total: int, name: str) -> None:
    from rich.text import Text

    console = stdout_console()
    print_line(console, Text(f"[{index}/{total}] chatenv {name}", style="bold reverse"))


def setup_stage_skipped(reason: str) -> None:
    from rich.text import Text

    console = stdout_console()
    mark, style = MARKS[Status.SKIP]
    line = Text("  ")
    line.append(ASCII_MARKS[Status.SKIP] if _ascii_only(console) else mark, style=style)
    line.append(" skipped: " + redact(reason))
    print_line(console, line)
    console.print("")


def setup_stage_text(report: Report, *, verbose: bool, shown: frozenset[str]) -> None:
    """One stage's report in setup's text output: as the command prints it, except doctor,
    which shows only its warnings and failures (all of it with --verbose)."""
    if report.error is not None:
        return  # its one line is on stderr already, and in the summary below
    console = stdout_console()
    if report.command == "doctor" and not verbose:
        problems = [r for r in report.results if r.status in (Status.FAIL, Status.WARN)]
        _print_results(console, problems, verbose=False)
        print_line(console, summary_line(report))
    else:
        render_text(report, verbose=verbose, shown=shown)
    console.print("")


def _render_setup(report: Report, verbose: bool, shown: frozenset[str]) -> None:
    from rich.text import Text

    console = stdout_console()
    _print_results(console, report.results, verbose=verbose)
    outcomes = [getattr(stage, "outcome", "") for stage in report.data.get("stages", ())]
    ran = outcomes.count("ran")
    text = Text("\n")
    text.append(f"{ran} ran", style="green" if ran else "")
    text.append(", ")
    failed = outcomes.count("failed")
    text.append(f"{failed} failed", style="red" if failed else "")
    text.append(f", {outcomes.count('skipped')} skipped", style="dim")
    elapsed = report.data.get("elapsed_s")
    if isinstance(elapsed, (int, float)):
        text.append(f" in {elapsed:.1f} s", style="dim")
    if report.exit_code == 0:
        text.append("  ready.", style="bold green")
    print_line(console, text)


def _md_setup(report: Report, level: int) -> list[str]:
    lines: list[str] = []
    for stage in report.data.get("stages", ()):
        if stage.report is not None:
            lines += [markdown(stage.report, level=level).rstrip("\n"), ""]
    return lines


def _setup_annotated(report: Report) -> list[tuple[str, CheckResult, str]]:
    """Each stage's warnings and failures; a doctor failure that setup left to `chatenv
    install` (a missing or outdated package) is a warning, since install ran after it."""
    found: list[tuple[str, CheckResult, str]] = []
    for stage in report.data.get("stages", ()):
        if stage.report is None:
            continue
        deferred = set(stage.not_blocking)
        for title, result, level in _annotated(stage.report):
            shown = "warning" if result.id in deferred else level
            found.append((f"chatenv setup › {title.removeprefix('chatenv ')}", result, shown))
    return found


# --- who renders what ----------------------------------------------------------------------
# A command with its own text layout, Markdown extras or annotations registers them here; the
# rest get the common forms. `render` and `markdown` look them up; commands never choose.

TextRenderer = Callable[[Report, bool, frozenset[str]], None]


def _render_init(report: Report, verbose: bool, shown: frozenset[str]) -> None:
    """`chatenv init`: with --dry-run the project file itself (so it can be redirected into
    a file), else what was written."""
    if report.data.get("dry_run"):
        write_stdout(str(report.data.get("text", "")))
        hint(report.results[-1].summary if report.results else "")
        return
    _render_results(report, verbose, shown)


def _md_init(report: Report, level: int) -> list[str]:
    return [*_md_fence(str(report.data.get("text", "")), "toml"), ""]


TEXT_RENDERERS: dict[str, TextRenderer] = {
    "init": _render_init,
    "install": _render_install,
    "smoke-test": _render_smoke,
    "setup": _render_setup,
}
MARKDOWN_EXTRAS: dict[str, Callable[[Report, int], list[str]]] = {
    "init": _md_init,
    "install": _md_install,
    "smoke-test": _md_smoke,
    "setup": _md_setup,
}
ANNOTATED: dict[str, Callable[[Report], list[tuple[str, CheckResult, str]]]] = {
    "setup": _setup_annotated,
}
