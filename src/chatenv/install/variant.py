"""Which PyTorch build this machine should get: a pure function of what was observed.

uv's `--torch-backend=auto` (astral-sh/uv `crates/uv-torch/src/backend.rs`, `accelerator.rs`)
and light-the-torch (`light_the_torch/_cb.py`) read the driver version and take the newest CUDA
variant whose minimum driver it meets. That is half the answer: PyTorch's newer builds drop old
GPU architectures (12.8+ has no sm_50/sm_60 kernels, CUDA 13 no sm_70), so a GTX 1080 Ti on a
new driver gets a build that cannot run on it. `choose` also requires kernels for every GPU's
compute capability (`chatenv.torch_builds.shipped_arches`), only considers the variants the
target torch release actually ships *for this platform and CPU architecture* (read from the
PyTorch index when it could be, `Machine.offered`; chatenv's table otherwise), and returns its
reasons so the plan can say why.

On a Linux x86_64 machine whose only GPUs are AMD's, auto picks the ROCm build of the same torch
release (`chatenv.rocm_builds`: the rocmX.Y variants each release ships, and the gfx
architectures they have kernels for); `--torch rocmX.Y` asks for one. Those are the `_rocm`
functions below, apart from the CUDA logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatenv import rocm_builds as rb
from chatenv import torch_builds as tb
from chatenv.pep440 import SpecifierSet
from chatenv.problems import problem
from chatenv.records import dataclass, field, replace
from chatenv.system.amd import AmdProbe
from chatenv.system.nvml import ProbeState

if TYPE_CHECKING:
    from chatenv.install.torch_index import Offered, TorchIndex
    from chatenv.system.amd import AmdGpu
    from chatenv.system.nvml import GpuInfo, GpuProbe

AUTO = "auto"
CPU = "cpu"


@dataclass(frozen=True)
class Machine:
    """What the choice looks at: the target interpreter's platform, the GPUs NVML sees and the
    AMD GPUs the amdgpu driver lists."""

    platform: str  # sys.platform of the target interpreter: "linux", "win32", "darwin"
    machine: str  # platform.machine(): "x86_64", "aarch64", "arm64", "AMD64"
    gpu: GpuProbe
    #: the CUDA wheels the PyTorch index has for this interpreter (None: chatenv's table)
    offered: Offered | None = None
    amd: AmdProbe = field(default_factory=AmdProbe)

    @property
    def is_macos(self) -> bool:
        return self.platform == "darwin"

    @property
    def rocm_platform(self) -> bool:
        """PyTorch's ROCm wheels are Linux x86_64 only."""
        return self.platform.startswith("linux") and self.machine.lower() in ("x86_64", "amd64")

    @property
    def amd_only(self) -> bool:
        """AMD GPUs and no NVIDIA GPU: the machine install gives a ROCm build."""
        return self.amd.has_gpu and not self.gpu.has_gpu and self.rocm_platform

    @property
    def where(self) -> str:
        system = {"linux": "Linux", "win32": "Windows", "darwin": "macOS"}.get(
            self.platform, self.platform
        )
        return f"{system} {self.machine}"


def offered_variants(series: str, machine: Machine) -> tuple[tb.CudaVariant, ...]:
    """The CUDA builds of `series` that have a wheel for this machine, newest CUDA first: from
    the index when it was read (a tag the table does not know, cu134, gets the driver rule of
    its CUDA major), else from chatenv's table for this platform and CPU architecture."""
    if machine.offered is not None:
        tags: tuple[str, ...] = machine.offered.variants(series)
    else:
        tags = tuple(tb.cuda_wheels(series, machine.platform, machine.machine))
    found = [v for v in (tb.assumed_variant(t) for t in tags) if v is not None]
    return tuple(sorted(found, key=lambda v: v.cuda.as_tuple(), reverse=True))


def _offers(series: str, tag: str, machine: Machine) -> bool:
    return any(v.tag == tag for v in offered_variants(series, machine))


def _known_series(machine: Machine) -> list[str]:
    """Every release the table or the index knows, newest first."""
    names = set(tb.known_series())
    if machine.offered is not None:
        names.update(machine.offered.series())
    return sorted(names, key=tb.series_key, reverse=True)


def newest_offering(spec: SpecifierSet, tag: str, machine: Machine) -> str | None:
    """The newest release within `spec` that has a `tag` wheel for this machine."""
    for series in _known_series(machine):
        if spec.contains(f"{series}.0") and _offers(series, tag, machine):
            return series
    return None


@dataclass(frozen=True)
class TorchChoice:
    """The torch build to install and why. `refusal` is set when an explicitly requested CUDA
    variant cannot run here (the caller refuses unless --force); `warning` when auto fell back to
    CPU on a machine that looks like it has an NVIDIA GPU."""

    requested: str
    variant: str  # "cpu" or a CUDA tag such as "cu130"
    series: str  # the torch minor release the choice is for, e.g. "2.13"
    index_url: str | None  # None: the installer's default index (PyPI)
    reasons: tuple[str, ...]
    refusal: str | None = None
    fix: str | None = None
    warning: str | None = None
    forced: bool = False
    #: a refusal --force cannot override (no CUDA builds exist for this platform at all)
    final: bool = False
    #: where the list of existing CUDA wheels came from (None: chatenv's table, not read)
    offered: Offered | None = None
    #: the index torch comes from, when not download.pytorch.org (a mirror, or the installer's
    #: configured package index)
    index: TorchIndex | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "variant": self.variant,
            "series": self.series,
            "index_url": self.index_url,
            "reasons": list(self.reasons),
            "refusal": self.refusal,
            "warning": self.warning,
            "forced": self.forced,
            "wheels_from": self.offered.to_json() if self.offered else None,
            "torch_index": self.index.to_json() if self.index else None,
        }


def target_series(spec: SpecifierSet) -> str | None:
    """The torch release chatenv installs: the newest one `chatenv.torch_builds` knows that the
    pins (`spec`, torch's range) allow. None when the pins allow no known release."""
    return tb.newest_series(spec)


def known_requests() -> list[str]:
    return [AUTO, CPU, *(v.tag for v in tb.VARIANTS), *rb.tags()]


def _parse_rocm(text: str) -> str | None:
    """ "rocm7.2" (also "ROCm7.2", "rocm72") → "rocm7.2"; None when it names no ROCm variant."""
    value = text.strip().lower()
    if not value.startswith("rocm"):
        return None
    return next((t for t in rb.tags() if value in (t, t.replace(".", ""))), None)


def parse_request(text: str) -> str:
    """Normalise `--torch`: "auto", "cpu", a CUDA tag ("cu130", also "cu13.0" / "13.0") or a
    ROCm tag ("rocm7.2")."""
    rocm = _parse_rocm(text)
    if rocm is not None:
        return rocm
    value = text.strip().lower().replace(".", "")
    if value and value[0].isdigit():
        value = "cu" + value
    if value in known_requests():
        return value
    from chatenv.problems.invocation import did_you_mean

    known = ", ".join(known_requests())
    # "cu12" means one of the 12.x builds, not the nearest string (cu132)
    hint, retyped = did_you_mean(
        text,
        [k for k in known_requests() if k.startswith(value)] or known_requests(),
        AUTO,
        "chatenv install local --torch {choice}",
    )
    raise problem("install.unknown-torch-variant").error(
        text=text, known=known, hint=hint, retyped=retyped
    )


# --- helpers that phrase the machine ----------------------------------------------------------


def _gpu_label(gpu: GpuInfo) -> str:
    name = gpu.name or "unknown GPU"
    parts = [gpu.sm or "compute capability unknown"]
    if gpu.mig_enabled:
        parts.append("MIG enabled")
    return f"GPU {gpu.index} {name} ({', '.join(parts)})"


def _no_gpu_reason(probe: GpuProbe) -> tuple[str, str | None]:
    """Why there is no usable NVIDIA GPU, and a warning when there probably is one."""
    detail = f": {probe.error}" if probe.error else ""
    match probe.state:
        case ProbeState.NO_LIBRARY:
            return "no NVIDIA driver found (libnvidia-ml is missing)", None
        case ProbeState.NO_DEVICE:
            return "the NVIDIA driver is loaded but reports no GPU", None
        case ProbeState.NO_DRIVER:
            why = "the NVIDIA driver is installed but not loaded"
        case ProbeState.VERSION_MISMATCH:
            why = "the NVIDIA driver and kernel module differ (upgraded without a reboot)"
        case ProbeState.NO_PERMISSION:
            why = "no permission to query the NVIDIA driver"
        case _:
            why = f"NVML could not read the GPUs{detail}"
    return why, problem("install.gpu-unusable").text(why=why)


def _cpu_index(machine: Machine) -> str | None:
    """Linux gets PyTorch's CPU-only index (PyPI's Linux torch is a CUDA build and pulls GBs of
    nvidia-* wheels); macOS and Windows wheels on PyPI are already CPU (MPS on Apple silicon)."""
    return tb.CPU_INDEX_URL if machine.platform.startswith("linux") else None


def _cpu_choice(
    requested: str, machine: Machine, series: str, reasons: list[str], **kw: Any
) -> TorchChoice:
    index = _cpu_index(machine)
    if machine.is_macos:
        reasons.append("macOS: the PyPI wheel (CPU, with MPS on Apple silicon)")
    elif index is None:
        reasons.append("the CPU build from PyPI")
    else:
        reasons.append("the CPU build from PyTorch's CPU index, so no CUDA packages are downloaded")
    return TorchChoice(requested, CPU, series, index, tuple(reasons), **kw)


def _problems(v: tb.CudaVariant, series: str, machine: Machine) -> list[str]:
    """Why this build cannot run here; empty when it can."""
    probe = machine.gpu
    driver = probe.driver
    problems: list[str] = []
    if driver is not None and not tb.driver_supports(
        v, driver.version, driver.cuda, machine.platform
    ):
        need = tb.nvidia_version(tb.min_driver(v, machine.platform))
        problems.append(f"needs driver >= {need} (CUDA {v.cuda.major}.x), this is {driver.version}")
    facts = tb.build_facts(v.tag, series, machine.machine)
    for gpu in probe.gpus:
        cc = gpu.compute_capability
        if cc is not None and not tb.has_kernels(facts.arches, cc):
            assumed = f" ({facts.short})" if facts.short else ""
            problems.append(f"has no kernels for {_gpu_label(gpu)}{assumed}")
    return problems


def _driver_line(probe: GpuProbe) -> str:
    driver = probe.driver
    assert driver is not None
    cuda = f", CUDA {driver.cuda}" if driver.cuda else ""
    if driver.forward_compat:
        cuda += f" (forward compatibility: the driver's own is {driver.branch_cuda})"
    gpus = "; ".join(_gpu_label(g) for g in probe.gpus)
    return f"driver {driver.version}{cuda}; {gpus}"


def _shipped_line(series: str, machine: Machine) -> str:
    tags = ", ".join(v.tag for v in offered_variants(series, machine)) or "no CUDA builds"
    offered = machine.offered
    source = "the PyTorch index" if offered and offered.source == "index" else "chatenv's table"
    return f"torch {series} ships {tags} (and cpu) for {machine.where}, per {source}"


def runnable_elsewhere(machine: Machine, spec: SpecifierSet) -> tuple[str, str] | None:
    """The newest (series, variant) within the pins that does run here, for the fix line."""
    for series in _known_series(machine):
        if not spec.contains(f"{series}.0"):
            continue
        for v in offered_variants(series, machine):
            if not _problems(v, series, machine):
                return series, v.tag
    return None


# --- the choice -------------------------------------------------------------------------------


def choose(
    request: str,
    machine: Machine,
    series: str,
    *,
    spec: SpecifierSet | None = None,
    force: bool = False,
) -> TorchChoice:
    """The torch build for `machine` from release `series` (e.g. "2.13").

    auto: the newest CUDA variant that `series` ships, that the driver supports and that has
    kernels for every GPU; the CPU build when there is no NVIDIA GPU or none fits.
    cpu: the CPU build. cuXYZ: that variant, from `series` or else from the newest release
    within `spec` that ships it; refused (unless `force`) when the machine cannot run it.
    """
    request = parse_request(request)
    spec = spec if spec is not None else SpecifierSet()
    if request == CPU:
        reasons = ["requested with --torch cpu"]
        if machine.gpu.has_gpu:
            reasons.append(f"note: this machine has {len(machine.gpu.gpus)} NVIDIA GPU(s)")
        choice = _cpu_choice(request, machine, series, reasons)
    elif request in rb.tags():
        choice = _choose_rocm_explicit(request, machine, series, spec, force)
    elif request == AUTO and machine.amd_only:
        choice = _choose_rocm_auto(machine, series)
    elif request == AUTO:
        choice = _choose_auto(machine, series, spec)
    else:
        choice = _choose_explicit(request, machine, series, spec, force)
    return replace(choice, offered=machine.offered)


def _choose_auto(machine: Machine, series: str, spec: SpecifierSet) -> TorchChoice:
    probe = machine.gpu
    if machine.is_macos:
        return _cpu_choice(AUTO, machine, series, [])
    if probe.state is not ProbeState.OK or not probe.gpus or probe.driver is None:
        why, warning = _no_gpu_reason(probe)
        return _cpu_choice(AUTO, machine, series, [why], warning=warning)
    reasons = [_driver_line(probe), _shipped_line(series, machine)]
    for v in offered_variants(series, machine):
        problems = _problems(v, series, machine)
        if problems:
            reasons.append(f"not {v.tag}: it " + "; it ".join(problems))
            continue
        reasons.append(f"{v.tag}: the newest build this driver and every GPU can run")
        return TorchChoice(AUTO, v.tag, series, v.index_url, tuple(reasons))
    warning, fix = problem("install.no-cuda-build-runs").pair(
        series=series, ways=_fallback_fix(machine, series, spec)
    )
    return _cpu_choice(AUTO, machine, series, reasons, warning=warning, fix=fix)


def _kernels_for_all(v: tb.CudaVariant, series: str, machine: Machine) -> bool:
    arches = tb.build_facts(v.tag, series, machine.machine).arches
    return all(
        g.compute_capability is None or tb.has_kernels(arches, g.compute_capability)
        for g in machine.gpu.gpus
    )


def _fallback_fix(machine: Machine, series: str, spec: SpecifierSet) -> str:
    """What would get this machine a CUDA build: a newer driver, or an older torch release."""
    parts = []
    fitting = [v for v in offered_variants(series, machine) if _kernels_for_all(v, series, machine)]
    if fitting:
        need = tb.nvidia_version(min(tb.min_driver(v, machine.platform) for v in fitting))
        parts.append(f"update the NVIDIA driver to >= {need}")
    older = runnable_elsewhere(machine, spec)
    if older is not None:
        parts.append(
            f"use --torch {older[1]} (torch {older[0]}, the newest release that runs here)"
        )
    if not parts:
        parts.append("no PyTorch release within the pins has kernels for this GPU")
    return ", or ".join(parts)


def _choose_explicit(
    tag: str, machine: Machine, series: str, spec: SpecifierSet, force: bool
) -> TorchChoice:
    v = tb.variant(tag)
    assert v is not None  # parse_request only lets known tags through
    reasons = [f"requested with --torch {tag}"]
    if not machine.platform.startswith(("win", "linux")):
        refusal, fix = problem("install.no-cuda-for-platform").pair(platform=machine.platform)
        return TorchChoice(
            tag, tag, series, v.index_url, tuple(reasons), refusal=refusal, fix=fix, final=True
        )
    if not _offers(series, tag, machine):
        older = newest_offering(spec, tag, machine)
        if older is None:
            refusal, fix = problem("install.variant-not-shipped").pair(
                spec=spec, tag=tag, where=machine.where
            )
            return TorchChoice(
                tag, tag, series, v.index_url, tuple(reasons), refusal=refusal, fix=fix, final=True
            )
        reasons.append(
            f"torch {series} ships no {tag} build; torch {older} is the newest that does"
        )
        series = older
    problems = _machine_problems(v, series, machine)
    if not problems:
        reasons.append(f"{tag} runs on this driver and every GPU")
        return TorchChoice(tag, tag, series, v.index_url, tuple(reasons))
    if force:
        reasons.append(f"forced with --force although {tag} " + "; ".join(problems))
        return TorchChoice(tag, tag, series, v.index_url, tuple(reasons), forced=True)
    refusal, fix = problem("install.variant-cannot-run").pair(tag=tag, problems="; ".join(problems))
    return TorchChoice(tag, tag, series, v.index_url, tuple(reasons), refusal=refusal, fix=fix)


def _machine_problems(v: tb.CudaVariant, series: str, machine: Machine) -> list[str]:
    probe = machine.gpu
    if probe.state is not ProbeState.OK or not probe.gpus or probe.driver is None:
        why, _ = _no_gpu_reason(probe)
        return [why]
    return [f"it {p}" for p in _problems(v, series, machine)]


# --- keeping what is installed ----------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    keep: bool
    reason: str


def judge_installed(
    request: str, installed_variant: str | None, series: str | None, machine: Machine
) -> Verdict:
    """Should an installed torch (that already satisfies the pins) stay?

    An explicit --torch keeps only that exact variant. auto keeps any build that runs here: a
    CUDA build the driver supports with kernels for every GPU, or the CPU build on a machine
    without a usable NVIDIA GPU; it does not churn a working cu126 into cu130 (--upgrade does).
    """
    request = parse_request(request)
    shown = installed_variant or "an unknown build"
    if installed_variant is None or series is None:
        return Verdict(False, f"the installed torch is {shown}: cannot tell which build it is")
    if request != AUTO:
        if installed_variant == request:
            return Verdict(True, f"the installed build is {request}, as requested")
        return Verdict(False, f"the installed build is {shown}, --torch asks for {request}")
    if installed_variant.startswith("rocm") or machine.amd_only:
        return _judge_rocm(installed_variant, series, machine)
    probe = machine.gpu
    usable_gpu = probe.state is ProbeState.OK and probe.has_gpu and probe.driver is not None
    if installed_variant == CPU:
        if not usable_gpu or machine.is_macos:
            return Verdict(True, "the installed torch is the CPU build; no usable NVIDIA GPU here")
        if any(not _problems(v, series, machine) for v in offered_variants(series, machine)):
            return Verdict(False, "the installed torch is the CPU build; this machine has a GPU")
        # What `choose` falls back to as well: replacing it would only reinstall it, every run.
        return Verdict(
            True,
            f"the installed torch is the CPU build; no CUDA build of torch {series} runs on this "
            "machine's driver and GPUs",
        )
    v = tb.variant(installed_variant)
    if v is None:
        return Verdict(False, f"the installed build is {shown}, which chatenv does not know")
    if not usable_gpu:
        return Verdict(
            True,
            f"the installed torch is a {v.tag} build and there is no usable NVIDIA GPU: it runs on"
            " CPU (--torch cpu replaces it with the smaller CPU build)",
        )
    problems = _problems(v, series, machine)
    if problems:
        return Verdict(False, f"the installed {v.tag} build " + "; it ".join(problems))
    return Verdict(True, f"the installed {v.tag} build runs on this driver and every GPU")


# --- ROCm: a machine whose only GPUs are AMD's ------------------------------------------------


def _amd_label(gpu: AmdGpu, amd: AmdProbe) -> str:
    gfx = amd.effective_gfx(gpu) or "gfx unknown"
    shown = f"{gfx}, as HSA_OVERRIDE_GFX_VERSION={amd.override}" if amd.override_gfx else gfx
    return f"GPU {gpu.index} {gpu.name or 'AMD GPU'} ({shown})"


def rocm_without_kernels(tag: str, amd: AmdProbe) -> list[AmdGpu]:
    """The AMD GPUs a ROCm variant has no kernels for (an unreadable gfx counts as covered, as
    an unknown compute capability does for CUDA)."""
    arches = rb.ARCHES.get(tag, ())
    missing = []
    for gpu in amd.gpus:
        gfx = amd.effective_gfx(gpu)
        if gfx is not None and not rb.has_kernels(arches, gfx):
            missing.append(gpu)
    return missing


def rocm_override(amd: AmdProbe, arches: tuple[str, ...]) -> str | None:
    """One HSA_OVERRIDE_GFX_VERSION that gives every AMD GPU a shipped sibling's kernels (it
    applies to all of them), or None."""
    values = {rb.override_for(g.gfx, arches) if g.gfx else None for g in amd.gpus}
    return values.pop() if len(values) == 1 else None


def _rocm_ways(amd: AmdProbe, tag: str) -> str:
    override = None if amd.override else rocm_override(amd, rb.ARCHES.get(tag, ()))
    if override:
        return f"export HSA_OVERRIDE_GFX_VERSION={override} && chatenv install local"
    return ""


def _choose_rocm_auto(machine: Machine, series: str) -> TorchChoice:
    amd = machine.amd
    tags = rb.shipped(series)
    gpus = "; ".join(_amd_label(g, amd) for g in amd.gpus)
    reasons = [
        f"no NVIDIA GPU; {gpus}",
        f"torch {series} ships {', '.join(tags) or 'no ROCm build chatenv knows'} (and cpu)",
    ]
    for tag in tags:
        missing = rocm_without_kernels(tag, amd)
        if len(missing) == len(amd.gpus):
            reasons.append(
                f"not {tag}: it has no kernels for "
                + "; ".join(_amd_label(g, amd) for g in missing)
            )
            continue
        if missing:
            shown = "; ".join(_amd_label(g, amd) for g in missing)
            reasons.append(f"{tag} has no kernels for {shown} (the other GPUs run it)")
        reasons.append(f"{tag}: the newest ROCm build of torch {series} for these GPUs")
        return TorchChoice(AUTO, tag, series, rb.index_url(tag), tuple(reasons))
    warning, fix = problem("install.no-rocm-build-runs").pair(
        series=series, gpus=gpus, ways=_rocm_ways(amd, tags[0]) if tags else ""
    )
    return _cpu_choice(AUTO, machine, series, reasons, warning=warning, fix=fix)


def _choose_rocm_explicit(
    tag: str, machine: Machine, series: str, spec: SpecifierSet, force: bool
) -> TorchChoice:
    reasons = [f"requested with --torch {tag}"]
    url = rb.index_url(tag)
    if not machine.rocm_platform:
        refusal, fix = problem("install.no-rocm-for-platform").pair(
            platform=machine.platform, machine=machine.machine
        )
        return TorchChoice(
            tag, tag, series, url, tuple(reasons), refusal=refusal, fix=fix, final=True
        )
    if tag not in rb.shipped(series):
        older = next(
            (s for s in tb.known_series() if tag in rb.shipped(s) and spec.contains(f"{s}.0")),
            None,
        )
        if older is None:
            refusal, fix = problem("install.variant-not-shipped").pair(
                spec=spec, tag=tag, where=machine.where
            )
            return TorchChoice(
                tag, tag, series, url, tuple(reasons), refusal=refusal, fix=fix, final=True
            )
        reasons.append(
            f"torch {series} ships no {tag} build; torch {older} is the newest that does"
        )
        series = older
    problems = _rocm_problems(tag, machine)
    if not problems:
        reasons.append(f"{tag} has kernels for the AMD GPUs here")
        return TorchChoice(tag, tag, series, url, tuple(reasons))
    if force:
        reasons.append(f"forced with --force although {tag} " + "; ".join(problems))
        return TorchChoice(tag, tag, series, url, tuple(reasons), forced=True)
    refusal, fix = problem("install.variant-cannot-run").pair(tag=tag, problems="; ".join(problems))
    return TorchChoice(tag, tag, series, url, tuple(reasons), refusal=refusal, fix=fix)


def _rocm_problems(tag: str, machine: Machine) -> list[str]:
    amd = machine.amd
    if not amd.has_gpu:
        return ["no AMD GPU here (the amdgpu driver lists none in /sys/class/kfd)"]
    missing = rocm_without_kernels(tag, amd)
    if len(missing) == len(amd.gpus):
        return ["it has no kernels for " + "; ".join(_amd_label(g, amd) for g in missing)]
    return []


def _judge_rocm(installed: str, series: str, machine: Machine) -> Verdict:
    """auto and a ROCm build installed, or an AMD-only machine: keep what runs here."""
    runs = [t for t in rb.shipped(series) if not _rocm_problems(t, machine)]
    if installed.startswith("rocm"):
        if not machine.amd_only:
            return Verdict(
                False,
                f"the installed torch is a {installed} build; this machine has no AMD GPU for it",
            )
        if installed in rb.ARCHES and not _rocm_problems(installed, machine):
            return Verdict(
                True, f"the installed {installed} build has kernels for the AMD GPUs here"
            )
        return Verdict(
            False, f"the installed {installed} build has no kernels for the AMD GPUs here"
        )
    if runs:
        return Verdict(
            False, f"the installed torch is {installed}; this machine's AMD GPUs run {runs[0]}"
        )
    return Verdict(
        True,
        f"the installed torch is {installed}; no ROCm build of torch {series} runs on these "
        "AMD GPUs",
    )


def suggest_rocm(amd: AmdProbe) -> str | None:
    """The ROCm build `chatenv install local --torch auto` would pick on a machine whose only
    GPUs are these AMD ones (None: the CPU build), for doctor's fixes."""
    if not amd.has_gpu:
        return None
    import sys

    from chatenv.install import pins
    from chatenv.system import uname
    from chatenv.system.nvml import GpuProbe

    torch_pin = next(p for p in pins.load_pins().profile("local").pins if p.name == "torch")
    series = target_series(torch_pin.spec)
    if series is None:
        return None
    machine = Machine(sys.platform, uname.machine(), GpuProbe(ProbeState.NO_LIBRARY), amd=amd)
    choice = choose(AUTO, machine, series)
    return choice.variant if choice.variant.startswith("rocm") else None


def suggest(found: GpuProbe) -> str | None:
    """The CUDA build `chatenv install local --torch auto` would pick on this machine, or None
    when that is the CPU build. doctor's fixes ask it, so doctor's fix and install's plan can
    never disagree."""
    if not found.has_gpu:
        return None
    import sys

    from chatenv.install import pins
    from chatenv.system import uname

    torch_pin = next(p for p in pins.load_pins().profile("local").pins if p.name == "torch")
    series = target_series(torch_pin.spec)
    if series is None:
        return None
    machine = Machine(sys.platform, uname.machine(), found)
    choice = choose(AUTO, machine, series)
    if choice.variant != CPU:
        return choice.variant
    # No build of the target release runs here: an older release within the pins may
    # (`--torch cu118` on a Pascal GPU with an old driver), and install knows how to get it.
    older = runnable_elsewhere(machine, torch_pin.spec)
    return older[1] if older else None
