"""Choosing the device: `--device` parsing and the decision from what torch reports."""

from __future__ import annotations

import pytest

from chatenv.errors import UsageError
from chatenv.smoke.device import (
    Accelerators,
    DeviceRequest,
    DeviceUnavailable,
    choose_device,
    parse_device,
)

CPU_BUILD = Accelerators("2.13.0+cpu", None, cuda_available=False, cuda_count=0)
TWO_GPUS = Accelerators("2.13.0+cu128", "12.8", cuda_available=True, cuda_count=2)
NO_DRIVER = Accelerators("2.13.0+cu128", "12.8", cuda_available=False, cuda_count=0)
MAC = Accelerators("2.13.0", None, cuda_available=False, cuda_count=0, mps_available=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("auto", DeviceRequest("auto")),
        ("cpu", DeviceRequest("cpu")),
        ("cuda", DeviceRequest("cuda")),
        ("cuda:1", DeviceRequest("cuda", 1)),
        (" CUDA:0 ", DeviceRequest("cuda", 0)),
        ("mps", DeviceRequest("mps")),
    ],
)
def test_known_devices_parse(text: str, expected: DeviceRequest) -> None:
    assert parse_device(text) == expected


@pytest.mark.parametrize("text", ["gpu", "cuda:", "cuda:-1", "cpu:0", "cuda:x", "", "tpu"])
def test_unknown_device_is_a_usage_error_naming_the_choices(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_device(text)
    assert "auto, cpu, cuda, cuda:N" in caught.value.message
    assert caught.value.exit_code == 2


def test_auto_picks_the_first_gpu_when_torch_sees_one() -> None:
    assert choose_device(DeviceRequest("auto"), TWO_GPUS) == "cuda:0"


def test_auto_falls_back_to_mps_then_cpu() -> None:
    assert choose_device(DeviceRequest("auto"), MAC) == "mps"
    assert choose_device(DeviceRequest("auto"), CPU_BUILD) == "cpu"


def test_cuda_index_within_range_is_used() -> None:
    assert choose_device(DeviceRequest("cuda"), TWO_GPUS) == "cuda:0"
    assert choose_device(DeviceRequest("cuda", 1), TWO_GPUS) == "cuda:1"


def test_cuda_on_a_cpu_only_torch_says_so_with_the_install_fix() -> None:
    with pytest.raises(DeviceUnavailable) as caught:
        choose_device(DeviceRequest("cuda"), CPU_BUILD)
    assert caught.value.message == "--device cuda: torch 2.13.0+cpu is a CPU-only build"
    assert caught.value.fix is not None
    assert caught.value.fix.startswith("chatenv install local")


def test_cuda_build_without_a_usable_gpu_points_to_doctor() -> None:
    with pytest.raises(DeviceUnavailable) as caught:
        choose_device(DeviceRequest("cuda"), NO_DRIVER)
    assert "sees no usable GPU" in caught.value.message
    assert caught.value.fix is not None
    assert "chatenv doctor" in caught.value.fix


def test_cuda_index_past_the_last_gpu_lists_the_ones_there() -> None:
    with pytest.raises(DeviceUnavailable) as caught:
        choose_device(DeviceRequest("cuda", 2), TWO_GPUS)
    assert caught.value.message == "--device cuda:2: torch sees 2 GPUs (cuda:0, cuda:1)"
    assert caught.value.fix == "chatenv smoke-test --device cuda:1"


def test_mps_without_an_apple_gpu_is_unavailable() -> None:
    with pytest.raises(DeviceUnavailable, match="no Apple GPU"):
        choose_device(DeviceRequest("mps"), CPU_BUILD)
