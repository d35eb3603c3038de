"""Fixtures for the key tests: real git repositories, and no proxy or OpenAI setting of the
machine leaking into in-process clients."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.conftest import clean_env
from tests.openai_server import CLIENT_ENVIRONMENT

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(autouse=True)
def _no_proxy_no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLIENT_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def run_git(repo: Path, *args: str) -> str:
    """Run git in `repo` with a fixed identity and no system configuration."""
    env = clean_env(
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
        GIT_CONFIG_NOSYSTEM="1",
    )
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fresh git repository (tmp_path/repo)."""
    root = tmp_path / "repo"
    root.mkdir()
    run_git(root, "init", "-q")
    return root
