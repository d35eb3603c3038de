"""The device on a Mac and with a ROCm torch, from what torch reports there (tests/machines/
apple.py says where the Mac's replies come from; a ROCm torch has `torch.version.cuda` None and
`torch.version.hip` set, and its AMD GPUs are the `cuda` devices)."""

from __future__ import annotations

import pytest

from chatenv.smoke.device import Accelerators, DeviceRequest, DeviceUnavailable, choose_device
from tests.machines import amd as machines
from tests.machines import apple as mac

M2_PRO = Accelerators(
    "2.13.0", None, False, 0, mps_available=True, mps_built=True, system="darwin", machine="arm64"
)
ROCM_MI300X = Accelerators(
    "2.5.1+rocm6.2", None, True, 8, hip_build=machines.HIP_6_2, system="linux"
)
ROCM_NO_GPU = Accelerators(
    "2.5.1+rocm6.2", None, False, 0, hip_build=machines.HIP_6_2, system="linux"
)


def refusal(request: str, found: Accelerators) -> str:
    with pytest.raises(DeviceUnavailable) as caught:
        choose_device(DeviceRequest(request), found)
    return caught.value.message


def test_auto_and_mps_pick_the_apple_gpu() -> None:
    assert choose_device(DeviceRequest("auto"), M2_PRO) == "mps"
    assert choose_device(DeviceRequest("mps"), M2_PRO) == "mps"


def test_mps_on_an_old_macos_quotes_torch() -> None:
    error = mac.DEEP_OLD_MACOS["mps_error"].removeprefix("RuntimeError: ")
    found = Accelerators(
        "2.10.0", None, False, 0, mps_built=True, system="darwin", machine="arm64", mps_error=error
    )
    assert refusal("mps", found) == (
        "--device mps: torch sees no Apple GPU (MPS) on this machine: The MPS backend is "
        "supported on MacOS 13.0+.Current OS version can be queried using `sw_vers`"
    )


def test_mps_under_rosetta_says_to_use_an_arm64_python() -> None:
    found = Accelerators("2.2.2", None, False, 0, mps_built=True, system="darwin", machine="x86_64")
    assert "this Python is x86_64" in refusal("mps", found)


def test_mps_in_a_torch_without_it() -> None:
    found = Accelerators("2.13.0", None, False, 0, system="darwin", machine="arm64")
    assert refusal("mps", found).endswith("torch 2.13.0 was built without MPS")


def test_mps_on_linux_is_for_macs() -> None:
    found = Accelerators("2.13.0+cpu", None, False, 0, system="linux", machine="x86_64")
    assert refusal("mps", found).endswith("MPS is the GPU of Macs with Apple silicon")


def test_a_rocm_torch_runs_on_cuda_devices() -> None:
    assert choose_device(DeviceRequest("cuda"), ROCM_MI300X) == "cuda:0"
    assert choose_device(DeviceRequest("cuda", 7), ROCM_MI300X) == "cuda:7"
    assert choose_device(DeviceRequest("auto"), ROCM_MI300X) == "cuda:0"


def test_a_rocm_torch_without_a_gpu_names_rocm_not_a_cpu_build() -> None:
    message = refusal("cuda", ROCM_NO_GPU)
    assert message.startswith(
        "--device cuda: torch 2.5.1+rocm6.2 (ROCm 6.2.41133-dd7f95766) sees no usable AMD GPU"
    )
