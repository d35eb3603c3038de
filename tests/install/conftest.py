"""Throw-away virtualenvs for the install tests.

A venv without pip costs ~0.1 s, so tests that only read metadata make their own and write
distributions into it (`tests.sites.write_dist`: real dist-info directories, as pip leaves
them). Tests that run pip copy one session-wide venv that has pip (creating one takes seconds).

Torch safety: every environment handed to a chatenv subprocess here carries a pip constraint
`torch==2.13.0` (the CPU wheel on this machine's disk), so even a planning dry run can never
resolve another torch or a CUDA build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import clean_env

BASE_PYTHON = getattr(sys, "_base_executable", None) or sys.executable
TORCH_SAFE = "torch==2.13.0\n"


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    assert found, f"no site-packages in {venv}"
    return found[0]


def python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def create_venv(path: Path, *, with_pip: bool = False) -> Path:
    args = [BASE_PYTHON, "-m", "venv"]
    if not with_pip:
        args.append("--without-pip")
    subprocess.run([*args, str(path)], check=True, capture_output=True, timeout=300)
    return path


MakeVenv = Callable[..., Path]


@pytest.fixture
def make_venv(tmp_path: Path) -> MakeVenv:
    """A fresh venv (without pip) under tmp_path; `make_venv("name")`."""

    def make(name: str = "venv") -> Path:
        return create_venv(tmp_path / name)

    return make


@pytest.fixture(scope="session")
def pip_venv_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_venv(tmp_path_factory.mktemp("template") / "venv", with_pip=True)


@pytest.fixture
def pip_venv(pip_venv_template: Path, tmp_path: Path) -> Path:
    """A fresh venv that has pip (a copy of a session-wide one)."""
    target = tmp_path / "pipvenv"
    shutil.copytree(pip_venv_template, target, symlinks=True)
    return target


@pytest.fixture
def install_env(tmp_path: Path) -> dict[str, str]:
    """The environment for a chatenv subprocess: logs under tmp_path, torch pinned to the
    local CPU wheel for any pip that runs, no uv unless a test puts it on PATH."""
    constraint = tmp_path / "torch-safe.txt"
    constraint.write_text(TORCH_SAFE)
    path = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if not _has_uv(p)
    )
    return clean_env(
        XDG_STATE_HOME=str(tmp_path / "state"),
        PIP_CONSTRAINT=str(constraint),
        PATH=path,
    )


def _has_uv(directory: str) -> bool:
    return bool(directory) and (Path(directory) / "uv").exists()


def uv_path() -> str | None:
    return shutil.which("uv") or (
        str(Path(sys.executable).with_name("uv"))
        if Path(sys.executable).with_name("uv").exists()
        else None
    )
