"""Lock files as uv writes them (the real uv, offline, from a folder of wheels): which
versions a uv.lock or pylock.toml fixes for this interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from packaging.markers import default_environment

from chatenv.project.locks import read_lock
from tests.install.conftest import uv_path
from tests.install.packages import make_wheel
from tests.project.conftest import make_project

if TYPE_CHECKING:
    from pathlib import Path

UV = uv_path()
pytestmark = pytest.mark.skipif(UV is None, reason="uv is a test dependency")
HERE = {k: str(v) for k, v in default_environment().items()}

PYPROJECT = """
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["alpha>=1.0", "zeta; sys_platform == 'win32'"]

[project.optional-dependencies]
gpu = ["gamma"]

[dependency-groups]
dev = ["delta"]
test = ["epsilon"]
lint = ["eta"]
"""


def uv(*args: str, cwd: Path, links: Path) -> None:
    assert UV is not None
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("UV_")},
        "UV_CACHE_DIR": str(cwd / ".uv-cache"),
        "UV_NO_CONFIG": "1",
    }
    done = subprocess.run(
        [UV, *args, "--offline", "--no-index", "--find-links", str(links), "--python",
         sys.executable],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.fixture
def locked(tmp_path: Path) -> Path:
    links = tmp_path / "links"
    make_wheel(links, "alpha", "1.2.0", ["beta>=2"])
    make_wheel(links, "beta", "2.1.0")
    for name in ("gamma", "delta", "epsilon", "zeta", "eta"):
        make_wheel(links, name, "0.3.0")
    root = make_project(tmp_path / "demo", {"pyproject.toml": PYPROJECT})
    uv("lock", cwd=root, links=links)
    uv("export", "--format", "pylock.toml", "-o", "pylock.toml", "--all-extras", cwd=root,
       links=links)  # fmt: skip
    return root


def test_uv_lock_fixes_what_the_project_reaches_here(locked: Path) -> None:
    lock = read_lock(locked / "uv.lock", HERE)
    # dependencies, their dependencies, and uv's default dev group; not the win32-only zeta,
    # not an extra or group nobody asked for
    assert lock.error is None
    assert dict(lock.versions) == {
        "alpha": {"1.2.0"}, "beta": {"2.1.0"}, "delta": {"0.3.0"},
    }  # fmt: skip


def test_uv_lock_follows_the_extras_and_groups_the_project_file_names(locked: Path) -> None:
    lock = read_lock(locked / "uv.lock", HERE, extras=("gpu",), groups=("test",))
    assert set(lock.versions) == {"alpha", "beta", "gamma", "delta", "epsilon"}
    windows = {**HERE, "sys_platform": "win32"}
    assert "zeta" in read_lock(locked / "uv.lock", windows).versions


def test_pylock_lists_the_packages_whose_markers_hold_here(locked: Path) -> None:
    lock = read_lock(locked / "pylock.toml", HERE)
    assert "zeta" not in lock.versions
    assert {"alpha", "beta", "gamma", "delta"} <= set(lock.versions)
    assert lock.versions["alpha"] == {"1.2.0"}


def test_a_lock_that_is_not_toml_is_an_answer_not_an_exception(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text("version = 1\n[[package]\n")
    lock = read_lock(tmp_path / "uv.lock", HERE)
    assert lock.versions == {} and lock.error is not None and "line 2" in lock.error
