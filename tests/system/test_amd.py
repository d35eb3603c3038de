"""AMD GPUs from the amdgpu driver's files: recorded sysfs trees of a real MI300X (CPX mode) and
of Radeon cards (tests/machines/amd.py says where each value came from); nothing here has an
AMD GPU."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from chatenv.system import amd
from tests.machines import amd as machines

if TYPE_CHECKING:
    from pathlib import Path

ALICE = (1000, (1000,))  # a user in no device group


def test_an_mi300x_in_cpx_mode_is_eight_devices_of_one_chip(tmp_path: Path) -> None:
    found = amd.probe(machines.write_mi300x(tmp_path), {})
    assert len(found.gpus) == 8 and len(found.chips()) == 1
    first = found.gpus[0]
    assert (first.gfx, first.name, first.device_id) == ("gfx942", "AMD Instinct MI300X", "0x74a1")
    assert first.compute_units == 38 and first.pci == "0000:05:00.0"
    assert [g.pci for g in found.gpus][-1] == "0000:05:00.7"
    assert [g.render_minor for g in found.gpus] == list(range(128, 136))
    assert found.driver_version == "6.10.5"


def test_the_cpu_node_is_not_a_gpu(tmp_path: Path) -> None:
    found = amd.probe(machines.write_mi300x(tmp_path, partitions=1), {})
    assert [g.node for g in found.gpus] == [2]


def test_a_radeon_card_reads_name_memory_and_the_in_kernel_driver(tmp_path: Path) -> None:
    found = amd.probe(machines.write_rx7900xtx(tmp_path), {})
    (card,) = found.gpus
    assert card.name == "AMD Radeon RX 7900 XTX" and card.gfx == "gfx1100"
    assert card.compute_units == 96
    assert card.memory_total == 25753026560
    assert found.driver_version is None and found.driver_loaded


def test_the_name_falls_back_to_the_device_id_without_the_revision(tmp_path: Path) -> None:
    machines.write_rx6700xt(tmp_path)
    (tmp_path / "sys/class/drm/renderD128/device/revision").unlink()
    (card,) = amd.probe(tmp_path, {}).gpus
    assert card.name in ("AMD Radeon RX 6750 XT", "AMD Radeon RX 6700 XT")


def test_hsa_override_is_the_gfx_rocm_assumes(tmp_path: Path) -> None:
    found = amd.probe(machines.write_rx6700xt(tmp_path), {"HSA_OVERRIDE_GFX_VERSION": "10.3.0"})
    assert found.gpus[0].gfx == "gfx1031"
    assert found.override_gfx == "gfx1030" and found.effective_gfx(found.gpus[0]) == "gfx1030"


def test_dev_kfd_without_the_render_group_is_no_permission(tmp_path: Path) -> None:
    machines.write_rx7900xtx(tmp_path)
    os.chown(tmp_path / "dev/kfd", 0, 110)  # root:render, 0660, as udev makes it
    found = amd.probe(tmp_path, {}, ids=ALICE)
    assert found.dev_kfd.state == "no-permission" and found.dev_kfd.group == "render"
    assert amd.probe(tmp_path, {}, ids=(1000, (1000, 110))).dev_kfd.state == "ok"


def test_a_container_without_dev_kfd_still_sees_the_gpus_in_sys(tmp_path: Path) -> None:
    machines.write_rx7900xtx(tmp_path)
    (tmp_path / "dev/kfd").unlink()
    found = amd.probe(tmp_path, {})
    assert found.has_gpu and found.dev_kfd.state == "missing"


def test_an_amd_gpu_without_the_driver_is_only_on_the_pci_bus(tmp_path: Path) -> None:
    device = tmp_path / "sys/bus/pci/devices/0000:03:00.0"
    device.mkdir(parents=True)
    (device / "vendor").write_text("0x1002\n")
    (device / "class").write_text("0x030000\n")
    found = amd.probe(tmp_path, {})
    assert not found.has_gpu and not found.kfd and found.pci_amd == 1


def test_a_machine_without_amd_gpus_is_empty(tmp_path: Path) -> None:
    found = amd.probe(tmp_path, {})
    assert not found.has_gpu and found.pci_amd is None
