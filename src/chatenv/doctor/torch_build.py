"""The torch section: which PyTorch build is installed, and can this machine run it?

The build is read from the installed `torch/version.py` without importing torch
(`chatenv.installed.read_torch_build`, the reader `install` uses too), so doctor stays fast and
works even when `import torch` would crash. The verdict crosses three things no single tool
checks together: the CUDA version torch was built for, the CUDA version the driver supports,
and the compute capability of every GPU against the architectures the build ships kernels for
(`chatenv.torch_builds`).

A torch newer than the table (or built for a CUDA variant it does not list) is checked with the
newest known release's facts for the same CUDA variant (`torch_builds.build_facts`), and every
verdict built on such facts says it was assumed. A driver running a newer CUDA through
forward compatibility (cuda-compat) is judged by the CUDA version its libcuda reports.

A ROCm build is checked against the AMD GPUs the amdgpu driver lists: each GPU's gfx target
(or the one HSA_OVERRIDE_GFX_VERSION imposes) against the architectures the build's own files
carry (`chatenv.rocm_builds`). On a Mac: the wheel's architecture, Rosetta, and the macOS this
release needs for MPS (`chatenv.system.apple`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv import rocm_builds, torch_builds
from chatenv.doctor.fixes import HERE
from chatenv.install import variant as install_variant
from chatenv.problems import problem
from chatenv.results import CheckResult, Status
from chatenv.system import uname
from chatenv.system.nvml import ProbeState

if TYPE_CHECKING:
    from chatenv.doctor.context import Context
    from chatenv.doctor.fixes import FixTarget
    from chatenv.installed import TorchBuild
    from chatenv.system.amd import AmdGpu, AmdProbe
    from chatenv.system.apple import AppleFacts
    from chatenv.system.nvml import DriverInfo, GpuProbe

#: NVML states in which a GPU may well be there but the driver could not be read
_DRIVER_UNKNOWN = (ProbeState.VERSION_MISMATCH, ProbeState.NO_PERMISSION, ProbeState.ERROR)


def _pip_line(variant: str, build: TorchBuild, target: FixTarget) -> str:
    """The plain pip line that does what the fix's `chatenv install local --torch` does."""
    index = (
        torch_builds.CPU_INDEX_URL
        if variant == "cpu"
        else f"https://download.pytorch.org/whl/{variant}"
    )
    pip = target.pip_install(f"--force-reinstall torch=={build.public_version} --index-url {index}")
    return f"without chatenv: {pip}"


def _driver_text(driver: DriverInfo) -> str:
    cuda = f"CUDA {driver.cuda}" if driver.cuda else "an unknown CUDA version"
    compat = " through forward compatibility" if driver.forward_compat else ""
    return f"driver {driver.version} (supports {cuda}{compat})"


def build_variant(build: TorchBuild) -> torch_builds.CudaVariant | None:
    """The table's variant for a CUDA build; for a torch newer than the table built for a CUDA
    the table does not list (cu134), one assumed from its CUDA major. An unknown CUDA in a
    known release (a source build) stays unknown: nothing says what it was built for."""
    if build.cuda is None:
        return None
    known = torch_builds.variant_for_cuda(build.cuda)
    if known is not None or not torch_builds.newer_than_table(build.series):
        return known
    return torch_builds.assumed_variant(f"cu{build.cuda.major}{build.cuda.minor}")


def _assumed_release(build: TorchBuild) -> str | None:
    """A line for a torch release newer than the table, None otherwise."""
    if not torch_builds.newer_than_table(build.series):
        return None
    return (
        f"torch {build.series} is newer than chatenv's table of PyTorch builds (which ends at "
        f"{torch_builds.newest_known()}): chatenv assumes the newest known release's facts for "
        "the same CUDA variant"
    )


def check_build(
    build: TorchBuild | None, found: GpuProbe, *, target: FixTarget = HERE
) -> CheckResult:
    """Is the installed torch build the right kind for this machine, and can its driver run it?"""
    if build is None:
        return problem("torch.not-installed").check(
            Status.SKIP, "torch.build", python_option=target.option
        )
    data = {"torch": build.to_json(), "driver": found.driver.to_json() if found.driver else None}
    label = f"torch {build.version} ({build.kind} build)"
    details = [f"read from {build.path}"] if build.path else []
    if build.error:
        return problem("torch.unreadable").check(
            Status.WARN,
            "torch.build",
            details=details,
            data=data,
            error=build.error,
            python_option=target.option,
        )
    best = install_variant.suggest(found)
    if build.hip:
        if found.has_gpu:
            return problem("torch.rocm-on-nvidia").check(
                Status.WARN,
                "torch.build",
                details=[*details, _pip_line(best or "cpu", build, target)],
                data=data,
                label=label,
                variant=best or "cpu",
                python_option=target.option,
            )
        return CheckResult.ok(
            "torch.build", f"{label}: for AMD GPUs (chatenv checks NVIDIA GPUs only)", data=data
        )
    if build.cuda is None:
        if found.has_gpu:
            n = len(found.gpus)
            gpus = f"{n} NVIDIA GPU{'s' if n != 1 else ''}"
            details = [*details, _pip_line(best or "cpu", build, target)]
            if not best:
                return problem("torch.cpu-build-driver-too-old").check(
                    Status.WARN,
                    "torch.build",
                    details=details,
                    data=data,
                    label=label,
                    gpus=gpus,
                    python_option=target.option,
                )
            return problem("torch.cpu-build-with-gpu").check(
                Status.WARN,
                "torch.build",
                details=details,
                data=data,
                label=label,
                gpus=gpus,
                variant=best,
                python_option=target.option,
            )
        return CheckResult.ok(
            "torch.build", f"{label}: right for a machine without an NVIDIA GPU", data=data
        )
    # A CUDA build.
    if found.state in _DRIVER_UNKNOWN:
        return CheckResult.skip(
            "torch.build",
            f"{label}: the NVIDIA driver could not be read, so it cannot be checked (see gpu)",
            details=details,
            data=data,
        )
    if found.driver is not None and found.driver.libcuda is False and found.has_gpu:
        return CheckResult.skip(
            "torch.build",
            f"{label}: no CUDA build can run without the CUDA driver library (see gpu)",
            details=details,
            data=data,
        )
    if found.driver is None or not found.has_gpu:
        return problem("torch.cuda-build-without-gpu").check(
            Status.WARN,
            "torch.build",
            details=[*details, _pip_line("cpu", build, target)],
            data=data,
            label=label,
            python_option=target.option,
        )
    variant = build_variant(build)
    assumed = _assumed_release(build)
    if assumed:
        details.append(assumed)
    if variant is not None:
        runs = torch_builds.driver_supports(
            variant, found.driver.version, found.driver.cuda, sys.platform
        )
        min_driver = torch_builds.nvidia_version(torch_builds.min_driver(variant, sys.platform))
        needs = f"a driver for CUDA {variant.cuda} (>= {min_driver})"
        if variant.assumed:
            details.append(
                f"CUDA {build.cuda} is not in chatenv's table: its driver minimum is assumed "
                f"from CUDA {build.cuda.major}.x's"
            )
    else:
        runs = found.driver.cuda is None or found.driver.cuda.major >= build.cuda.major
        needs = f"a driver for CUDA {build.cuda.major}.x"
    if not runs:
        upgrade = (
            f"or upgrade the NVIDIA driver to {min_driver} or newer"
            if variant
            else "or upgrade the NVIDIA driver"
        )
        return problem("torch.driver-too-old").check(
            Status.FAIL,
            "torch.build",
            details=[*details, _pip_line(best or "cpu", build, target), upgrade],
            data=data,
            label=label,
            needs=needs,
            driver=_driver_text(found.driver),
            variant=best or "cpu",
            python_option=target.option,
        )
    if variant is None:
        details.append(f"CUDA {build.cuda} is not in chatenv's table of PyTorch builds")
    if found.driver.forward_compat:
        details.append(
            f"forward compatibility: the CUDA {found.driver.cuda} libcuda in use runs it, not "
            f"the driver's own CUDA {found.driver.branch_cuda}"
        )
    return CheckResult.ok(
        "torch.build",
        f"{label}: the {_driver_text(found.driver)} runs it",
        details=details,
        data=data,
    )


def check_kernels(
    build: TorchBuild | None, found: GpuProbe, *, target: FixTarget = HERE
) -> CheckResult | None:
    """Does the build ship kernels for every GPU? ("no kernel image is available" otherwise)"""
    if build is None or build.cuda is None or build.error or not found.has_gpu:
        return None
    variant = build_variant(build)
    if variant is None:
        if target.python is None:
            return problem("torch.kernels-unknown").check(
                Status.SKIP, "torch.kernels", cuda=build.cuda
            )
        return problem("torch.kernels-unknown-target").check(
            Status.SKIP, "torch.kernels", cuda=build.cuda, python_command=target.command
        )
    facts = torch_builds.build_facts(variant.tag, build.series, uname.machine())
    arches = facts.arches
    shipped = torch_builds.arch_names(arches)
    arch_range = f"{shipped[0]} to {shipped[-1]}" if shipped else "none"
    if facts.short:
        arch_range += f", {facts.short}"
    missing = [
        g
        for g in found.gpus
        if g.compute_capability is not None
        and not torch_builds.has_kernels(arches, g.compute_capability)
    ]
    unknown = [g for g in found.gpus if g.compute_capability is None]
    ships = "is assumed to ship" if facts.assumed else "ships"
    details = [f"this {variant.tag} build {ships} kernels for: {' '.join(shipped)}"]
    if facts.note:
        details.append(facts.note)
    details.extend(f"GPU {g.index}: compute capability n/a, not checked" for g in unknown)
    data = {
        "variant": variant.tag,
        "arch_list": shipped,
        "assumed": facts.assumed,
        "assumed_from": facts.source if facts.assumed else None,
        "gpus": [
            {"index": g.index, "sm": g.sm, "has_kernels": g not in missing} for g in found.gpus
        ],
    }
    if missing:
        best = install_variant.suggest(found)
        names = "; ".join(
            f"GPU {g.index} {g.name or ''} ({g.sm})".replace("  ", " ") for g in missing
        )
        details.append(
            "sm_XY kernels run on compute capability X.Y and newer minors of the same major only"
        )
        if best is None:
            return problem("torch.no-build-runs").check(
                Status.FAIL,
                "torch.kernels",
                details=details,
                data=data,
                version=build.version,
                gpus=names,
                arches=arch_range,
                python_option=target.option,
            )
        details.append(_pip_line(best, build, target))
        return problem("torch.no-kernels").check(
            Status.FAIL,
            "torch.kernels",
            details=details,
            data=data,
            version=build.version,
            gpus=names,
            arches=arch_range,
            variant=best,
            python_option=target.option,
        )
    sms = sorted({g.sm for g in found.gpus if g.sm})
    summary = f"kernels for every GPU ({', '.join(sms) or 'n/a'}) in torch {build.version}"
    if facts.short:
        summary += f" ({facts.short})"
    return CheckResult.ok(
        "torch.kernels",
        summary,
        details=details,
        data=data,
    )


def check_torch(
    build: TorchBuild | None,
    found: GpuProbe,
    *,
    target: FixTarget = HERE,
    amd: AmdProbe | None = None,
) -> list[CheckResult]:
    if build is not None and not build.error and amd is not None:
        if build.hip and not found.has_gpu:
            return check_rocm(build, amd, rocm_arches(build), target=target)
        if not build.hip and amd.has_gpu and not found.has_gpu:
            return [check_build_on_amd(build, amd, target=target)]
    results = [check_build(build, found, target=target)]
    kernels = check_kernels(build, found, target=target)
    if kernels:
        results.append(kernels)
    return results


# -- AMD GPUs ----------------------------------------------------------------------------------


def rocm_arches(build: TorchBuild) -> tuple[str, ...] | None:
    """The gfx targets an installed ROCm torch has kernels for, from its own files."""
    return rocm_builds.arches_from_files(Path(build.path).parent) if build.path else None


def _amd_gpus(gpus: list[AmdGpu]) -> str:
    return "; ".join(
        f"GPU {g.index} {g.name or 'AMD GPU'} ({g.gfx or 'gfx unknown'})" for g in gpus
    )


def check_build_on_amd(build: TorchBuild, amd: AmdProbe, *, target: FixTarget) -> CheckResult:
    """A CPU or CUDA torch on a machine whose GPUs are AMD's."""
    label = f"torch {build.version} ({build.kind} build)"
    data = {"torch": build.to_json(), "amd": amd.to_json()}
    n = len(amd.gpus)
    gpus = f"{n} AMD GPU{'s' if n != 1 else ''}"
    best = install_variant.suggest_rocm(amd)
    if build.cuda is not None:
        return problem("torch.cuda-build-on-amd").check(
            Status.WARN,
            "torch.build",
            data=data,
            label=label,
            gpus=gpus,
            variant=best or "cpu",
            python_option=target.option,
        )
    if best is None:
        return CheckResult.ok(
            "torch.build",
            f"{label}: right for this machine (no ROCm build of torch has kernels for its AMD "
            "GPUs: see install)",
            data=data,
        )
    return problem("torch.cpu-build-with-amd-gpu").check(
        Status.WARN,
        "torch.build",
        data=data,
        label=label,
        gpus=gpus,
        variant=best,
        python_option=target.option,
    )


def check_rocm(
    build: TorchBuild,
    amd: AmdProbe,
    arches: tuple[str, ...] | None,
    *,
    target: FixTarget = HERE,
) -> list[CheckResult]:
    """A ROCm torch on a machine without an NVIDIA GPU: is there an AMD GPU, and does the build
    have kernels for each one?"""
    label = f"torch {build.version} ({build.kind} build)"
    data = {"torch": build.to_json(), "amd": amd.to_json(), "arch_list": list(arches or ())}
    if not amd.has_gpu:
        return [
            problem("torch.rocm-without-gpu").check(
                Status.WARN, "torch.build", data=data, label=label, python_option=target.option
            )
        ]
    details = [f"read from {build.path}"] if build.path else []
    if amd.override:
        details.append(
            f"HSA_OVERRIDE_GFX_VERSION={amd.override}: ROCm runs every GPU as {amd.override_gfx}"
        )
    results = [
        CheckResult.ok("torch.build", f"{label}: for the AMD GPUs here", details=details, data=data)
    ]
    results.append(check_rocm_kernels(build, amd, arches, target=target))
    return results


def check_rocm_kernels(
    build: TorchBuild, amd: AmdProbe, arches: tuple[str, ...] | None, *, target: FixTarget
) -> CheckResult:
    if arches is None:
        return problem("torch.rocm-arches-unknown").check(
            Status.SKIP, "torch.kernels", hip=build.hip
        )
    shown = " ".join(arches) or "none"
    missing = [g for g in amd.gpus if amd.effective_gfx(g) and amd.effective_gfx(g) not in arches]
    data = {
        "variant": build.variant,
        "arch_list": list(arches),
        "gpus": [
            {"index": g.index, "gfx": amd.effective_gfx(g), "has_kernels": g not in missing}
            for g in amd.gpus
        ],
    }
    details = [f"this build ships kernels for: {shown}"]
    if not missing:
        targets = sorted({amd.effective_gfx(g) or "gfx unknown" for g in amd.gpus})
        return CheckResult.ok(
            "torch.kernels",
            f"kernels for every AMD GPU ({', '.join(targets)}) in torch {build.version}",
            details=details,
            data=data,
        )
    gpus = _amd_gpus(missing)
    if len(missing) < len(amd.gpus):
        covered = ",".join(str(g.index) for g in amd.gpus if g not in missing)
        return problem("torch.rocm-some-gpus-no-kernels").check(
            Status.WARN,
            "torch.kernels",
            details=details,
            data=data,
            version=build.version,
            gpus=gpus,
            arches=shown,
            indices=covered,
        )
    override = None if amd.override else install_variant.rocm_override(amd, arches)
    if override is None:
        return problem("torch.rocm-no-build-runs").check(
            Status.FAIL,
            "torch.kernels",
            details=details,
            data=data,
            version=build.version,
            gpus=gpus,
            arches=shown,
            python_option=target.option,
        )
    return problem("torch.rocm-no-kernels").check(
        Status.FAIL,
        "torch.kernels",
        details=details,
        data=data,
        version=build.version,
        gpus=gpus,
        arches=shown,
        override=override,
        sibling=rocm_builds.gfx_from_override(override),
    )


# -- a Mac -------------------------------------------------------------------------------------


def wheel_tags(dist_location: str) -> tuple[str, ...]:
    """The `Tag:` lines of an installed wheel's WHEEL file ("cp312-none-macosx_11_0_arm64")."""
    try:
        text = (Path(dist_location) / "WHEEL").read_text(errors="replace")
    except OSError:
        return ()
    return tuple(
        line.partition(":")[2].strip() for line in text.splitlines() if line.startswith("Tag:")
    )


def check_mac(build: TorchBuild | None, apple: AppleFacts, tags: tuple[str, ...]) -> CheckResult:
    """torch on a Mac: the arm64 wheel, run natively, on a macOS its MPS accepts."""
    from chatenv.system.apple import mps_min_macos, version_tuple

    if build is None:
        return problem("torch.not-installed").check(Status.SKIP, "torch.build", python_option="")
    label = f"torch {build.version}"
    data = {"torch": build.to_json(), "wheel_tags": list(tags), "mac": apple.to_json()}
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    if apple.rosetta:
        return problem("torch.mps-rosetta").check(
            Status.WARN, "torch.build", data=data, label=label, version=version
        )
    if not apple.apple_silicon:
        return CheckResult.ok("torch.build", f"{label}: CPU only on an Intel Mac", data=data)
    needs = mps_min_macos(build.series)
    macos = version_tuple(apple.macos)
    needs_text = f"{needs[0]}.{needs[1]}" if needs else "?"
    if needs is not None and macos is not None and macos < needs:
        return problem("torch.mps-macos-too-old").check(
            Status.WARN,
            "torch.build",
            data=data,
            label=label,
            needs=needs_text,
            macos=apple.macos,
        )
    wheel = next((t.rsplit("-", 1)[-1] for t in tags), "")
    kind = "the macOS arm64 wheel, with MPS" if wheel.endswith("arm64") else "with MPS"
    return CheckResult.ok(
        "torch.build",
        f"{label}: {kind} (needs macOS {needs_text} or newer; this is {apple.macos or 'unknown'})",
        data=data,
    )


def collect(ctx: Context) -> list[CheckResult]:
    apple = ctx.apple
    if apple is not None:
        dist = ctx.installed.get("torch")
        return [check_mac(ctx.torch, apple, wheel_tags(dist.location) if dist else ())]
    return check_torch(ctx.torch, ctx.gpus, amd=ctx.amd)
