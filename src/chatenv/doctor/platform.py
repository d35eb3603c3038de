"""The platform section: OS, architecture, CPUs, memory; containers and WSL noticed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.problems import problem
from chatenv.results import CheckResult, Status

if TYPE_CHECKING:
    from chatenv.doctor.context import Context
    from chatenv.system.host import PlatformFacts

GIB = 1024**3
#: Below this much RAM, loading even small local models is a struggle.
LOW_RAM_BYTES = 4 * GIB


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


def collect(ctx: Context) -> list[CheckResult]:
    return check_platform(ctx.host)
