"""The gpu section: the NVIDIA driver and every GPU, through NVML (`system/nvml.probe`).

A machine without an NVIDIA GPU is not a failure: it is reported as a skip. What is worth a
warning is a GPU that cannot be used: on the PCI bus but without a driver, a driver that is not
loaded, a device node the user may not open. A driver upgraded under a running kernel module
(NVML's version mismatch) is a failure: nothing CUDA works until the reboot.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

from chatenv.doctor import platform as platform_section
from chatenv.doctor.runner import DoctorOptions
from chatenv.results import CheckResult
from chatenv.system.nvml import GpuInfo, GpuProbe, ProbeState, probe

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


def gpu_probe(options: DoctorOptions) -> GpuProbe:
    """The NVML probe every section of one run shares (gpu, torch build, deep)."""
    return options.shared.get("nvml", lambda: probe(options.seams.nvml))


def observe(options: DoctorOptions) -> GpuFacts:
    found = gpu_probe(options)
    root = options.seams.root
    plat = platform_section.observe(root, options.environ)
    return GpuFacts(
        probe=found,
        system=platform.system(),
        pci_nvidia=pci_nvidia_gpus(root) if found.state is not ProbeState.OK else None,
        container=plat.container,
        wsl=plat.wsl,
        visible_devices=options.environ.get("CUDA_VISIBLE_DEVICES"),
    )


def _container_fix(container: str | None) -> str | None:
    if container is None:
        return None
    if container == "kubernetes":
        return "request the GPU in the pod spec (resources.limits: nvidia.com/gpu: 1)"
    return (
        "start the container with GPU access: docker run --gpus all ...  (NVIDIA Container Toolkit)"
    )


def check_driver(facts: GpuFacts) -> CheckResult:
    found = facts.probe
    data = {"probe": found.to_json(), "pci_nvidia": facts.pci_nvidia}
    details = [f"NVML: {found.error}"] if found.error else []
    state = found.state
    seen_on_bus = bool(facts.pci_nvidia)
    if state is ProbeState.OK and found.driver is not None:
        cuda = found.driver.cuda
        supports = f"supports CUDA up to {cuda}" if cuda else "its CUDA version is unknown"
        return CheckResult.ok(
            "gpu.driver",
            f"NVIDIA driver {found.driver.version}, {supports}; "
            f"{len(found.gpus)} GPU{'s' if len(found.gpus) != 1 else ''}",
            details=details,
            data=data,
        )
    if state is ProbeState.VERSION_MISMATCH:
        return CheckResult.fail(
            "gpu.driver",
            "NVIDIA driver/library version mismatch: the driver was upgraded but the old kernel "
            "module is still loaded, so no CUDA program can start",
            details=details,
            data=data,
            fix="sudo reboot  # loads the upgraded driver's kernel module",
        )
    if state is ProbeState.NO_PERMISSION:
        return CheckResult.warn(
            "gpu.driver",
            "not allowed to talk to the NVIDIA driver (no permission on /dev/nvidia*)",
            details=details,
            data=data,
            fix="ls -l /dev/nvidia*  # add your user to the group that owns them, log in again",
        )
    if state is ProbeState.ERROR:
        return CheckResult.warn(
            "gpu.driver",
            f"NVML answered with an error: {found.error or 'unknown'}",
            details=details,
            data=data,
            fix="nvidia-smi  # does the driver itself answer?",
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
        n = facts.pci_nvidia
        what = {
            ProbeState.NO_LIBRARY: "but no NVIDIA driver is installed",
            ProbeState.NO_DRIVER: "but the NVIDIA kernel driver is not loaded",
            ProbeState.NO_DEVICE: "but the NVIDIA driver reports no GPU",
        }[state]
        fix = _container_fix(facts.container) or (
            "sudo modprobe nvidia  # or reboot; with Secure Boot the module must be signed"
            if state is ProbeState.NO_DRIVER
            else "install the NVIDIA driver (Ubuntu: sudo ubuntu-drivers install), then reboot"
        )
        return CheckResult.warn(
            "gpu.driver",
            f"{n} NVIDIA GPU{'s' if n != 1 else ''} on the PCI bus, {what}",
            details=details,
            data=data,
            fix=fix,
        )
    if facts.wsl and state is ProbeState.NO_LIBRARY:
        return CheckResult.skip(
            "gpu.driver",
            "WSL without NVIDIA GPU access (no libnvidia-ml in /usr/lib/wsl/lib)",
            details=details,
            data=data,
            fix="install the NVIDIA driver on Windows (not inside WSL), then: wsl --shutdown",
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


def _gib(value: int) -> str:
    return f"{value / GIB:.1f}"


def check_gpu(gpu: GpuInfo) -> CheckResult:
    parts = [f"GPU {gpu.index}: {gpu.name or 'name n/a'}"]
    if gpu.memory_total is not None and gpu.memory_free is not None:
        parts.append(f"{_gib(gpu.memory_free)} of {_gib(gpu.memory_total)} GiB free")
    else:
        parts.append("memory n/a")
    cc = gpu.compute_capability
    parts.append(f"compute {cc[0]}.{cc[1]} ({gpu.sm})" if cc else "compute capability n/a")
    if gpu.mig_enabled:
        parts.append("MIG on")
    summary = ", ".join(parts)
    details = [f"UUID: {gpu.uuid or 'n/a'}"]
    details.extend(f"n/a: {reason}" for reason in gpu.unavailable)
    if gpu.mig_enabled:
        details.append(
            "MIG mode on: CUDA programs see MIG instances, not the whole GPU "
            "(list them with nvidia-smi -L; pick one with CUDA_VISIBLE_DEVICES=MIG-<uuid>)"
        )
    data = gpu.to_json()
    if (
        gpu.mig_enabled is not None
        and gpu.mig_pending is not None
        and gpu.mig_enabled != gpu.mig_pending
    ):
        return CheckResult.warn(
            f"gpu.{gpu.index}",
            f"{summary}; MIG mode change to {'on' if gpu.mig_pending else 'off'} is pending",
            details=details,
            data=data,
            fix=f"sudo nvidia-smi -i {gpu.index} -r  # reset the GPU to apply it (or reboot)",
        )
    if (
        gpu.memory_total
        and gpu.memory_free is not None
        and gpu.memory_free < LOW_FREE_BYTES
        and gpu.memory_free < gpu.memory_total / 10
    ):
        return CheckResult.warn(
            f"gpu.{gpu.index}",
            f"{summary}: other processes hold almost all of its memory",
            details=details,
            data=data,
            fix="nvidia-smi  # lists the processes using GPU memory",
        )
    return CheckResult.ok(f"gpu.{gpu.index}", summary, details=details, data=data)


def visible_indices(value: str, gpus: tuple[GpuInfo, ...]) -> list[int]:
    """The GPUs CUDA_VISIBLE_DEVICES lets CUDA programs use, as the CUDA runtime reads it:
    a comma-separated list of indices or UUID prefixes, cut at the first entry that matches
    no GPU ("" and "-1" hide them all)."""
    visible: list[int] = []
    for raw in value.split(","):
        entry = raw.strip()
        match: int | None = None
        if entry.isdigit():
            index = int(entry)
            match = index if index < len(gpus) else None
        elif entry.startswith("GPU-"):
            match = next((g.index for g in gpus if g.uuid and g.uuid.startswith(entry)), None)
        elif entry.startswith("MIG-"):
            # A MIG instance's UUID is not its GPU's: count it against the first MIG-mode GPU.
            match = next((g.index for g in gpus if g.mig_enabled), None)
        if match is None or match in visible:
            break
        visible.append(match)
    return visible


def check_visible_devices(value: str | None, gpus: tuple[GpuInfo, ...]) -> CheckResult | None:
    if value is None or not gpus:
        return None
    visible = visible_indices(value, gpus)
    data = {"CUDA_VISIBLE_DEVICES": value, "visible": visible}
    if not visible:
        return CheckResult.warn(
            "gpu.visible",
            f"CUDA_VISIBLE_DEVICES={value!r} hides every GPU from torch and other CUDA programs",
            data=data,
            fix="unset CUDA_VISIBLE_DEVICES",
        )
    return CheckResult.ok(
        "gpu.visible",
        f"CUDA_VISIBLE_DEVICES={value!r}: CUDA programs see {len(visible)} of {len(gpus)} GPUs "
        f"(NVML index {', '.join(map(str, visible))})",
        data=data,
    )


def check_gpus(facts: GpuFacts) -> list[CheckResult]:
    results = [check_driver(facts)]
    results.extend(check_gpu(g) for g in facts.probe.gpus)
    visible = check_visible_devices(facts.visible_devices, facts.probe.gpus)
    if visible:
        results.append(visible)
    return results


def collect(options: DoctorOptions) -> list[CheckResult]:
    return check_gpus(observe(options))
