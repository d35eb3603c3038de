"""Fixtures for the API layer: a client config pointing at the test server."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import pytest

from chatenv.keys.config import OpenAIConfig
from tests.openai_server import CLIENT_ENVIRONMENT, config_for

if TYPE_CHECKING:
    from pathlib import Path

    from tests.openai_server import OpenAIServer

MakeConfig = Callable[..., OpenAIConfig]


@pytest.fixture(autouse=True)
def _no_proxy_no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the machine's proxy nor its OpenAI settings may change what a test sees."""
    for name in CLIENT_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_config(openai_server: OpenAIServer, tmp_path: Path) -> MakeConfig:
    """`make_config(key=..., base_url=..., organization=..., project=...)` for the server."""
    return partial(config_for, openai_server, env_file=tmp_path / ".env")
