"""install behind a mirror: a real index server on 127.0.0.1 (tests/install/index_server.py)
serves a PyPI mirror and a PyTorch-index mirror built from wheel files, the torch wheel being
the real torch 2.13.0 CPU wheel this machine keeps on disk, and pip installs from them.

Nothing is patched: the mirror is named the way a user names it (--torch-index or
CHATENV_TORCH_INDEX), pip's own configuration is switched off (PIP_CONFIG_FILE=/dev/null, no
find-links) so the mirrors are the only sources, and the server's request log says which one
pip really used.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from chatenv.errors import UsageError
from chatenv.install.torch_index import DEFAULT_INDEX, TorchIndex
from tests.install.conftest import site_packages
from tests.install.index_server import Index, serve
from tests.install.packages import make_wheel

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import RunCli


def _torch_wheel() -> Path | None:
    """The torch 2.13.0 CPU wheel on this machine's disk (pip's find-links folder here)."""
    folders = [*os.environ.get("PIP_FIND_LINKS", "").split(), "/opt/wheels"]
    for folder in folders:
        found = sorted(Path(folder).glob("torch-2.13.0+cpu-cp3*-manylinux*_x86_64.whl"))
        if found:
            return found[0]
    return None


TORCH_WHEEL = _torch_wheel()
needs_wheel = pytest.mark.skipif(
    TORCH_WHEEL is None, reason="no torch 2.13.0 CPU wheel on this machine's disk"
)

#: the local profile (and what the real torch wheel requires), as tiny real wheels
PYPI = [
    ("transformers", "4.57.0", ["tokenizers>=0.20", "safetensors>=0.4.3"]),
    ("tokenizers", "0.22.1", []),
    ("safetensors", "0.6.2", []),
    ("accelerate", "1.10.1", ["torch>=2.0.0"]),
    ("filelock", "3.20.0", []),
    ("typing-extensions", "4.15.0", []),
    ("setuptools", "80.9.0", []),
    ("sympy", "1.14.0", []),
    ("networkx", "3.5", []),
    ("jinja2", "3.1.6", []),
    ("fsspec", "2025.9.0", []),
]


TORCH_DEPS = {
    "filelock",
    "typing_extensions",
    "setuptools",
    "sympy",
    "networkx",
    "jinja2",
    "fsspec",
}


def _wheels(folder: Path) -> list[Path]:
    return [make_wheel(folder, name, version, requires) for name, version, requires in PYPI]


@pytest.fixture
def mirrors(tmp_path: Path) -> Iterator[Index]:
    assert TORCH_WHEEL is not None
    pypi = _wheels(tmp_path / "pypi")
    # download.pytorch.org/whl/cpu serves torch's own requirements too (filelock, sympy, ...):
    # pip's --index-url takes them from there, so a mirror of it carries them as well
    deps = [w for w in pypi if w.name.split("-")[0] in TORCH_DEPS]
    index = serve(Index({"/pypi/simple": pypi, "/pytorch/cpu": [TORCH_WHEEL, *deps]}))
    yield index
    assert index.server is not None
    index.server.shutdown()


def _mirror_env(install_env: dict[str, str], pypi: str) -> dict[str, str]:
    env = {k: v for k, v in install_env.items() if not k.startswith(("PIP_FIND_LINKS", "UV_"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,  # not this machine's pip.conf, its find-links or its index
        PIP_INDEX_URL=pypi,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        CHATENV_TORCH_INDEX="",
    )
    return env


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_torch_index_is_the_option_then_the_variable_then_pytorchs() -> None:
    assert TorchIndex.chosen(None, {}) == TorchIndex(DEFAULT_INDEX, "default")
    mirror = "https://artifactory.example/api/pypi/pytorch/whl"
    env = {"CHATENV_TORCH_INDEX": mirror + "/"}
    assert TorchIndex.chosen(None, env) == TorchIndex(mirror, "CHATENV_TORCH_INDEX")
    assert TorchIndex.chosen("configured", env) == TorchIndex(None, "--torch-index")
    chosen = TorchIndex.chosen(None, env)
    assert chosen.url_for("https://download.pytorch.org/whl/cu126") == mirror + "/cu126"
    assert TorchIndex(None, "--torch-index").url_for(DEFAULT_INDEX + "/cpu") is None
    with pytest.raises(UsageError) as refused:
        TorchIndex.chosen("artifactory.example/whl", {})
    assert "'artifactory.example/whl' is not a URL" in str(refused.value)


@pytest.mark.slow
@needs_wheel
def test_a_mirror_on_127_0_0_1_installs_the_local_profile(
    run_cli: RunCli, install_env: dict[str, str], pip_venv: Path, mirrors: Index
) -> None:
    env = _mirror_env(install_env, f"{mirrors.url}/pypi/simple")
    mirror = f"{mirrors.url}/pytorch"
    args = ("install", "local", "--python", str(pip_venv), "--installer", "pip")
    dry = run_cli(*args, "--torch-index", mirror, "--dry-run", "--json", env=env, timeout=600)
    plan = json.loads(dry.stdout)["plan"]
    choice = plan["torch"]["choice"]
    assert choice["index_url"] == f"{mirror}/cpu"
    assert choice["torch_index"] == {"base": mirror, "source": "--torch-index", "configured": False}
    assert any(f"torch comes from {mirror} (--torch-index)" in n for n in plan["notes"])

    done = run_cli(*args, "--torch-index", mirror, env=env, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Installed and verified." in done.stdout
    site = site_packages(pip_venv)
    assert sorted(p.name for p in site.glob("torch-*.dist-info")) == ["torch-2.13.0+cpu.dist-info"]
    assert (site / "transformers-4.57.0.dist-info").is_dir()
    # the torch wheel came from the PyTorch mirror, the rest from the PyPI mirror
    assert f"/pytorch/cpu/torch/{TORCH_WHEEL.name}" in mirrors.requests  # type: ignore[union-attr]
    assert "/pypi/simple/transformers/" in mirrors.requests
    assert not any(r.startswith("/pypi/simple/torch/torch-") for r in mirrors.requests)
    assert "/pytorch/cpu/filelock/" in mirrors.requests


@pytest.mark.slow
@needs_wheel
def test_an_unreachable_torch_index_says_what_the_configured_index_would_give(
    run_cli: RunCli, install_env: dict[str, str], pip_venv: Path, tmp_path: Path
) -> None:
    assert TORCH_WHEEL is not None
    pypi = serve(Index({"/simple": [*_wheels(tmp_path / "pypi"), TORCH_WHEEL]}))
    try:
        env = _mirror_env(install_env, f"{pypi.url}/simple")
        env["CHATENV_TORCH_INDEX"] = f"http://127.0.0.1:{_closed_port()}/whl"
        args = ("install", "local", "--python", str(pip_venv), "--installer", "pip")
        done = run_cli(*args, env=env, timeout=600)
        assert done.returncode == 1
        error, fix = [line.strip() for line in done.stderr.strip().splitlines()[-2:]]
        assert error.startswith("error: cannot reach http://127.0.0.1:")
        assert "(Connection refused) for torch; the package index the installer is configured" in (
            error
        )
        assert error.endswith("has torch 2.13.0+cpu: the CPU build; nothing was changed")
        assert fix == (
            f"fix: chatenv install local --python {pip_venv} --installer pip "
            "--torch-index configured"
        )
        assert not list(site_packages(pip_venv).glob("torch-*.dist-info"))

        # the fix, as printed, plans torch from the configured index
        taken = run_cli(*args, "--torch-index", "configured", "--dry-run", "--json", env=env)
        plan = json.loads(taken.stdout)["plan"]
        assert plan["torch"]["choice"]["index_url"] is None
        torch_res = plan["resolutions"][0]
        assert torch_res["outcome"] == "resolved"
        assert any(i["version"] == "2.13.0+cpu" for i in torch_res["installs"])
    finally:
        assert pypi.server is not None
        pypi.server.shutdown()
