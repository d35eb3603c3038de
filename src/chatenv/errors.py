"""chatenv's exceptions: each carries the one line a user reads, the fix, and an exit code.

The CLI layer (`chatenv.cli`) is the only place that turns them into output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ChatenvError(Exception):
    """A failure the user can act on. `message` is one line; `fix` is what to paste."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class UsageError(ChatenvError):
    """Bad command-line input: exit 2, like click's own usage errors."""

    exit_code = EXIT_USAGE


class Interrupted(ChatenvError):
    """Ctrl-C while a command was doing something it says it stopped (exit 130)."""

    exit_code = EXIT_INTERRUPTED


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then its causes and contexts (each once: a cycle ends the walk). What
    failed deep inside a library (a refused connection under the openai client's APIConnectionError,
    a GatedRepoError under transformers' OSError) is found here."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
