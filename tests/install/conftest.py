"""Throw-away virtualenvs for the install tests.

A venv without pip costs ~0.1 s, so tests that only read metadata make their own and write
distributions into it (`write_dist`: real dist-info directories, as pip leaves them). Tests
that run pip copy one session-wide venv that has pip (creating one takes seconds).

Torch safety: every environment handed to a chatenv subprocess here carries a pip constraint
`torch==2.13.0` (the CPU wheel on this machine's disk), so even a planning dry run can never
resolve another torch or a CUDA build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
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


def write_dist(
    site: Path,
    name: str,
    version: str,
    requires: Iterable[str] = (),
    files: dict[str, str] | None = None,
) -> Path:
    """A distribution as pip installs it: `name-version.dist-info` with METADATA, INSTALLER and
    a RECORD that lists its files (so pip can uninstall it), plus the files themselves."""
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Dist: {r}" for r in requires]
    (dist / "METADATA").write_text("\n".join(meta) + "\n\nA test distribution.\n")
    (dist / "INSTALLER").write_text("pip\n")
    record = [f"{dist.name}/METADATA,,", f"{dist.name}/INSTALLER,,", f"{dist.name}/RECORD,,"]
    for rel, text in (files or {}).items():
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        record.append(f"{rel},,")
    (dist / "RECORD").write_text("\n".join(record) + "\n")
    return dist


def torch_version_py(version: str, cuda: str | None) -> str:
    """torch/version.py as torch's build writes it."""
    cuda_repr = repr(cuda) if cuda else "None"
    return (
        "from typing import Optional\n\n"
        "__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip', 'rocm', 'xpu']\n"
        f"__version__ = '{version}'\n"
        "debug = False\n"
        f"cuda: Optional[str] = {cuda_repr}\n"
        "git_version = 'cf30153c4c131c8164ee7798e5022d810682e2cb'\n"
        "hip: Optional[str] = None\n"
        "rocm: Optional[str] = None\n"
        "xpu: Optional[str] = None\n"
    )


def write_torch(site: Path, version: str, cuda: str | None) -> Path:
    return write_dist(
        site,
        "torch",
        version,
        requires=["filelock", "typing-extensions>=4.10.0"],
        files={"torch/__init__.py": "", "torch/version.py": torch_version_py(version, cuda)},
    )


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
