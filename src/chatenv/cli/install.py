"""`chatenv install` (not built yet)."""

from __future__ import annotations

from chatenv.cli._common import cli_errors
from chatenv.errors import ChatenvError


def install() -> None:
    """Not built yet."""
    with cli_errors():
        raise ChatenvError("chatenv install is not built yet")
