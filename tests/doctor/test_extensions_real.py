"""doctor's verdict on real compiled packages beside the real torch of this test environment
(the 2.13.0 CPU wheel), checked against what `--deep`'s import of each actually does.

- PyPI's torchvision wheels for Linux x86_64 (downloaded with pip, installed with --no-deps
  into throw-away venvs, never beside the dev environment's torch): 0.28.0 pins torch==2.13.0
  but is a CUDA 13.0 build (its _C.so links libtorch_cuda.so and libcudart.so.13), 0.29.0 pins
  torch==2.14.0. The CPU build that matches this torch (0.28.0+cpu) is only on
  download.pytorch.org, which this test machine cannot reach, so the matching case is a real
  C++ extension compiled here against the installed torch's libc10.so.
- That extension, and a copy of it that calls a c10 function this torch does not have,
  installed "before" torch: the `undefined symbol` of flash-attn after a torch upgrade.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from chatenv.installed import scan
from tests.conftest import clean_env
from tests.ext_sites import overlay_venv
from tests.sites import write_dist

pytestmark = pytest.mark.slow

INSTALLED = scan()
TORCH = INSTALLED.version("torch")
CXX = shutil.which("g++") or shutil.which("c++")


def _doctor_deep(python: Path, tmp_path: Path, **env: str) -> dict[str, dict[str, Any]]:
    done = subprocess.run(
        [str(python), "-m", "chatenv", "doctor", "--offline", "--deep", "--json"],
        capture_output=True,
        text=True,
        env=clean_env(HF_HOME=str(tmp_path / "hf"), **env),
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stdout, done.stdout
    return {r["id"]: r for r in json.loads(done.stdout)["results"]}


@pytest.fixture(scope="session")
def torchvision_venvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """version -> the interpreter of a venv holding PyPI's torchvision of that version."""
    if not (sys.platform.startswith("linux") and platform.machine() == "x86_64"):
        pytest.skip("PyPI's CUDA torchvision wheels are for Linux x86_64")
    if TORCH is None or not TORCH.startswith("2.13.0"):
        pytest.skip(f"these wheels are chosen for torch 2.13.0, not {TORCH}")
    root = tmp_path_factory.mktemp("torchvision")
    found = {}
    for version in ("0.28.0", "0.29.0"):
        python = overlay_venv(root / version)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--no-deps", "--only-binary", ":all:",
             "--no-warn-script-location", f"torchvision=={version}"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"torchvision {version} could not be installed: {done.stderr[-300:]}")
        found[version] = python
    return found


def test_pypis_torchvision_for_this_torch_is_a_cuda_build_and_its_import_fails(
    torchvision_venvs: dict[str, Path], tmp_path: Path
) -> None:
    results = _doctor_deep(torchvision_venvs["0.28.0"], tmp_path)
    static, deep = results["extensions.torchvision"], results["extensions.torchvision.import"]
    assert static["status"] == "fail"
    assert static["summary"] == (
        "torchvision 0.28.0 is a CUDA 13 build (libcudart.so.13 in torchvision/_C.so), but "
        f"torch {TORCH} is a CPU-only build: importing it fails"
    )
    assert "built for torch 2.13.0: its metadata requires torch==2.13.0" in static["details"]
    assert static["fix"] == (
        "python -m pip install --force-reinstall --no-deps torchvision==0.28.0 "
        "--index-url https://download.pytorch.org/whl/cpu"
    )
    # what the import does agrees
    assert deep["status"] == "fail"
    assert "operator torchvision::nms does not exist" in deep["summary"]
    assert deep["fix"] == static["fix"]


def test_pypis_torchvision_for_the_next_torch_fails_on_both_counts(
    torchvision_venvs: dict[str, Path], tmp_path: Path
) -> None:
    results = _doctor_deep(torchvision_venvs["0.29.0"], tmp_path)
    static, deep = results["extensions.torchvision"], results["extensions.torchvision.import"]
    assert static["status"] == "fail"
    assert static["data"]["torch_requirement"] == "torch==2.14.0"
    assert any(
        d.startswith("also: torchvision 0.29.0 is built for torch 2.14.0 (its metadata requires")
        for d in static["details"]
    )
    assert static["fix"].startswith(
        "python -m pip install --force-reinstall --no-deps torchvision==0.28.0 "
    )
    assert deep["status"] == "fail"


# --- a C++ extension compiled here against the installed torch ----------------------------------

SOURCE = r"""
#include <Python.h>
namespace c10 { struct Allocator; Allocator* GetCPUAllocator(); %(missing_decl)s }
static PyObject* probe(PyObject*, PyObject*) {
    %(missing_call)s
    return PyBool_FromLong(c10::GetCPUAllocator() != nullptr);
}
static PyMethodDef methods[] = {
    {"probe", probe, METH_NOARGS, nullptr}, {nullptr, nullptr, 0, nullptr}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, methods};
PyMODINIT_FUNC PyInit__C(void) { return PyModule_Create(&module); }
"""


def _compile(site: Path, package: str, torch_lib: Path, *, missing: bool) -> str:
    assert CXX is not None
    source = site.parent / f"{package}.cpp"
    source.write_text(
        SOURCE
        % {
            "missing_decl": "void chatenv_missing_symbol();" if missing else "",
            "missing_call": "c10::chatenv_missing_symbol();" if missing else "",
        }
    )
    rel = f"{package}/_C{sysconfig.get_config_var('EXT_SUFFIX')}"
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text("from ._C import probe\n")
    subprocess.run(
        [CXX, "-shared", "-fPIC", "-O0", f"-I{sysconfig.get_paths()['include']}", str(source),
         f"-L{torch_lib}", "-lc10", "-o", str(site / rel)],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    return rel


def _record(folder: Path, *files: str) -> None:
    record = folder / "RECORD"
    record.write_text(record.read_text() + "".join(f"{f},,\n" for f in files))


@pytest.mark.skipif(CXX is None, reason="no C++ compiler")
def test_a_matching_and_a_stale_compiled_extension_as_the_import_finds_them(
    tmp_path: Path,
) -> None:
    torch_dist = INSTALLED.get("torch")
    build = INSTALLED.torch
    if torch_dist is None or build is None or not build.path:
        pytest.skip("torch is not installed")
    torch_lib = Path(build.path).parent / "lib"
    if not (torch_lib / "libc10.so").is_file():
        pytest.skip("this torch has no libc10.so (not Linux)")
    site = tmp_path / "site"
    public = build.public_version
    good = write_dist(site, "tinyext", "0.1.0", requires=[f"torch=={public}"])
    _record(good, _compile(site, "tinyext", torch_lib, missing=False), "tinyext/__init__.py")
    stale = write_dist(site, "tinyext-stale", "0.1.0", requires=["torch"])
    _record(stale, _compile(site, "tinyext_stale", torch_lib, missing=True))
    # built before the torch that is installed now, as when torch is upgraded afterwards
    before = os.stat(torch_dist.location).st_mtime - 3600
    os.utime(stale, (before, before))

    results = _doctor_deep(Path(sys.executable), tmp_path, PYTHONPATH=str(site))
    matching = results["extensions.tinyext"]
    assert matching["status"] == "ok", matching
    assert matching["summary"] == f"tinyext 0.1.0 (built for torch {public}): fits torch {TORCH}"
    assert results["extensions.tinyext.import"]["status"] == "ok"

    warned = results["extensions.tinyext-stale"]
    assert warned["status"] == "warn"
    assert warned["summary"].startswith(
        "tinyext-stale 0.1.0 is built against libtorch, says nothing of which torch"
    )
    imported = results["extensions.tinyext-stale.import"]
    assert imported["status"] == "fail"
    assert imported["summary"] == (
        "import tinyext_stale fails: undefined symbol _ZN3c1022chatenv_missing_symbolEv: "
        "tinyext-stale was built against another torch (or CUDA)"
    )
    assert (
        imported["fix"]
        == warned["fix"]
        == (
            "python -m pip install --no-build-isolation --no-cache-dir --force-reinstall --no-deps "
            "tinyext-stale==0.1.0"
        )
    )
