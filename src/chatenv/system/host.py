"""What kind of machine this is, read from files under a root (so tests can hand in a tree):
OS, architecture, CPUs, memory, and whether it is a container or WSL. doctor's platform and GPU
sections both read it (through the run's context, once)."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


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


def observe(root: Path = Path("/"), environ: Mapping[str, str] | None = None) -> PlatformFacts:
    environ = os.environ if environ is None else environ
    uname = platform.uname()
    return PlatformFacts(
        system=uname.system,
        release=uname.release,
        machine=uname.machine,
        distro=_os_release(root),
        cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        ram_bytes=_ram_bytes(root),
        container=_container(root, environ),
        wsl="microsoft" in uname.release.lower() or bool(environ.get("WSL_DISTRO_NAME")),
    )


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
