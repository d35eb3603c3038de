"""What every command shares: the output format options, turning chatenv's errors into one
line and an exit code, and `finish`, the one way a command's report is printed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv import output
from chatenv.errors import ChatenvError
from chatenv.keys.mask import redact
from chatenv.problems import problem, stopped_by

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chatenv.results import Report

JSON_HELP = "Same as --format json: one JSON document on stdout (docs/json.md)."
FORMAT_HELP = (
    "text: for people (default); json: one document for scripts (docs/json.md, `chatenv schema`);"
    " markdown: a report to paste into an issue or a CI summary."
)
VERBOSE_HELP = "Show details for every item, and tracebacks for unexpected errors."


class Format(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


def output_format(fmt: Format | str | None, as_json: bool) -> str:
    """The format a command prints: `--format`, or json for `--json` (an alias)."""
    chosen = Format(fmt).value if fmt is not None else None
    if as_json and chosen not in (None, "json"):
        raise problem("cli.format-conflict").error(chosen=chosen)
    return "json" if as_json else chosen or "text"


@contextlib.contextmanager
def cli_errors(
    command: str = "",
    *,
    fmt: Format | str | None = None,
    as_json: bool = False,
    verbose: bool = False,
    env_file: Path | None = None,
    model: str | None = None,
    profiles: Sequence[str] = (),
) -> Iterator[str]:
    """Yields the output format. An exception that stops the command becomes `error: <message>`
    + `fix: <fix>` on stderr and its exit code (`problems.stopped_by`, the one mapping: Ctrl-C
    130, anything unexpected one line, its traceback only with --verbose). With --format json
    or markdown the failure is also a report on stdout (`"error"` in the JSON), so a script
    always gets a document.

    `env_file`, `model` and `profiles` are what the command line gave (None: the default):
    every fix printed while the command runs names them too (`problems.invocation`)."""
    import sys

    from chatenv.problems.invocation import Invocation, invoked

    chosen = "text"
    invocation = Invocation(
        argv=tuple(sys.argv[1:]),
        env_file=str(env_file) if env_file is not None else None,
        model=model,
        profiles=tuple(profiles),
    )
    try:
        with invoked(invocation):
            chosen = output_format(fmt, as_json)
            yield chosen
    except SystemExit:
        raise
    except (Exception, KeyboardInterrupt) as exc:
        if verbose and not isinstance(exc, (ChatenvError, KeyboardInterrupt)):
            import traceback

            output.stderr_console().print(redact(traceback.format_exc()), markup=False)
        stopped = stopped_by(exc)
        _stopped(command, chosen, stopped.message, stopped.fix, stopped.exit_code)
        raise SystemExit(stopped.exit_code) from None


def confirm(question: str) -> bool:
    """A yes/no question on the terminal, yes by default (`output.confirm`: end of input is no,
    Ctrl-C interrupts)."""
    return output.confirm(question, default=True)


def ask_value(question: str, secret: bool) -> str | None:
    """A value typed on the terminal; None at the end of input. A secret is read as
    configure-key reads the key: getpass turns echo off before it writes the question, so
    nothing typed after the question appears is ever echoed."""
    if secret:
        import getpass
        import sys

        try:
            return getpass.getpass(f"{question} (input hidden): ", stream=sys.stderr)
        except EOFError:
            return None
    import typer

    try:
        answer: str = typer.prompt(question, default="", show_default=False, err=True)
    except typer.Abort:
        return None
    return answer


def _stopped(command: str, fmt: str, message: str, fix: str | None, exit_code: int) -> None:
    output.error(message, fix)
    if command:
        output.render(output.error_report(command, message, fix, exit_code), fmt=fmt)


def finish(
    report: Report, *, fmt: str = "text", verbose: bool = False, shown: frozenset[str] = frozenset()
) -> None:
    """Print a command's report in the chosen format (plus the GitHub Actions extras when run
    there) and exit with its code. `shown`: parts the command already printed (the install
    plan, before the installer ran)."""
    output.render(report, fmt=fmt, verbose=verbose, shown=shown)
    raise SystemExit(report.exit_code)


# Shell completion (Typer's `autocompletion=`): each runs only when the shell asks, so the
# imports stay inside and `chatenv --help` does not pay for them.


def complete_profiles(incomplete: str) -> list[str]:
    """PROFILE of install and setup: api, local, all."""
    from chatenv.install.pins import USER_PROFILES

    return [p for p in USER_PROFILES if p.startswith(incomplete)]


def complete_torch(incomplete: str) -> list[str]:
    """--torch of install and setup: auto, cpu and the CUDA variants chatenv knows."""
    from chatenv.install.variant import known_requests

    return [v for v in known_requests() if v.startswith(incomplete)]


def complete_schema_commands(incomplete: str) -> list[str]:
    """COMMAND of `chatenv schema`: the commands with a --json document."""
    from chatenv.schemas import COMMANDS

    return [c for c in COMMANDS if c.startswith(incomplete)]
