"""`doctor --deep`: the child process (real subprocesses, with the real CPU torch or a torch
package written in tmp_path), and the reading of its answer as a GPU machine would give it."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest

from chatenv.doctor import deep
from chatenv.doctor.context import Context, DoctorOptions, Seams
from chatenv.doctor.deep import DeepAnswer, check_deep, parse_answer, run_child, why_no_cuda
from chatenv.installed import TorchBuild
from chatenv.results import Status
from chatenv.system.nvml import CudaVersion
from chatenv.system.proc import ProcResult
from tests.fakes import machines as fake
from tests.sites import write_torch

if TYPE_CHECKING:
    from pathlib import Path

CU128 = TorchBuild("2.13.0+cu128", CudaVersion(12, 8), None, "/x/torch/version.py")


def _env(site: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(site)}


def _answer(**over: object) -> DeepAnswer:
    data: dict[str, object] = {
        "version": "2.13.0+cu128",
        "cuda": "12.8",
        "hip": None,
        "import_s": 2.1,
        "cpu_op": True,
        "available": True,
        "device_count": 1,
        "warnings": [],
        "arch_list": ["sm_70", "sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"],
        "mps": False,
        "devices": [
            {
                "index": 0,
                "name": "NVIDIA H100 80GB HBM3",
                "capability": "9.0",
                "op_s": 0.0031,
                "op_ok": True,
            }
        ],
    }
    data.update(over)
    return DeepAnswer(data)


def test_h100_answer_confirms_cuda_and_the_op() -> None:
    results = {r.id: r for r in check_deep(_answer(), CU128, fake.probe(fake.one_h100()), {})}
    assert results["deep.import"].status is Status.OK
    assert results["deep.cuda"].status is Status.OK and "sm_90" in results["deep.cuda"].summary
    assert results["deep.gpu.0"].status is Status.OK
    assert "matmul is right (3.1 ms)" in results["deep.gpu.0"].summary


def test_no_kernel_image_on_a_gpu_fails_that_gpu_with_a_variant_fix() -> None:
    answer = _answer(
        devices=[
            {
                "index": 0,
                "name": "NVIDIA GeForce GTX 1080 Ti",
                "capability": "6.1",
                "error": "AcceleratorError: CUDA error: no kernel image is available for "
                "execution on the device\nCUDA kernel errors might be asynchronously reported",
            }
        ]
    )
    results = {
        r.id: r for r in check_deep(answer, CU128, fake.probe(fake.gtx1080ti_current_driver()), {})
    }
    gpu0 = results["deep.gpu.0"]
    assert gpu0.status is Status.FAIL and "no kernel image" in gpu0.summary
    assert "\n" not in gpu0.summary
    assert gpu0.fix == "chatenv install local --torch cu126"


@pytest.mark.parametrize(
    ("build_cuda", "lib", "environ", "status", "words"),
    [
        (None, fake.one_h100, {}, "warn", "CPU-only build, and this machine has an NVIDIA GPU"),
        (None, fake.cpu_box, {}, "skip", "no NVIDIA GPU here"),
        ("12.8", fake.one_h100, {"CUDA_VISIBLE_DEVICES": ""}, "warn", "hides every GPU"),
        ("12.8", fake.cpu_box, {}, "warn", "no NVIDIA driver"),
        ("13.0", fake.one_h100, {}, "fail", "too old for this CUDA 13.0 build"),
        ("12.8", fake.one_h100, {}, "fail", "CUDA initialisation failed: CUDA unknown error"),
    ],
)
def test_why_cuda_is_unavailable(build_cuda, lib, environ, status, words) -> None:  # type: ignore[no-untyped-def]
    answer = {
        "cuda": build_cuda,
        "available": False,
        "warnings": ["CUDA initialization: CUDA unknown error - this may be due to ..."],
    }
    got_status, reason, fix = why_no_cuda(None, fake.probe(lib()), environ, answer)
    assert (got_status, words in reason) == (status, True)
    assert got_status == "skip" or fix


def test_unavailable_cuda_reports_torchs_own_words_in_details() -> None:
    answer = _answer(
        available=False,
        device_count=0,
        devices=[],
        warnings=["CUDA initialization: The NVIDIA driver on your system is too old"],
        cuda="13.0",
    )
    results = {r.id: r for r in check_deep(answer, CU128, fake.probe(fake.one_h100()), {})}
    cuda = results["deep.cuda"]
    assert cuda.status is Status.FAIL and cuda.fix == "chatenv install local --torch cu126"
    assert cuda.details == (
        "torch said: CUDA initialization: The NVIDIA driver on your system is too old",
    )


def test_timeout_and_crash_become_one_line() -> None:
    timed_out = parse_answer(ProcResult(("python",), -1, "", "", timed_out=True), 5)
    assert timed_out.failure == "importing torch did not finish within 5s"
    crashed = parse_answer(
        ProcResult(("python",), -11, "", "Fatal Python error: Segmentation fault"), 5
    )
    assert crashed.failure is not None and "killed by signal 11" in crashed.failure
    (result,) = check_deep(crashed, CU128, fake.probe(fake.cpu_box()), {})
    assert result.status is Status.FAIL and result.id == "deep.import"


def test_child_reports_an_import_error_of_a_broken_torch(tmp_path: Path) -> None:
    write_torch(tmp_path)  # its __init__ raises ImportError
    options = DoctorOptions(environ=_env(tmp_path), cwd=tmp_path)
    answer = run_child(Context(options), timeout=60)
    (result,) = check_deep(answer, CU128, fake.probe(fake.cpu_box()), options.environ)
    assert result.status is Status.FAIL
    assert result.summary.startswith("import torch fails: ImportError: this test torch")


def test_child_that_hangs_is_stopped_at_the_time_limit(tmp_path: Path) -> None:
    package = tmp_path / "torch"
    package.mkdir()
    (package / "__init__.py").write_text("import time\ntime.sleep(60)\n")
    answer = run_child(Context(DoctorOptions(environ=_env(tmp_path), cwd=tmp_path)), timeout=1.5)
    assert answer.failure == "importing torch did not finish within 1.5s"


def test_child_runs_through_the_process_seam(tmp_path: Path) -> None:
    seen = []

    def runner(args, *, timeout, env=None, cwd=None):  # type: ignore[no-untyped-def]
        seen.append((args[1], timeout, env["CUDA_VISIBLE_DEVICES"]))
        out = deep.MARKER + json.dumps({"version": "2.13.0+cpu", "cuda": None, "cpu_op": True})
        return ProcResult(tuple(args), 0, "noise\n" + out + "\n", "")

    options = DoctorOptions(environ={"CUDA_VISIBLE_DEVICES": "1"}, seams=Seams(run=runner))
    answer = run_child(Context(options), timeout=7)
    assert seen == [("-c", 7, "1")]
    assert answer.data["version"] == "2.13.0+cpu"


@pytest.mark.slow
def test_real_cpu_torch_imports_and_says_why_there_is_no_cuda(tmp_path: Path) -> None:
    """The torch installed in this environment (the CPU wheel in CI), imported for real."""
    options = DoctorOptions(
        environ=dict(os.environ),
        deep=True,
        cwd=tmp_path,
        seams=Seams(nvml=fake.nvml(fake.cpu_box())),
    )
    results = {r.id: r for r in deep.collect(Context(options))}
    assert results["deep.import"].status is Status.OK, results["deep.import"]
    assert "a CPU matmul works" in results["deep.import"].summary
    cuda = results["deep.cuda"]
    assert cuda.status is Status.SKIP and "CPU-only build" in cuda.summary
