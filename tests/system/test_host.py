"""What kind of machine this is, from a tree under a root and `platform`'s answers (a seam):
WSL 1 and 2 from the kernel's own release, containers from their marker files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.system.host import Uname, observe, wsl_version
from tests.machines import linux

if TYPE_CHECKING:
    from pathlib import Path

LINUX = Uname("Linux", "6.8.0-45-generic", "x86_64")


def test_wsl2_is_told_by_the_kernel_release_under_the_root(tmp_path: Path) -> None:
    facts = observe(linux.wsl2(tmp_path), {}, LINUX)
    assert facts.wsl and facts.wsl_version == 2


def test_wsl1_reports_a_windows_build_as_its_kernel(tmp_path: Path) -> None:
    facts = observe(linux.wsl1(tmp_path), {}, LINUX)
    assert facts.wsl and facts.wsl_version == 1


def test_a_plain_linux_box_is_not_wsl(tmp_path: Path) -> None:
    linux.write(tmp_path, "proc/sys/kernel/osrelease", "6.8.0-45-generic\n")
    facts = observe(tmp_path, {}, LINUX)
    assert not facts.wsl and facts.wsl_version is None


def test_without_the_proc_file_the_uname_release_decides(tmp_path: Path) -> None:
    facts = observe(tmp_path, {}, Uname("Linux", linux.WSL2_KERNEL, "x86_64"))
    assert facts.wsl_version == 2


def test_older_wsl2_kernels_without_the_suffix_are_wsl2() -> None:
    assert wsl_version("4.19.104-microsoft-standard") == 2
    assert wsl_version("5.15.153.1-microsoft-standard-WSL2") == 2
    assert wsl_version("4.4.0-19041-Microsoft") == 1


def test_the_os_comes_from_the_uname_seam(tmp_path: Path) -> None:
    facts = observe(tmp_path, {}, Uname("Darwin", "23.4.0", "arm64", "14.4.1"))
    assert (facts.system, facts.machine, facts.mac_version) == ("Darwin", "arm64", "14.4.1")


def test_container_runtimes_are_told_by_their_markers(tmp_path: Path) -> None:
    assert observe(linux.docker(tmp_path / "d"), {}, LINUX).container == "docker"
    assert observe(linux.podman(tmp_path / "p"), {}, LINUX).container == "podman"
    pod = observe(tmp_path / "k", {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, LINUX)
    assert pod.container == "kubernetes"
