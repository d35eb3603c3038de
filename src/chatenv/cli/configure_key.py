"""`chatenv configure-key` (not built yet)."""

from __future__ import annotations

from chatenv.cli._common import cli_errors
from chatenv.errors import ChatenvError


def configure_key() -> None:
    """Not built yet."""
    with cli_errors():
        raise ChatenvError("chatenv configure-key is not built yet")
