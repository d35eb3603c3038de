"""What the smoke-test stages share: the step failure, the progress callback, small helpers for
exceptions and for the device."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from chatenv.errors import ChatenvError, exception_chain

#: a phase for the progress display ("loading weights"), or None to hide it (e.g. before
#: huggingface_hub draws its own download bars)
Progress = Callable[[str | None], None]


def no_progress(_: str | None) -> None:
    """The progress display for --json and for output that is not a terminal."""


class StepFailed(ChatenvError):
    """One step of a stage failed; `id` names the step's result."""

    def __init__(
        self, id: str, message: str, fix: str | None = None, *, details: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, fix=fix)
        self.id = id
        self.details = details


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message, whitespace collapsed."""
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split()) if text else ""


def trace(exc: BaseException) -> tuple[str, ...]:
    """The end of the traceback, for --verbose."""
    return tuple(line.rstrip() for line in traceback.format_exception(exc)[-8:])


def is_out_of_memory(exc: BaseException) -> bool:
    return any(
        type(e).__name__ == "OutOfMemoryError" or "out of memory" in str(e).lower()
        for e in exception_chain(exc)
    )


def synchronize(torch: Any, device: str) -> None:
    """Wait for the GPU, so a time taken after this includes its work."""
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
    elif device == "mps":
        torch.mps.synchronize()


def peak_memory(torch: Any, device: str) -> int | None:
    """Bytes of GPU memory torch allocated at most since the last reset; None off the GPU."""
    if not device.startswith("cuda"):
        return None
    return int(torch.cuda.max_memory_allocated(device))


def mib(count: int) -> str:
    return f"{count / 2**20:.0f} MiB"
