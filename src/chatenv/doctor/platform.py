"""The platform section: OS, architecture, CPUs, memory; containers and WSL noticed; on a Mac
the chip, its unified memory, and an x86_64 Python running under Rosetta."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from chatenv.problems import problem
from chatenv.results import CheckResult, Status

if TYPE_CHECKING:
    from chatenv.doctor.context import Context
    from chatenv.system.apple import AppleFacts
    from chatenv.system.host import PlatformFacts

GIB = 1024**3
#: Below this much RAM, loading even small local models is a struggle.
LOW_RAM_BYTES = 4 * GIB


def _os_name(facts: PlatformFacts, apple: AppleFacts | None) -> str:
    if apple is not None:
        return f"macOS {apple.macos or facts.mac_version or facts.release}"
    return facts.distro or f"{facts.system} {facts.release}"


def check_platform(facts: PlatformFacts, apple: AppleFacts | None = None) -> list[CheckResult]:
    os_name = _os_name(facts, apple)
    where = []
    if facts.container:
        where.append(f"in a {facts.container} container")
    if facts.wsl:
        where.append(f"under WSL {facts.wsl_version or ''}".rstrip())
    machine = f"{apple.chip} ({facts.machine} Python)" if apple and apple.chip else facts.machine
    summary = f"{os_name} on {machine}" + (f", {' and '.join(where)}" if where else "")
    details = [f"kernel: {facts.system} {facts.release}"]
    if apple is not None:
        details.extend(_mac_details(apple))
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
                "wsl_version": facts.wsl_version,
                "mac": apple.to_json() if apple else None,
            },
        )
    ]
    if apple is not None and apple.rosetta:
        results.append(
            problem("platform.rosetta-python").check(
                Status.WARN,
                "platform.rosetta",
                data=apple.to_json(),
                chip=apple.chip or "an Apple chip",
                version=f"{sys.version_info.major}.{sys.version_info.minor}",
            )
        )
    results.append(_resources(facts, apple))
    return results


def _mac_details(apple: AppleFacts) -> list[str]:
    lines = []
    if apple.model:
        vm = " (a virtual machine)" if apple.virtual_machine else ""
        lines.append(f"model: {apple.model}{vm}")
    if apple.python_macos and apple.macos and apple.python_macos != apple.macos:
        lines.append(f"this Python believes it runs macOS {apple.python_macos}")
    if apple.error:
        lines.append(f"sysctl: {apple.error}")
    return lines


def _resources(facts: PlatformFacts, apple: AppleFacts | None) -> CheckResult:
    cpus: object = facts.cpus if facts.cpus is not None else "unknown"
    details = []
    if apple and apple.performance_cores and apple.efficiency_cores:
        cpus = apple.performance_cores + apple.efficiency_cores
        details.append(
            f"{apple.performance_cores} performance + {apple.efficiency_cores} efficiency cores"
        )
    ram_bytes = apple.memory_bytes if apple and apple.memory_bytes else facts.ram_bytes
    # Apple silicon's memory is its GPU's too: what a model on MPS can use
    kind = "unified memory" if apple and apple.apple_silicon else "RAM"
    if ram_bytes is None:
        return CheckResult.ok(
            "platform.resources",
            f"{cpus} CPUs, RAM unknown",
            details=details,
            data={"cpus": facts.cpus, "ram_bytes": None},
        )
    ram = f"{ram_bytes / GIB:.1f} GiB {kind}"
    data = {"cpus": facts.cpus, "ram_bytes": ram_bytes}
    if ram_bytes < LOW_RAM_BYTES:
        return problem("platform.low-ram").check(
            Status.WARN, "platform.resources", details=details, data=data, cpus=cpus, ram=ram
        )
    return CheckResult.ok("platform.resources", f"{cpus} CPUs, {ram}", details=details, data=data)


def collect(ctx: Context) -> list[CheckResult]:
    return check_platform(ctx.host, ctx.apple)
