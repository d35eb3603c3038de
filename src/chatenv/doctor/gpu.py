"""The gpu section: the NVIDIA driver and every GPU, through NVML (`system/nvml.probe`); AMD
GPUs from the amdgpu driver's files (`system/amd`); a Mac's Apple GPU (`system/apple`).

A machine without a GPU is not a failure: it is reported as a skip. What is worth a warning is
a GPU that cannot be used: on the PCI bus but without a driver, a driver that is not loaded, a
device node the user may not open, a container that has NVML but no libcuda, a container started
without the GPU (the fix for the runtime it runs under: Docker and Compose, Podman's CDI,
Kubernetes' device plugin), a Linux NVIDIA driver inside WSL 2 that shadows the Windows one. A
driver upgraded under a running kernel module (NVML's version mismatch) is a failure: nothing
CUDA works until the reboot.

CUDA_VISIBLE_DEVICES is read as the CUDA runtime reads it (CUDA Programming Guide, "CUDA
Environment Variables"): a comma-separated list of indices, GPU UUIDs (or unique prefixes of
them) and MIG device UUIDs, cut at the first entry that matches nothing. Its indices count GPUs
in CUDA's order, which is nvidia-smi's (PCI bus order) only with CUDA_DEVICE_ORDER=PCI_BUS_ID;
the default, FASTEST_FIRST, puts the fastest GPU first by a heuristic CUDA does not specify.
So on a machine with different GPUs an index names a GPU only under PCI_BUS_ID, and doctor says
so instead of guessing.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from chatenv import torch_builds
from chatenv.problems import problem
from chatenv.records import dataclass, field
from chatenv.results import CheckResult, Status
from chatenv.system import wsl as wsl_files
from chatenv.system.amd import AmdProbe, pci_count
from chatenv.system.cuda_devices import cuda_visible
from chatenv.system.nvml import CudaVersion, ProbeState

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.doctor.context import Context
    from chatenv.system.amd import AmdGpu
    from chatenv.system.apple import AppleFacts
    from chatenv.system.nvml import DriverInfo, GpuInfo, GpuProbe, MigDevice
    from chatenv.system.wsl import WslGpu

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
    #: the NVIDIA Container Toolkit's variables, as the container sees them (None: not set)
    nvidia_visible: str | None = None
    driver_capabilities: str | None = None
    #: CUDA_VERSION, which CUDA images set to their toolkit's version ("12.4.1")
    image_cuda: str | None = None
    #: /dev/nvidia* device files (None: not read; only in containers)
    nvidia_devices: tuple[str, ...] | None = None
    wsl_version: int | None = None
    wsl_distro: str | None = None  # WSL_DISTRO_NAME
    wsl_gpu: WslGpu | None = None
    amd: AmdProbe = field(default_factory=AmdProbe)
    apple: AppleFacts | None = None


def nvidia_device_files(root: Path) -> tuple[str, ...]:
    try:
        return tuple(sorted(n for n in os.listdir(root / "dev") if n.startswith("nvidia")))
    except OSError:
        return ()


def observe(ctx: Context) -> GpuFacts:
    found = ctx.gpus
    root = ctx.seams.root
    host = ctx.host
    env = ctx.environ
    return GpuFacts(
        probe=found,
        system=host.system,
        pci_nvidia=pci_count(root, NVIDIA_PCI_VENDOR) if found.state is not ProbeState.OK else None,
        container=host.container,
        wsl=host.wsl,
        visible_devices=env.get("CUDA_VISIBLE_DEVICES"),
        device_order=env.get("CUDA_DEVICE_ORDER"),
        nvidia_visible=env.get("NVIDIA_VISIBLE_DEVICES"),
        driver_capabilities=env.get("NVIDIA_DRIVER_CAPABILITIES"),
        image_cuda=env.get("CUDA_VERSION"),
        nvidia_devices=nvidia_device_files(root) if host.container else None,
        wsl_version=host.wsl_version,
        wsl_distro=env.get("WSL_DISTRO_NAME"),
        wsl_gpu=wsl_files.observe(root) if host.wsl else None,
        amd=ctx.amd,
        apple=ctx.apple,
    )


def check_driver(facts: GpuFacts) -> CheckResult:
    found = facts.probe
    data: dict[str, Any] = {"probe": found.to_json(), "pci_nvidia": facts.pci_nvidia}
    details = [f"NVML: {found.error}"] if found.error else []
    state = found.state
    if facts.wsl_gpu is not None:
        data["wsl"] = facts.wsl_gpu.to_json()
    if facts.wsl_version == 1:
        return problem("gpu.wsl1").check(
            Status.SKIP, "gpu.driver", details=details, data=data, distro=_distro(facts)
        )
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
        return check_mac(facts.apple, details, data)
    if facts.container and (facts.pci_nvidia or _wanted_by_image(facts)):
        return _container_without_gpu(facts, state, details, data)
    if facts.pci_nvidia:
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
    if facts.amd.has_gpu:
        return CheckResult.skip(
            "gpu.driver", "no NVIDIA GPU (the AMD GPUs are below)", details=details, data=data
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
    if facts.wsl_gpu is not None and facts.wsl_gpu.windows_driver:
        details.append("through the Windows NVIDIA driver (WSL 2: /usr/lib/wsl/lib)")
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


def _distro(facts: GpuFacts) -> str:
    """WSL sets WSL_DISTRO_NAME in every distribution; the placeholder says where to look."""
    return facts.wsl_distro or "<distro name from: wsl --list --verbose>"


def _wanted_by_image(facts: GpuFacts) -> bool:
    """The image asks for GPUs (CUDA images set NVIDIA_VISIBLE_DEVICES=all): a GPU was meant to
    be passed in even where the host's PCI bus is not visible."""
    value = (facts.nvidia_visible or "").strip().lower()
    return value not in ("", "void", "none")


def _container_without_gpu(
    facts: GpuFacts, state: ProbeState, details: list[str], data: dict[str, Any]
) -> CheckResult:
    """A container started without the GPU: why, and the fix for the runtime it runs under."""
    n = facts.pci_nvidia or 0
    if n:
        gpus = f"{n} NVIDIA GPU{'s' if n != 1 else ''} on the PCI bus"
    else:
        gpus = f"this image expects a GPU (NVIDIA_VISIBLE_DEVICES={facts.nvidia_visible!r})"
    visible = facts.nvidia_visible
    if visible is not None and visible.strip().lower() in ("", "void", "none"):
        what = f"but it was started with NVIDIA_VISIBLE_DEVICES={visible!r}, which passes no GPU in"
    elif not facts.nvidia_devices:
        what = "but the container was started without GPU access (no /dev/nvidia* device files)"
    else:
        what = _UNUSED[state]
    data = {**data, "NVIDIA_VISIBLE_DEVICES": visible, "nvidia_devices": facts.nvidia_devices}
    if facts.container == "kubernetes":
        return problem("gpu.pod-without-gpu").check(
            Status.WARN, "gpu.driver", details=details, data=data, gpus=gpus, what=what
        )
    if facts.container == "podman":
        return problem("gpu.podman-without-gpu").check(
            Status.WARN, "gpu.driver", details=details, data=data, gpus=gpus, what=what
        )
    return problem("gpu.container-without-gpu").check(
        Status.WARN, "gpu.driver", details=details, data=data, gpus=gpus, what=what
    )


def _unused_gpu(
    facts: GpuFacts, state: ProbeState, details: list[str], data: dict[str, Any]
) -> CheckResult:
    """NVIDIA GPUs on the PCI bus that NVML cannot use (outside a container): why, and what to
    do about it."""
    n = facts.pci_nvidia or 0
    gpus = f"{n} NVIDIA GPU{'s' if n != 1 else ''}"
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


#: the end of the line for a GPU in a container that NVML cannot use although its device files
#: are there (outside a container each state is its own problem, with its own words)
_UNUSED = {
    ProbeState.NO_LIBRARY: "but no NVIDIA driver is installed",
    ProbeState.NO_DRIVER: "but the NVIDIA kernel driver is not loaded",
    ProbeState.NO_DEVICE: "but the NVIDIA driver reports no GPU",
}


def check_mac(apple: AppleFacts | None, details: list[str], data: dict[str, Any]) -> CheckResult:
    """A Mac has no NVIDIA/CUDA; Apple silicon's GPU is torch's `mps` device."""
    data = {**data, "mac": apple.to_json() if apple else None}
    if apple is None or not apple.apple_silicon:
        return CheckResult.skip(
            "gpu.driver",
            "an Intel Mac: no NVIDIA/CUDA support and no Apple GPU for torch (MPS is for Apple "
            "silicon); local models run on the CPU",
            details=details,
            data=data,
        )
    memory = f"{apple.memory_bytes / GIB:.1f} GiB" if apple.memory_bytes else "its"
    return CheckResult.ok(
        "gpu.driver",
        f"{apple.chip or 'Apple silicon'}: its GPU through Metal (torch's mps device), sharing "
        f"{memory} of unified memory with the CPU",
        details=[*details, "macOS: no NVIDIA/CUDA support; PyTorch uses Metal (MPS) instead"],
        data=data,
    )


# -- inside a container, with the GPU: what the NVIDIA Container Toolkit was asked for --------


def check_container(facts: GpuFacts) -> list[CheckResult]:
    found = facts.probe
    if not facts.container or found.state is not ProbeState.OK or found.driver is None:
        return []
    results = []
    caps = facts.driver_capabilities
    names = {c.strip().lower() for c in (caps or "").split(",") if c.strip()}
    if names and not names & {"compute", "all"}:
        results.append(
            problem("gpu.container-no-compute").check(
                Status.WARN,
                "gpu.container.capabilities",
                data={"NVIDIA_DRIVER_CAPABILITIES": caps},
                value=caps,
            )
        )
    cuda = check_image_cuda(facts.image_cuda, found)
    if cuda is not None:
        results.append(cuda)
    return results


def check_image_cuda(image_cuda: str | None, found: GpuProbe) -> CheckResult | None:
    """A CUDA image's toolkit against the host's driver: minor version compatibility covers a
    newer minor release of the same major, not a newer major."""
    driver = found.driver
    if not image_cuda or driver is None or driver.cuda is None:
        return None
    try:
        image = CudaVersion.parse(image_cuda)
    except ValueError:
        return None
    data = {"CUDA_VERSION": image_cuda, "driver": driver.to_json()}
    if image.major > driver.cuda.major:
        same_major = [v for v in torch_builds.VARIANTS if v.cuda.major == image.major]
        minimums = [v.min_driver_linux for v in same_major]
        needs = torch_builds.nvidia_version(min(minimums)) if minimums else "a newer release"
        return problem("gpu.container-cuda-too-new").check(
            Status.WARN,
            "gpu.container.cuda",
            data=data,
            image_cuda=image_cuda,
            image_major=image.major,
            driver=driver.version,
            driver_cuda=driver.cuda,
            driver_major=driver.cuda.major,
            min_driver=needs,
        )
    how = (
        "through minor version compatibility (PTX newer than the driver cannot be JIT-compiled)"
        if driver.cuda < image
        else "natively"
    )
    return CheckResult.ok(
        "gpu.container.cuda",
        f"this image's CUDA {image_cuda} runs on the host's driver {driver.version} "
        f"(CUDA {driver.cuda}) {how}",
        data=data,
    )


# -- WSL 2: the Windows driver, and a Linux driver that shadows it ----------------------------


def check_wsl(facts: GpuFacts) -> CheckResult | None:
    found = facts.wsl_gpu
    if found is None or facts.wsl_version == 1 or not found.linux_driver:
        return None
    shown = [*found.linux_driver_packages] or [*found.linux_driver_files]
    if found.linux_driver_packages:
        remove = "sudo apt-get remove --purge " + " ".join(found.linux_driver_packages)
    elif found.run_installer:
        remove = "sudo nvidia-uninstall"
    else:
        remove = "sudo rm " + " ".join(found.linux_driver_files)
    return problem("gpu.wsl-linux-driver").check(
        Status.WARN,
        "gpu.wsl",
        details=[f"found: {f}" for f in found.linux_driver_files],
        data=found.to_json(),
        found=", ".join(shown),
        remove=remove,
    )


# -- AMD ---------------------------------------------------------------------------------------


def check_amd(facts: GpuFacts) -> list[CheckResult]:
    amd = facts.amd
    if not amd.has_gpu:
        if amd.pci_amd and not facts.container:
            n = amd.pci_amd
            return [
                problem("gpu.amd-no-driver").check(
                    Status.SKIP,
                    "gpu.amd",
                    data=amd.to_json(),
                    gpus=f"{n} AMD GPU{'s' if n != 1 else ''}",
                )
            ]
        return []
    return [check_amd_driver(amd, facts.container), *(check_amd_chip(c, amd) for c in amd.chips())]


def check_amd_driver(amd: AmdProbe, container: str | None) -> CheckResult:
    n = len(amd.gpus)
    gpus = f"{n} AMD GPU{'s' if n != 1 else ''}"
    data = amd.to_json()
    access = amd.dev_kfd
    if access.state == "missing" and container == "kubernetes":
        return problem("gpu.amd-pod-without-gpu").check(
            Status.WARN, "gpu.amd", data=data, gpus=gpus
        )
    if access.state == "missing" and container:
        return problem("gpu.amd-container-without-gpu").check(
            Status.WARN, "gpu.amd", data=data, gpus=gpus, container=container
        )
    if access.state == "no-permission":
        return problem("gpu.amd-no-permission").check(
            Status.WARN, "gpu.amd", data=data, path=access.path, group=access.group or "render"
        )
    driver = (
        f"AMD's amdgpu driver {amd.driver_version}"
        if amd.driver_version
        else "the amdgpu driver built into the kernel"
    )
    details = []
    if amd.override:
        details.append(
            f"HSA_OVERRIDE_GFX_VERSION={amd.override}: ROCm treats every GPU as "
            f"{amd.override_gfx or 'an unreadable gfx version'}"
        )
    if amd.rocm_version:
        details.append(f"ROCm {amd.rocm_version} in /opt/rocm (torch's ROCm wheels carry theirs)")
    if access.state == "missing":
        details.append("/dev/kfd is missing: ROCm cannot open the GPUs")
    return CheckResult.ok("gpu.amd", f"{driver}; {gpus}", details=details, data=data)


def check_amd_chip(chip: list[AmdGpu], amd: AmdProbe) -> CheckResult:
    first = chip[0]
    name = first.name or f"AMD GPU {first.device_id or ''}".strip()
    gfx = first.gfx or "gfx unknown"
    if amd.override_gfx and amd.override_gfx != first.gfx:
        gfx += f", run as {amd.override_gfx}"
    indices = f"{chip[0].index}" if len(chip) == 1 else f"{chip[0].index}-{chip[-1].index}"
    parts = [f"GPU {indices}: {name} ({gfx})"]
    cus = sum(g.compute_units or 0 for g in chip)
    if cus:
        parts.append(f"{cus} compute units")
    if first.memory_total:
        used = first.memory_used
        free = f"{_gib(first.memory_total - used)} of " if used is not None else ""
        parts.append(f"{free}{_gib(first.memory_total)} GiB {'free' if free else 'VRAM'}")
    details = [f"PCI {g.pci}, KFD node {g.node}" for g in chip if g.pci]
    if len(chip) > 1:
        parts.append(f"{len(chip)} compute partitions: ROCm and torch see {len(chip)} devices")
    return CheckResult.ok(
        f"gpu.amd.{first.index}",
        ", ".join(parts),
        details=details,
        data={"gpus": [g.to_json() for g in chip]},
    )


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
    results.extend(check_container(facts))
    wsl = check_wsl(facts)
    if wsl:
        results.append(wsl)
    results.extend(check_amd(facts))
    return results


def collect(ctx: Context) -> list[CheckResult]:
    return check_gpus(observe(ctx))
