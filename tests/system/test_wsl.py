"""The Windows driver's libraries under /usr/lib/wsl/lib, and a Linux driver that shadows them,
read from recorded WSL 2 layouts (tests/machines/linux.py)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from chatenv.system import wsl
from tests.machines import linux

if TYPE_CHECKING:
    from pathlib import Path


def test_a_working_wsl2_has_the_windows_drivers_libcuda_and_dxg(tmp_path: Path) -> None:
    found = wsl.observe(linux.wsl2(tmp_path))
    assert found.windows_driver and found.dxg
    assert "/usr/lib/wsl/lib/libcuda.so.1" in found.libcuda
    assert not found.linux_driver


def test_without_a_windows_driver_there_is_no_libcuda(tmp_path: Path) -> None:
    found = wsl.observe(linux.wsl2(tmp_path, windows_driver=False))
    assert not found.windows_driver and found.dxg


def test_a_linux_driver_inside_wsl_is_found_with_its_packages(tmp_path: Path) -> None:
    found = wsl.observe(linux.linux_driver_inside_wsl(linux.wsl2(tmp_path)))
    assert found.linux_driver_files == (
        "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
        "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1",
    )
    # dpkg's list files carry an architecture suffix; unrelated packages are left out
    assert found.linux_driver_packages == ("libnvidia-compute-535", "nvidia-driver-535")


def test_links_into_usr_lib_wsl_are_not_a_linux_driver(tmp_path: Path) -> None:
    """Some setups link the system folder's libcuda to WSL's: that is the Windows driver."""
    root = linux.wsl2(tmp_path)
    lib = tmp_path / "usr/lib/x86_64-linux-gnu"
    lib.mkdir(parents=True)
    os.symlink("/usr/lib/wsl/lib/libcuda.so.1", lib / "libcuda.so.1")
    assert not wsl.observe(root).linux_driver
