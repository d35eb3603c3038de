"""Fixtures for the API layer: a client config pointing at the test server, and a real LiteLLM
proxy."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import pytest

from chatenv.keys.config import OpenAIConfig
from tests.openai_server import CLIENT_ENVIRONMENT, config_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.api.litellm_proxy import LiteLLMProxy
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


@pytest.fixture(scope="session")
def litellm_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiteLLMProxy]:
    """A real LiteLLM proxy on 127.0.0.1 (tests/api/litellm_proxy.py), started once a session.
    Skipped, with one line, only where litellm[proxy] cannot be installed."""
    from tests.api import litellm_proxy

    folder = tmp_path_factory.mktemp("litellm")
    try:
        command = litellm_proxy.install(folder / "venv")
    except litellm_proxy.CannotInstall as exc:
        pytest.skip(f"{litellm_proxy.LITELLM} cannot be installed here: {exc}")
    proxy = litellm_proxy.start(command, folder)
    yield proxy
    proxy.stop()
