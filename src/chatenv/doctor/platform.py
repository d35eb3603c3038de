"""The platform section: OS, architecture, CPUs, memory; containers and WSL noticed."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv.problems import problem
from chatenv.results import CheckResult, Status

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chatenv.doctor.runner import DoctorOptions

GIB = 1024**3
#: Below this much RAM, loading even small local models is a struggle.
LOW_RAM_BYTES = 4 * GIB


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


def check_platform(facts: PlatformFacts) -> list[CheckResult]:
    os_name = facts.distro or f"{facts.system} {facts.release}"
    where = []
    if facts.container:
        where.append(f"in a {facts.container} container")
    if facts.wsl:
        where.append("under WSL")
    summary = f"{os_name} on {facts.machine}" + (f", {' and '.join(where)}" if where else "")
    details = [f"kernel: {facts.system} {facts.release}"]
    if facts.wsl:
        details.append(
            "WSL: GPUs reach Linux through the Windows driver; do not install a "
            "Linux NVIDIA driver inside WSL"
        )
    results = [
        CheckResult.ok(
            "platform.os",
            summary,
            details=details,
            data={
                "system": facts.system,
                "release": facts.release,
                "machine": facts.machine,
                "distro": facts.distro,
                "container": facts.container,
                "wsl": facts.wsl,
            },
        )
    ]
    cpus = facts.cpus if facts.cpus is not None else "unknown"
    if facts.ram_bytes is None:
        results.append(
            CheckResult.ok(
                "platform.resources",
                f"{cpus} CPUs, RAM unknown",
                data={"cpus": facts.cpus, "ram_bytes": None},
            )
        )
    else:
        ram = f"{facts.ram_bytes / GIB:.1f} GiB RAM"
        data = {"cpus": facts.cpus, "ram_bytes": facts.ram_bytes}
        if facts.ram_bytes < LOW_RAM_BYTES:
            results.append(
                problem("platform.low-ram").check(
                    Status.WARN, "platform.resources", data=data, cpus=cpus, ram=ram
                )
            )
        else:
            results.append(CheckResult.ok("platform.resources", f"{cpus} CPUs, {ram}", data=data))
    return results


def collect(options: DoctorOptions) -> list[CheckResult]:
    return check_platform(observe(environ=options.environ))
