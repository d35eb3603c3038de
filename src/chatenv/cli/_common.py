"""What every command shares: turning chatenv's errors into one line and an exit code."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator

import typer

from chatenv import output
from chatenv.errors import EXIT_FAILED, EXIT_INTERRUPTED, ChatenvError
from chatenv.keys.mask import redact
from chatenv.problems import problem
from chatenv.results import Report

JSON_HELP = "Print a JSON report (schema documented in docs/json.md) instead of text."
VERBOSE_HELP = "Show details for every item, and tracebacks for unexpected errors."


@contextlib.contextmanager
def cli_errors(*, verbose: bool = False) -> Iterator[None]:
    """Known failures become `error: <message>` + `fix: <fix>` on stderr and their exit code;
    Ctrl-C exits 130; anything unexpected is one line too (the traceback only with --verbose)."""
    try:
        yield
    except typer.Exit:
        raise
    except ChatenvError as exc:
        output.error(exc.message, exc.fix)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        output.error(*problem("cli.interrupted").pair())
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:
        if verbose:
            output.stderr_console().print(redact(traceback.format_exc()), markup=False)
        summary = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        error = f"{type(exc).__name__}: {summary}".rstrip(": ")
        output.error(*problem("cli.unexpected").pair(error=error))
        raise typer.Exit(EXIT_FAILED) from None


def finish(report: Report, *, as_json: bool, verbose: bool) -> None:
    """Render a command's report and exit with its code."""
    output.render(report, as_json=as_json, verbose=verbose)
    raise typer.Exit(report.exit_code)
