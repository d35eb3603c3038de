"""The pseudo-terminal tier: every place chatenv asks, shows live progress or reads a key, run
on a real pty (tests/terminal/driver.py) with a set size, locale and colour setting.

What these fixtures build is real: virtualenvs that install for real from a find-links folder of
tiny wheels (tests/install/packages.py), git repositories, the test OpenAI server on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.install.conftest import TORCH_SAFE, create_venv, site_packages
from tests.install.packages import make_sdist, make_wheel, offline_pip_env
from tests.terminal.driver import spawn, terminal_env

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.terminal.driver import Terminal

if sys.platform == "win32":  # pragma: no cover - the tier needs POSIX ptys
    pytest.skip("pseudo-terminals are POSIX only", allow_module_level=True)

Spawn = Callable[..., "Terminal"]


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Spawn]:
    """`term(args, **spawn_options)`: chatenv on a pty, in tmp_path by default; every terminal
    a test opens is closed (its chatenv killed if still running) when the test ends."""
    opened: list[Terminal] = []

    def start(args: list[str], **options: object) -> Terminal:
        options.setdefault("cwd", tmp_path)
        terminal = spawn(args, **options)  # type: ignore[arg-type]
        opened.append(terminal)
        return terminal

    yield start
    for terminal in opened:
        terminal.close()


@pytest.fixture(scope="session")
def _pip_venv_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_venv(tmp_path_factory.mktemp("terminal-template") / "venv", with_pip=True)


@pytest.fixture
def pip_venv(_pip_venv_template: Path, tmp_path: Path) -> Path:
    """A fresh virtualenv with pip and nothing else (a copy of a session-wide one)."""
    target = tmp_path / "venv"
    shutil.copytree(_pip_venv_template, target, symlinks=True)
    return target


def no_uv_path() -> str:
    """PATH without uv, so `--installer auto` means pip, as on a machine without uv."""
    return os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if p and not (Path(p) / "uv").exists()
    )


@pytest.fixture
def links(tmp_path: Path) -> Path:
    """openai 3.99.0 (needs httpx), httpx and python-dotenv 99.0.0 as real wheels."""
    folder = tmp_path / "links"
    make_wheel(folder, "openai", "3.99.0", ["httpx>=0.23"])
    make_wheel(folder, "httpx", "0.28.1")
    make_wheel(folder, "python-dotenv", "99.0.0")
    return folder


def hanging_build(links: Path) -> None:
    """python-dotenv 99.0.0 as an sdist whose build waits until interrupted: a long install to
    press Ctrl-C in. Its backend writes CHATENV_TEST_BUILD_MARKER when the build starts."""
    (links / "python_dotenv-99.0.0-py3-none-any.whl").unlink()
    make_sdist(links, "python-dotenv", "99.0.0", mode="hang")


@pytest.fixture
def install_env(tmp_path: Path, links: Path) -> dict[str, str]:
    """A terminal's environment for chatenv runs that install: pip sees only `links`, torch is
    pinned to the CPU wheel on disk, logs under tmp_path, no uv, HOME in tmp_path."""
    (tmp_path / "torch-safe.txt").write_text(TORCH_SAFE)
    env = terminal_env(
        XDG_STATE_HOME=str(tmp_path / "state"),
        PIP_CONSTRAINT=str(tmp_path / "torch-safe.txt"),
        PATH=no_uv_path(),
        HOME=str(tmp_path),
        HF_HOME=str(tmp_path / "hf"),
        GIT_CONFIG_NOSYSTEM="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        CHATENV_TEST_BUILD_MARKER=str(tmp_path / "build-started"),
    )
    return offline_pip_env(env, links)


def installed_version(venv: Path, name: str) -> str | None:
    from chatenv.installed import scan

    return scan([str(site_packages(venv))]).version(name)


def wait_until(condition: Callable[[], object], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.05)


def git_init(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(path)}
    subprocess.run(["git", "init", "-q"], cwd=path, check=True, env=env)
    return path
