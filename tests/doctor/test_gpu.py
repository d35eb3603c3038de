"""The gpu section against NVML answering as real machines do (tests/fakes/nvml.py), and a
sysfs tree written in tmp_path for the GPUs NVML cannot see."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from chatenv.doctor import gpu, torch_build
from chatenv.doctor.context import Context, DoctorOptions, Seams
from chatenv.results import Status
from chatenv.system.cuda_devices import visible_indices
from tests.fakes import nvml as fake

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.results import CheckResult


def _collect(
    lib: fake.FakeNvml, root: Path, environ: dict[str, str] | None = None
) -> dict[str, CheckResult]:
    options = DoctorOptions(environ=environ or {}, seams=Seams(nvml=lib, root=root))
    return {r.id: r for r in gpu.collect(Context(options))}


def _pci_gpu(root: Path, slot: str = "0000:01:00.0", vendor: str = "0x10de") -> None:
    device = root / "sys/bus/pci/devices" / slot
    device.mkdir(parents=True)
    (device / "vendor").write_text(vendor + "\n")
    (device / "class").write_text("0x030200\n")


def test_cpu_box_is_a_skip_not_a_failure(tmp_path: Path) -> None:
    results = _collect(fake.cpu_box(), tmp_path)
    driver = results["gpu.driver"]
    assert driver.status is Status.SKIP
    assert "CPU-only" in driver.summary
    assert list(results) == ["gpu.driver"]


def test_gpu_on_the_bus_without_driver_warns_with_driver_fix(tmp_path: Path) -> None:
    _pci_gpu(tmp_path)
    _pci_gpu(tmp_path, "0000:02:00.0", vendor="0x8086")  # an Intel device is not counted
    driver = _collect(fake.cpu_box(), tmp_path)["gpu.driver"]
    assert driver.status is Status.WARN
    assert driver.summary.startswith("1 NVIDIA GPU on the PCI bus, but no NVIDIA driver")
    assert driver.fix is not None and "ubuntu-drivers" in driver.fix


def test_gpu_on_the_bus_inside_docker_says_how_to_pass_it_in(tmp_path: Path) -> None:
    _pci_gpu(tmp_path)
    (tmp_path / ".dockerenv").write_text("")
    driver = _collect(fake.cpu_box(), tmp_path)["gpu.driver"]
    assert driver.status is Status.WARN and driver.fix is not None and "--gpus all" in driver.fix


def test_driver_not_loaded_with_a_gpu_suggests_modprobe(tmp_path: Path) -> None:
    _pci_gpu(tmp_path)
    driver = _collect(fake.driver_not_loaded(), tmp_path)["gpu.driver"]
    assert driver.status is Status.WARN and "not loaded" in driver.summary
    assert driver.fix is not None and "modprobe nvidia" in driver.fix


def test_one_h100_reports_driver_cuda_and_the_gpu(tmp_path: Path) -> None:
    results = _collect(fake.one_h100(), tmp_path)
    driver = results["gpu.driver"]
    assert driver.status is Status.OK
    assert driver.summary == "NVIDIA driver 550.54.15, supports CUDA up to 12.4; 1 GPU"
    card = results["gpu.0"]
    assert card.status is Status.OK
    assert card.summary == (
        "GPU 0: NVIDIA H100 80GB HBM3, 79.0 of 80.0 GiB free, compute 9.0 (sm_90)"
    )
    assert "UUID: GPU-5f1d6f9e-0c3a-4a7e-9c1e-2b8e7d0f1a11" in card.details
    assert driver.data["probe"]["driver"] == {"version": "550.54.15", "cuda": "12.4"}


def test_eight_gpus_each_get_a_line(tmp_path: Path) -> None:
    results = _collect(fake.eight_h100(), tmp_path)
    assert [k for k in results if k.startswith("gpu.") and k[4:].isdigit()] == [
        f"gpu.{i}" for i in range(8)
    ]
    assert "8 GPUs" in results["gpu.driver"].summary
    assert all(r.status is Status.OK for r in results.values())


def test_mig_on_is_shown_and_explained(tmp_path: Path) -> None:
    card = _collect(fake.mig_enabled_a100(), tmp_path)["gpu.0"]
    assert card.status is Status.OK and card.summary.endswith("MIG on")
    assert any("MIG-<uuid>" in d for d in card.details)


def test_pending_mig_change_warns_with_reset_fix(tmp_path: Path) -> None:
    card = _collect(fake.mig_change_pending(), tmp_path)["gpu.0"]
    assert card.status is Status.WARN and "pending" in card.summary
    assert card.fix is not None and card.fix.startswith("sudo nvidia-smi -i 0 -r")


def test_version_mismatch_fails_with_reboot(tmp_path: Path) -> None:
    driver = _collect(fake.version_mismatch(), tmp_path)["gpu.driver"]
    assert driver.status is Status.FAIL
    assert driver.fix is not None and driver.fix.startswith("sudo reboot")


def test_no_permission_warns_with_device_node_fix(tmp_path: Path) -> None:
    driver = _collect(fake.no_permission(), tmp_path)["gpu.driver"]
    assert driver.status is Status.WARN and driver.fix is not None and "/dev/nvidia" in driver.fix


def test_field_without_permission_is_na_for_that_gpu_only(tmp_path: Path) -> None:
    card = _collect(fake.consumer_rtx4090_partial(), tmp_path)["gpu.0"]
    assert card.status is Status.OK
    assert "NVIDIA GeForce RTX 4090" in card.summary and "compute 8.9" in card.summary
    assert "UUID: n/a" in card.details
    assert any(d.startswith("n/a: uuid: ") for d in card.details)


def test_old_driver_falls_back_to_v1_memory(tmp_path: Path) -> None:
    card = _collect(fake.old_driver_gtx1080ti(), tmp_path)["gpu.0"]
    assert "10.0 of 11.0 GiB free" in card.summary and "memory n/a" not in card.summary


def test_busy_gpu_warns(tmp_path: Path) -> None:
    card = _collect(fake.busy_h100(), tmp_path)["gpu.0"]
    assert card.status is Status.WARN and card.fix is not None and "nvidia-smi" in card.fix


@pytest.mark.parametrize(
    ("value", "visible"),
    [("", []), ("-1", []), ("0", [0]), ("1,0", [1, 0]), ("0,9,1", [0]), ("GPU-5f1d6f9e", [0])],
)
def test_cuda_visible_devices_is_read_like_the_cuda_runtime(value: str, visible: list[int]) -> None:
    gpus = fake.eight_h100()
    from chatenv.system.nvml import probe

    found = probe(gpus)
    assert visible_indices(value, found.gpus) == visible


def test_cuda_visible_devices_hiding_every_gpu_warns(tmp_path: Path) -> None:
    results = _collect(fake.one_h100(), tmp_path, {"CUDA_VISIBLE_DEVICES": ""})
    visible = results["gpu.visible"]
    assert visible.status is Status.WARN and visible.fix == "unset CUDA_VISIBLE_DEVICES"


def test_nvml_is_probed_once_per_run_however_many_sections_ask(tmp_path: Path) -> None:
    lib = fake.one_h100()
    ctx = Context(DoctorOptions(environ={}, seams=Seams(nvml=lib, root=tmp_path)))
    gpu.collect(ctx)
    torch_build.collect(ctx)
    assert ctx.gpus is ctx.gpus
    assert lib.calls.count("init") == 1
