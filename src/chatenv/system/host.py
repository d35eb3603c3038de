"""What kind of machine this is, read from files under a root (so tests can hand in a tree) and
from what `platform` says (`Uname`, a seam too: tests hand in a Mac's answers): OS,
architecture, CPUs, memory, and whether it is a container or WSL (1 or 2). doctor's platform and
GPU sections both read it (through the run's context, once)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv.records import dataclass
from chatenv.system import uname

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class Uname:
    """What `platform` says about the OS this interpreter runs on."""

    system: str  # "Linux", "Darwin", "Windows"
    release: str
    machine: str  # this interpreter's architecture: an x86_64 Python under Rosetta says x86_64
    #: platform.mac_ver() on macOS ("14.4.1"); an x86_64 Python built for old macOS says "10.16"
    mac_version: str = ""


def this_uname() -> Uname:
    system = uname.system()
    if system == "Darwin":
        import platform

        mac = platform.mac_ver()[0]
    else:
        mac = ""
    return Uname(system, uname.release(), uname.machine(), mac)


@dataclass(frozen=True)
class PlatformFacts:
    system: str  # "Linux", "Darwin", "Windows"
    release: str
    machine: str  # "x86_64", "arm64", ...
    distro: str | None  # PRETTY_NAME from /etc/os-release
    cpus: int | None
    ram_bytes: int | None
    container: str | None  # "docker", "podman", "kubernetes", ... or None
    wsl: bool
    #: 1 or 2 under WSL (only WSL 2 reaches the GPU), None outside it
    wsl_version: int | None = None
    mac_version: str = ""


def observe(
    root: Path = Path("/"),
    environ: Mapping[str, str] | None = None,
    uname: Uname | None = None,
) -> PlatformFacts:
    environ = os.environ if environ is None else environ
    uname = uname or this_uname()
    # The kernel's own answer under the root first: a tree handed in by a test says WSL or not
    kernel = (_read(root / "proc/sys/kernel/osrelease") or uname.release).strip()
    wsl = "microsoft" in kernel.lower() or bool(environ.get("WSL_DISTRO_NAME"))
    return PlatformFacts(
        system=uname.system,
        release=uname.release,
        machine=uname.machine,
        distro=_os_release(root),
        cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        ram_bytes=_ram_bytes(root),
        container=_container(root, environ),
        wsl=wsl,
        wsl_version=wsl_version(kernel) if wsl else None,
        mac_version=uname.mac_version,
    )


def wsl_version(kernel_release: str) -> int:
    """WSL 2 runs Microsoft's Linux kernel ("5.15.153.1-microsoft-standard-WSL2"); WSL 1 has no
    Linux kernel and reports a Windows build ("4.4.0-19041-Microsoft", capital M)."""
    lower = kernel_release.lower()
    return 2 if "wsl2" in lower or "microsoft-standard" in lower else 1


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def _os_release(root: Path) -> str | None:
    text = _read(root / "etc/os-release")
    for line in (text or "").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip().strip('"') or None
    return None


def _ram_bytes(root: Path) -> int | None:
    text = _read(root / "proc/meminfo")
    for line in (text or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _container(root: Path, environ: Mapping[str, str]) -> str | None:
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return "kubernetes"
    if (root / ".dockerenv").exists():
        return "docker"
    if (root / "run/.containerenv").exists():
        return "podman"
    cgroup = _read(root / "proc/1/cgroup") or ""
    for name in ("docker", "kubepods", "containerd", "lxc"):
        if name in cgroup:
            return "kubernetes" if name == "kubepods" else name
    return None
