"""Fixtures for the API layer: a client config pointing at the test server."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from chatenv.keys.config import OpenAIConfig
from tests.openai_server import OpenAIServer, config_for

MakeConfig = Callable[..., OpenAIConfig]


@pytest.fixture(autouse=True)
def _no_proxy_no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the machine's proxy nor its OpenAI settings may change what a test sees."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_config(openai_server: OpenAIServer, tmp_path: Path) -> MakeConfig:
    """`make_config(key=..., base_url=..., organization=..., project=...)` for the server."""
    return partial(config_for, openai_server, env_file=tmp_path / ".env")
