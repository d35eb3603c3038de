"""The platform section: a Linux box, WSL, and a Mac through the recorded answers of real Macs
(`platform` and `sysctl`, tests/machines/apple.py); nothing here runs macOS."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from chatenv.doctor import platform
from chatenv.doctor.context import Context, DoctorOptions, Seams
from chatenv.results import Status
from chatenv.system.host import Uname
from tests.machines import apple as mac
from tests.machines import linux

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.results import CheckResult


def collect(
    root: Path, uname: Uname, run: mac.SysctlRunner | None = None
) -> dict[str, CheckResult]:
    seams = Seams(root=root, uname=uname, run=run)
    return {r.id: r for r in platform.collect(Context(DoctorOptions(environ={}, seams=seams)))}


def test_an_m2_pro_shows_chip_cores_and_unified_memory(tmp_path: Path) -> None:
    results = collect(tmp_path, mac.NATIVE, mac.SysctlRunner(mac.M2_PRO))
    assert results["platform.os"].summary == "macOS 14.4.1 on Apple M2 Pro (arm64 Python)"
    resources = results["platform.resources"]
    assert resources.summary == "12 CPUs, 16.0 GiB unified memory"
    assert resources.details == ("8 performance + 4 efficiency cores",)
    assert "platform.rosetta" not in results


def test_an_x86_64_python_on_apple_silicon_warns_with_an_arm64_python(tmp_path: Path) -> None:
    results = collect(tmp_path, mac.ROSETTA, mac.SysctlRunner(mac.M2_PRO_UNDER_ROSETTA))
    rosetta = results["platform.rosetta"]
    assert rosetta.status is Status.WARN
    assert rosetta.summary.startswith("an x86_64 Python on Apple silicon (Apple M2 Pro)")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert rosetta.fix is not None
    assert rosetta.fix.startswith(f"uv venv --python cpython-{version}-macos-aarch64-none .venv")
    # the real macOS, and what the translated Python believes
    assert results["platform.os"].summary.startswith("macOS 14.4.1 on Apple M2 Pro (x86_64 Python)")
    assert "this Python believes it runs macOS 10.16" in results["platform.os"].details


def test_an_intel_mac_shows_ram_not_unified_memory(tmp_path: Path) -> None:
    run = mac.SysctlRunner(mac.INTEL_MAC, mac.INTEL_MAC_STDERR, 1)
    results = collect(tmp_path, mac.INTEL, run)
    assert results["platform.resources"].summary.endswith("16.0 GiB RAM")
    assert "platform.rosetta" not in results


def test_a_macos_vm_says_so(tmp_path: Path) -> None:
    results = collect(tmp_path, mac.NATIVE, mac.SysctlRunner(mac.VIRTUAL_MAC))
    assert "model: VirtualMac2,1 (a virtual machine)" in results["platform.os"].details


def test_wsl2_is_named_with_its_version(tmp_path: Path) -> None:
    linux.write(tmp_path, "etc/os-release", 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\n')
    results = collect(linux.wsl2(tmp_path), Uname("Linux", linux.WSL2_KERNEL, "x86_64"))
    assert results["platform.os"].summary == "Ubuntu 22.04.4 LTS on x86_64, under WSL 2"
    assert results["platform.os"].data["wsl_version"] == 2
