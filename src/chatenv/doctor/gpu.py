"""The gpu section: the NVIDIA driver and every GPU, through NVML (`system/nvml.probe`).

A machine without an NVIDIA GPU is not a failure: it is reported as a skip. What is worth a
warning is a GPU that cannot be used: on the PCI bus but without a driver, a driver that is not
loaded, a device node the user may not open, a container that has NVML but no libcuda. A driver
upgraded under a running kernel module (NVML's version mismatch) is a failure: nothing CUDA
works until the reboot.

CUDA_VISIBLE_DEVICES is read as the CUDA runtime reads it (CUDA Programming Guide, "CUDA
Environment Variables"): a comma-separated list of indices, GPU UUIDs (or unique prefixes of
them) and MIG device UUIDs, cut at the first entry that matches nothing. Its indices count GPUs
in CUDA's order, which is nvidia-smi's (PCI bus order) only with CUDA_DEVICE_ORDER=PCI_BUS_ID;
the default, FASTEST_FIRST, puts the fastest GPU first by a heuristic CUDA does not specify.
So on a machine with different GPUs an index names a GPU only under PCI_BUS_ID, and doctor says
so instead of guessing.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatenv.problems import problem
from chatenv.results import CheckResult, Status
from chatenv.system.cuda_devices import cuda_visible
from chatenv.system.nvml import ProbeState

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.doctor.context import Context
    from chatenv.system.nvml import DriverInfo, GpuInfo, GpuProbe, MigDevice

GIB = 1024**3
NVIDIA_PCI_VENDOR = "0x10de"
#: Warn when a GPU has less than this much memory free and under a tenth of it.
LOW_FREE_BYTES = 2 * GIB


@dataclass(frozen=True)
class GpuFacts:
    probe: GpuProbe
    system: str  # "Linux", "Darwin", "Windows"
    #: NVIDIA display / 3D controllers on the PCI bus; None where that cannot be read
    pci_nvidia: int | None
    container: str | None
    wsl: bool
    #: CUDA_VISIBLE_DEVICES as set (None: not set)
    visible_devices: str | None
    #: CUDA_DEVICE_ORDER as set (None: not set, CUDA's FASTEST_FIRST)
    device_order: str | None = None


def pci_nvidia_gpus(root: Path) -> int | None:
    """Count NVIDIA GPUs on the PCI bus from sysfs (Linux): no driver is needed to see them."""
    devices = root / "sys/bus/pci/devices"
    try:
        entries = list(devices.iterdir())
    except OSError:
        return None
    count = 0
    for entry in entries:
        try:
            vendor = (entry / "vendor").read_text().strip().lower()
            if vendor != NVIDIA_PCI_VENDOR:
                continue
            # class 0x03xxxx: display controllers (VGA 0x0300, 3D controller 0x0302)
            if (entry / "class").read_text().strip().lower().startswith("0x03"):
                count += 1
        except OSError:
            continue
    return count


def observe(ctx: Context) -> GpuFacts:
    found = ctx.gpus
    root = ctx.seams.root
    return GpuFacts(
        probe=found,
        system=platform.system(),
        pci_nvidia=pci_nvidia_gpus(root) if found.state is not ProbeState.OK else None,
        container=ctx.host.container,
        wsl=ctx.host.wsl,
        visible_devices=ctx.environ.get("CUDA_VISIBLE_DEVICES"),
        device_order=ctx.environ.get("CUDA_DEVICE_ORDER"),
    )


def check_driver(facts: GpuFacts) -> CheckResult:
    found = facts.probe
    data = {"probe": found.to_json(), "pci_nvidia": facts.pci_nvidia}
    details = [f"NVML: {found.error}"] if found.error else []
    state = found.state
    seen_on_bus = bool(facts.pci_nvidia)
    if state is ProbeState.OK and found.driver is not None:
        return _driver_ok(facts, found.driver, details, data)
    if state is ProbeState.VERSION_MISMATCH:
        return problem("gpu.version-mismatch").check(
            Status.FAIL, "gpu.driver", details=details, data=data
        )
    if state is ProbeState.NO_PERMISSION:
        return problem("gpu.no-permission").check(
            Status.WARN, "gpu.driver", details=details, data=data
        )
    if state is ProbeState.ERROR:
        return problem("gpu.nvml-error").check(
            Status.WARN, "gpu.driver", details=details, data=data, error=found.error or "unknown"
        )
    # NO_LIBRARY, NO_DRIVER, NO_DEVICE: is there a GPU this machine is not using?
    if facts.system == "Darwin":
        return CheckResult.skip(
            "gpu.driver",
            "macOS: no NVIDIA/CUDA support; PyTorch uses Apple's Metal (MPS) backend instead",
            details=details,
            data=data,
        )
    if seen_on_bus:
        return _unused_gpu(facts, state, details, data)
    if facts.wsl and state is ProbeState.NO_LIBRARY:
        return problem("gpu.wsl-without-gpu").check(
            Status.SKIP, "gpu.driver", details=details, data=data
        )
    if facts.container and state is ProbeState.NO_LIBRARY:
        details.append(
            f"in a {facts.container} container: a GPU on the host is only visible when the "
            "container is started with GPU access"
        )
    summary = {
        ProbeState.NO_LIBRARY: "no NVIDIA driver: a CPU-only machine (local models run on the CPU)",
        ProbeState.NO_DRIVER: "NVIDIA driver libraries present but no NVIDIA GPU in use: CPU only",
        ProbeState.NO_DEVICE: "NVIDIA driver loaded but it reports no GPU: CPU only",
    }[state]
    return CheckResult.skip("gpu.driver", summary, details=details, data=data)


def _driver_ok(
    facts: GpuFacts, driver: DriverInfo, details: list[str], data: dict[str, Any]
) -> CheckResult:
    gpus = facts.probe.gpus
    count = f"{len(gpus)} GPU{'s' if len(gpus) != 1 else ''}"
    if driver.libcuda is False:
        details.append(
            "NVML answers (nvidia-smi works) but nvmlSystemGetCudaDriverVersion_v2 finds no "
            "libcuda.so.1; without it torch.cuda.is_available() is False"
        )
        if facts.container:
            return problem("gpu.no-libcuda-container").check(
                Status.WARN, "gpu.driver", details=details, data=data, version=driver.version
            )
        return problem("gpu.no-libcuda").check(
            Status.WARN,
            "gpu.driver",
            details=details,
            data=data,
            version=driver.version,
            branch=driver.version.partition(".")[0],
        )
    cuda = driver.cuda
    supports = f"supports CUDA up to {cuda}" if cuda else "its CUDA version is unknown"
    if driver.forward_compat:
        supports += " through forward compatibility"
        details.append(
            f"forward compatibility: the loaded libcuda is CUDA {cuda} (NVIDIA's cuda-compat "
            f"package), newer than the R{driver.version.partition('.')[0]} driver's own CUDA "
            f"{driver.branch_cuda}; chatenv trusts the reported CUDA version"
        )
        if any(g.name and "GeForce" in g.name for g in gpus):
            details.append(
                "forward compatibility works on datacenter GPUs only: on a GeForce card CUDA "
                "fails with CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE"
            )
    return CheckResult.ok(
        "gpu.driver",
        f"NVIDIA driver {driver.version}, {supports}; {count}",
        details=details,
        data=data,
    )


def _unused_gpu(
    facts: GpuFacts, state: ProbeState, details: list[str], data: dict[str, Any]
) -> CheckResult:
    """NVIDIA GPUs on the PCI bus that NVML cannot use: why, and what to do about it."""
    n = facts.pci_nvidia or 0
    gpus = f"{n} NVIDIA GPU{'s' if n != 1 else ''}"
    if facts.container == "kubernetes":
        what = _UNUSED[state]
        return problem("gpu.pod-without-gpu").check(
            Status.WARN, "gpu.driver", details=details, data=data, gpus=gpus, what=what
        )
    if facts.container is not None:
        what = _UNUSED[state]
        return problem("gpu.container-without-gpu").check(
            Status.WARN, "gpu.driver", details=details, data=data, gpus=gpus, what=what
        )
    if state is ProbeState.NO_DRIVER:
        return problem("gpu.driver-not-loaded").check(
            Status.WARN, "gpu.driver", details=details, data=data, gpus=gpus
        )
    if state is ProbeState.NO_DEVICE:
        return problem("gpu.driver-sees-no-gpu").check(
            Status.WARN, "gpu.driver", details=details, data=data, gpus=gpus
        )
    return problem("gpu.driver-missing").check(
        Status.WARN, "gpu.driver", details=details, data=data, gpus=gpus
    )


#: the end of the line for a GPU in a container that NVML cannot use (outside a container each
#: state is its own problem, with its own words)
_UNUSED = {
    ProbeState.NO_LIBRARY: "but no NVIDIA driver is installed",
    ProbeState.NO_DRIVER: "but the NVIDIA kernel driver is not loaded",
    ProbeState.NO_DEVICE: "but the NVIDIA driver reports no GPU",
}


def _gib(value: int) -> str:
    return f"{value / GIB:.1f}"


def _mig_line(mig: MigDevice) -> str:
    memory = (
        f"{_gib(mig.memory_free)} of {_gib(mig.memory_total)} GiB free"
        if mig.memory_total is not None and mig.memory_free is not None
        else "memory n/a"
    )
    return f"MIG {mig.profile or 'device'} {mig.uuid or '(uuid n/a)'}: {memory}"


def _gpu_summary(gpu: GpuInfo) -> str:
    parts = [f"GPU {gpu.index}: {gpu.name or 'name n/a'}"]
    if gpu.mig_enabled:
        # What CUDA programs see of a MIG-mode GPU are its MIG devices, not the whole GPU.
        profiles = ", ".join(m.profile or "?" for m in gpu.mig_devices)
        n = len(gpu.mig_devices)
        parts.append(
            f"MIG on: {n} MIG device{'s' if n != 1 else ''} ({profiles})" if n else "MIG on"
        )
    elif gpu.memory_total is not None and gpu.memory_free is not None:
        parts.append(f"{_gib(gpu.memory_free)} of {_gib(gpu.memory_total)} GiB free")
    else:
        parts.append("memory n/a")
    cc = gpu.compute_capability
    parts.append(f"compute {cc[0]}.{cc[1]} ({gpu.sm})" if cc else "compute capability n/a")
    return ", ".join(parts)


def check_gpu(gpu: GpuInfo) -> CheckResult:
    summary = _gpu_summary(gpu)
    details = [f"UUID: {gpu.uuid or 'n/a'}"]
    details.extend(_mig_line(m) for m in gpu.mig_devices)
    details.extend(f"n/a: {reason}" for reason in gpu.unavailable)
    if gpu.mig_enabled:
        details.append(
            "MIG mode on: CUDA programs see MIG devices, not the whole GPU "
            "(list them with nvidia-smi -L; pick one with CUDA_VISIBLE_DEVICES=MIG-<uuid>)"
        )
    data = gpu.to_json()
    if (
        gpu.mig_enabled is not None
        and gpu.mig_pending is not None
        and gpu.mig_enabled != gpu.mig_pending
    ):
        return problem("gpu.mig-pending").check(
            Status.WARN,
            f"gpu.{gpu.index}",
            details=details,
            data=data,
            summary=summary,
            mode="on" if gpu.mig_pending else "off",
            index=gpu.index,
        )
    if gpu.mig_enabled and not gpu.mig_devices:
        return problem("gpu.mig-no-devices").check(
            Status.WARN,
            f"gpu.{gpu.index}",
            details=details,
            data=data,
            summary=summary,
            index=gpu.index,
        )
    if (
        not gpu.mig_enabled
        and gpu.memory_total
        and gpu.memory_free is not None
        and gpu.memory_free < LOW_FREE_BYTES
        and gpu.memory_free < gpu.memory_total / 10
    ):
        return problem("gpu.memory-taken").check(
            Status.WARN, f"gpu.{gpu.index}", details=details, data=data, summary=summary
        )
    return CheckResult.ok(f"gpu.{gpu.index}", summary, details=details, data=data)


def check_visible_devices(
    value: str | None, gpus: tuple[GpuInfo, ...], device_order: str | None = None
) -> CheckResult | None:
    if value is None or not gpus:
        return None
    found = cuda_visible(value, gpus, device_order)
    data = {
        "CUDA_VISIBLE_DEVICES": value,
        "CUDA_DEVICE_ORDER": device_order,
        "visible": found.gpus,
        "mig": [d.mig.uuid for d in found.devices if d.mig is not None],
        "ambiguous": found.ambiguous or found.prefix_doubt,
    }
    if not found.devices:
        return problem("gpu.all-hidden").check(Status.WARN, "gpu.visible", data=data, value=value)
    details = [d.describe() for d in found.devices]
    if found.ambiguous:
        return problem("gpu.visible-order-ambiguous").check(
            Status.WARN,
            "gpu.visible",
            details=[*details, found.ambiguous],
            data=data,
            value=value,
        )
    if found.prefix_doubt:
        return problem("gpu.visible-prefix-ambiguous").check(
            Status.WARN,
            "gpu.visible",
            details=details,
            data=data,
            value=value,
            why=found.prefix_doubt,
        )
    n = len(found.devices)
    known = [str(i) for i in found.gpus if i is not None]
    where = f" (NVML index {', '.join(known)})" if known else ""
    return CheckResult.ok(
        "gpu.visible",
        f"CUDA_VISIBLE_DEVICES={value!r}: CUDA programs see {n} of {len(gpus)} "
        f"GPU{'s' if len(gpus) != 1 else ''}{where}",
        details=details,
        data=data,
    )


def check_gpus(facts: GpuFacts) -> list[CheckResult]:
    results = [check_driver(facts)]
    results.extend(check_gpu(g) for g in facts.probe.gpus)
    visible = check_visible_devices(facts.visible_devices, facts.probe.gpus, facts.device_order)
    if visible:
        results.append(visible)
    return results


def collect(ctx: Context) -> list[CheckResult]:
    return check_gpus(observe(ctx))
