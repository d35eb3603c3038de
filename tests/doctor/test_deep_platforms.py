"""`doctor --deep` on a Mac and with a ROCm torch: the child's answer as torch gives it there
(tests/machines/apple.py records the Mac's replies and where they came from; the ROCm replies
are torch's HIP spellings of the CUDA ones), read with the Mac's sysctl facts. The child's
MPS questions run only on macOS, so only their reading is tested here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatenv.doctor.deep import DeepAnswer, check_deep
from chatenv.installed import TorchBuild
from chatenv.results import Status
from chatenv.system import apple
from tests.fakes import machines as fake
from tests.machines import amd as machines
from tests.machines import apple as mac

if TYPE_CHECKING:
    from chatenv.results import CheckResult

MAC_TORCH = TorchBuild("2.13.0", None, None, "/x/torch/version.py")
ROCM_TORCH = TorchBuild("2.5.1+rocm6.2", None, machines.HIP_6_2, "/x/torch/version.py")


def facts(sysctl: str, uname: Any = mac.NATIVE) -> apple.AppleFacts:
    found = apple.observe(mac.SysctlRunner(sysctl), uname)
    assert found is not None
    return found


def results(
    data: dict[str, Any], found: apple.AppleFacts | None, build: TorchBuild = MAC_TORCH
) -> dict[str, CheckResult]:
    answer = check_deep(DeepAnswer(data), build, fake.probe(fake.cpu_box()), {}, found)
    return {r.id: r for r in answer}


def test_mps_available_runs_a_matmul_on_the_apple_gpu() -> None:
    found = results(mac.DEEP_NATIVE, facts(mac.M2_PRO))
    assert found["deep.mps"].status is Status.OK
    assert (
        found["deep.mps"].summary
        == "mps: Apple M2 Pro (19 GPU cores): a 256x256 matmul is right (2.1 ms)"
    )
    assert found["deep.cuda"].status is Status.SKIP  # no CUDA on a Mac: not a problem


def test_mps_refused_on_an_old_macos_names_the_version_torch_needs() -> None:
    found = results(mac.DEEP_OLD_MACOS, facts(mac.M2_PRO_ON_VENTURA))
    mps = found["deep.mps"]
    assert mps.status is Status.WARN
    assert mps.summary == (
        "torch.backends.mps.is_available() is False: torch 2.10.0 needs macOS 14.0 or newer for "
        "MPS, this Mac runs 13.6.7"
    )


def test_mps_under_rosetta_says_rosetta() -> None:
    found = results(mac.DEEP_ROSETTA, facts(mac.M2_PRO_UNDER_ROSETTA, mac.ROSETTA))
    mps = found["deep.mps"]
    assert mps.status is Status.WARN and "runs under Rosetta" in mps.summary
    assert mps.fix is not None and "macos-aarch64" in mps.fix


def test_mps_unavailable_in_a_vm_quotes_torch_and_names_the_vm() -> None:
    found = results(mac.DEEP_VM, facts(mac.VIRTUAL_MAC))
    mps = found["deep.mps"]
    assert mps.status is Status.WARN
    assert "The MPS backend is supported on macOS 14.0+" in mps.summary
    assert mps.summary.endswith("(this Mac is a virtual machine: VirtualMac2,1)")


def test_a_torch_built_without_mps() -> None:
    found = results({**mac.DEEP_NATIVE, "mps": False, "mps_built": False}, facts(mac.M2_PRO))
    assert found["deep.mps"].summary == (
        "torch.backends.mps.is_built() is False: torch 2.13.0 was built without MPS"
    )


def test_mps_op_failure_fails() -> None:
    data = {
        **mac.DEEP_NATIVE,
        "mps_device": {"name": "Apple M2 Pro", "error": "RuntimeError: MPS backend out of memory"},
    }
    found = results(data, facts(mac.M2_PRO))
    assert found["deep.mps"].status is Status.FAIL
    assert found["deep.mps"].summary.endswith(
        "a 256x256 matmul failed: RuntimeError: MPS backend out of memory"
    )


def test_linux_answers_have_no_mps_line() -> None:
    data = {**mac.DEEP_NATIVE, "platform": "linux", "mps": False}
    assert "deep.mps" not in results(data, None)


# -- ROCm --------------------------------------------------------------------------------------

ROCM_ANSWER: dict[str, Any] = {
    "python": "3.12.4",
    "platform": "linux",
    "machine": "x86_64",
    "version": "2.5.1+rocm6.2",
    "cuda": None,
    "hip": machines.HIP_6_2,
    "import_s": 3.2,
    "cpu_op": True,
    "available": True,
    "device_count": 1,
    "warnings": [],
    "arch_list": ["gfx900", "gfx906", "gfx908", "gfx90a", "gfx942", "gfx1030", "gfx1100"],
    "mps": False,
    "devices": [
        {
            "index": 0,
            "name": "AMD Radeon RX 6700 XT",
            "capability": "10.3",
            "gfx": "gfx1031",
            "error": "RuntimeError: HIP error: invalid device function",
        }
    ],
}


def test_a_rocm_torch_that_sees_no_amd_gpu_is_not_told_about_nvidia() -> None:
    data = {**ROCM_ANSWER, "available": False, "device_count": 0, "devices": []}
    cuda = results(data, None, ROCM_TORCH)["deep.cuda"]
    assert cuda.status is Status.WARN
    assert cuda.summary == (
        "torch.cuda.is_available() is False: this ROCm build of torch finds no AMD GPU it can open"
    )
    assert cuda.fix is not None and cuda.fix.startswith("ls -l /dev/kfd /dev/dri/render*")


def test_invalid_device_function_on_an_amd_gpu_points_at_the_torch_section() -> None:
    gpu = results(ROCM_ANSWER, None, ROCM_TORCH)["deep.gpu.0"]
    assert gpu.status is Status.FAIL
    assert gpu.fix is not None and "HSA_OVERRIDE_GFX_VERSION" in gpu.fix
