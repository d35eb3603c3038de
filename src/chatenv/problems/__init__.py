"""Every problem chatenv can report, in one table: what the code prints and what the
troubleshooting page (docs/troubleshooting.md, generated from this table) explains.

Each `Problem` holds a stable id, the commands that report it, the one-line message and the fix
(both `str.format` templates: `chmod 600 {path}`), a title and the cause in plain words. Code
never writes a problem's message or fix itself; it asks the table:

    problem("dotenv.permissions-open").check(Status.WARN, "dotenv.permissions", path=p, ...)
    raise problem("install.system-interpreter").error(executable=exe)

and tests/test_problems.py checks, by reading the source, that every id the code names is in
the table, that every entry is used, and that each use passes exactly the values its templates
need. Templates may also name the pages in `CONSTANTS` (`{KEYS_PAGE}`), filled in here.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from chatenv.problems.entry import CHECK_KEYWORDS, CONSTANTS, LEVELS, Level, Problem
from chatenv.records import dataclass

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["CHECK_KEYWORDS", "CONSTANTS", "LEVELS", "Level", "Problem", "problem", "stopped_by"]


@cache
def by_id() -> Mapping[str, Problem]:
    """Every problem by id (the table is imported on first use: `chatenv --help` never pays)."""
    from chatenv.problems.table import PROBLEMS

    found: dict[str, Problem] = {}
    for entry in PROBLEMS:
        if entry.id in found:
            raise ValueError(f"problem id {entry.id} is in the table twice")
        found[entry.id] = entry
    return found


def problem(problem_id: str) -> Problem:
    """The table's entry for `problem_id` (a KeyError for an id the table does not hold: the
    test suite reads every call and fails first)."""
    return by_id()[problem_id]


@dataclass(frozen=True)
class Stopped:
    """How a command that stopped on an exception tells the user: one line, the fix, the exit
    code."""

    message: str
    fix: str | None
    exit_code: int


def stopped_by(exc: BaseException) -> Stopped:
    """The one mapping from an exception to what the user reads and the exit code, for every
    command and for each of setup's stages: chatenv's own errors carry theirs, Ctrl-C exits
    130, anything else is one "unexpected" line (exit 1) whose fix asks for --verbose."""
    from chatenv.errors import EXIT_FAILED, EXIT_INTERRUPTED, ChatenvError

    if isinstance(exc, ChatenvError):
        return Stopped(exc.message, exc.fix, exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return Stopped(*problem("cli.interrupted").pair(), EXIT_INTERRUPTED)
    summary = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    error = f"{type(exc).__name__}: {summary}".rstrip(": ")
    return Stopped(*problem("cli.unexpected").pair(error=error), EXIT_FAILED)
