"""The extensions and loading sections as a user meets them: the real `chatenv doctor` in a
subprocess, with compiled packages, copies of packages and CUDA libraries made for real in
tmp_path and put where a user's would be (PYTHONPATH, the current folder, LD_LIBRARY_PATH, a
venv with a conda-meta folder)."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, Any

import jsonschema

from tests.conftest import clean_env
from tests.ext_sites import overlay_venv, site_of, write_cuda_torch, write_extension
from tests.sites import write_dist
from tests.system.test_ld_search import make_lib

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import RunCli


def _doctor(run_cli: RunCli, tmp_path: Path, cwd: Path | None = None, **env: str) -> dict[str, Any]:
    done = run_cli(
        "doctor", "--offline", "--json", env=clean_env(HF_HOME=str(tmp_path / "hf"), **env), cwd=cwd
    )
    assert "Traceback" not in done.stdout + done.stderr
    doc = dict(json.loads(done.stdout))
    from chatenv.schemas import schema_text

    jsonschema.validate(doc, json.loads(schema_text("doctor")))
    assert done.returncode == doc["exit_code"]
    return doc


def _by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in doc["results"]}


def test_mismatched_extensions_on_the_path_fail_each_with_its_fix(
    run_cli: RunCli, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    write_extension(
        site,
        "vllm",
        "0.10.1",
        requires=["torch==2.8.0"],
        objects={"vllm/_C.abi3.so": {"needed": ["libc10.so", "libc.so.6"]}},
        tag="cp38-abi3-manylinux_2_99_x86_64",
    )
    write_extension(
        site,
        "xformers",
        "0.0.33",
        requires=["torch==2.13.0"],
        objects={"xformers/_C.so": {"needed": ["libc10.so", "libcudart.so.12", "libc.so.6"]}},
    )
    doc = _doctor(run_cli, tmp_path, PYTHONPATH=str(site))
    results = _by_id(doc)
    vllm, xformers = results["extensions.vllm"], results["extensions.xformers"]
    assert vllm["status"] == "fail" and vllm["section"] == "extensions"
    assert vllm["summary"].startswith("vllm 0.10.1 needs glibc 2.99 (its wheel tag")
    assert any("is built for torch 2.8.0" in d for d in vllm["details"])
    assert xformers["status"] == "fail"
    assert "is a CUDA 12 build (libcudart.so.12 in xformers/_C.so)" in xformers["summary"]
    assert xformers["fix"] == (
        "python -m pip install --upgrade xformers torch==2.13.0 "
        "--index-url https://download.pytorch.org/whl/cpu"
    )
    assert doc["exit_code"] == 1


def test_a_torch_checkout_in_the_current_folder_warns(run_cli: RunCli, tmp_path: Path) -> None:
    checkout = tmp_path / "pytorch"
    (checkout / "torch").mkdir(parents=True)
    (checkout / "torch" / "__init__.py").write_text("")
    result = _by_id(_doctor(run_cli, tmp_path, cwd=checkout))["loading.torch"]
    assert result["status"] == "warn"
    assert result["summary"].startswith(f"torch imports from {checkout} (the current folder")
    assert result["data"]["copies"][1]["version"] == "2.13.0+cpu"


def test_a_second_copy_on_pythonpath_warns_with_the_pythonpath_without_it(
    run_cli: RunCli, tmp_path: Path
) -> None:
    extra = tmp_path / "extra"
    (extra / "mpmath").mkdir(parents=True)
    (extra / "mpmath" / "__init__.py").write_text("")
    write_dist(extra, "mpmath", "0.19")
    result = _by_id(_doctor(run_cli, tmp_path, PYTHONPATH=str(extra)))["loading.mpmath"]
    assert result["status"] == "warn"
    assert result["summary"].startswith(f"mpmath imports from {extra} (PYTHONPATH, 0.19)")
    assert result["fix"] == "unset PYTHONPATH"


def test_a_cudnn_on_ld_library_path_beside_a_cuda_torch_warns_with_both_versions(
    run_cli: RunCli, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    write_cuda_torch(site)
    toolkit = tmp_path / "cuda" / "lib64"
    make_lib(toolkit, "libcudnn.so.9.1.0", "libcudnn.so.9")
    results = _by_id(_doctor(run_cli, tmp_path, PYTHONPATH=str(site), LD_LIBRARY_PATH=str(toolkit)))
    cudnn = results["loading.libcudnn.so.9"]
    assert cudnn["status"] == "warn"
    assert cudnn["summary"] == (
        f"LD_LIBRARY_PATH holds another libcudnn.so.9 ({toolkit / 'libcudnn.so.9'}, 9.1.0) than "
        "torch's own (nvidia-cudnn-cu13 9.24.0.43): libraries without torch's RPATH load that one"
    )
    assert cudnn["fix"] == "unset LD_LIBRARY_PATH"
    assert results["loading.libraries"]["status"] == "ok"
    # the test's torch on PYTHONPATH hides the environment's own: said as well
    assert results["loading.torch"]["fix"] == "unset PYTHONPATH"


def test_conda_and_pip_torch_in_one_environment_fail(tmp_path: Path) -> None:
    python = overlay_venv(tmp_path / "env")
    meta = python.parent.parent / "conda-meta"
    meta.mkdir()
    (meta / "pytorch-2.5.1-py3.11_cuda12.4_cudnn9.1.0_0.json").write_text("{}")
    done = subprocess.run(
        [str(python), "-m", "chatenv", "doctor", "--offline", "--json"],
        capture_output=True,
        text=True,
        env=clean_env(HF_HOME=str(tmp_path / "hf")),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr
    result = _by_id(json.loads(done.stdout))["loading.conda-torch"]
    assert result["status"] == "fail"
    assert result["summary"].startswith("conda's pytorch 2.5.1 and torch 2.13.0+cpu installed by")
    assert result["fix"].startswith("conda remove -y --force-remove pytorch && python -m pip")
    assert site_of(python).is_dir()
