"""`chatenv smoke-test` (not built yet)."""

from __future__ import annotations

from chatenv.cli._common import cli_errors
from chatenv.errors import ChatenvError


def smoke_test() -> None:
    """Not built yet."""
    with cli_errors():
        raise ChatenvError("chatenv smoke-test is not built yet")
