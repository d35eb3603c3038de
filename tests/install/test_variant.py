"""The torch variant choice, as a pure function of the machine: driver versions (none, too old,
each boundary, newest), GPU architectures (Pascal, Volta, Hopper, Blackwell, mixed, MIG),
explicit variants, and which installed builds are kept."""

from __future__ import annotations

import pytest

from chatenv.errors import UsageError
from chatenv.install.variant import (
    AUTO,
    CPU,
    Machine,
    choose,
    judge_installed,
    parse_request,
)
from chatenv.pep440 import SpecifierSet
from chatenv.system.nvml import CudaVersion, DriverInfo, GpuInfo, GpuProbe, ProbeState
from chatenv.torch_builds import CPU_INDEX_URL
from tests.fakes import machines as fake

PINS = SpecifierSet(">=2.4,<2.14")

H100 = GpuInfo(0, "NVIDIA H100 80GB HBM3", compute_capability=(9, 0))
GTX_1080_TI = GpuInfo(0, "NVIDIA GeForce GTX 1080 Ti", compute_capability=(6, 1))
V100 = GpuInfo(0, "Tesla V100-SXM2-32GB", compute_capability=(7, 0))
RTX_4090 = GpuInfo(1, "NVIDIA GeForce RTX 4090", compute_capability=(8, 9))
RTX_5090 = GpuInfo(0, "NVIDIA GeForce RTX 5090", compute_capability=(12, 0))
K80 = GpuInfo(0, "Tesla K80", compute_capability=(3, 7))
A100_MIG = GpuInfo(0, "NVIDIA A100-SXM4-40GB", compute_capability=(8, 0), mig_enabled=True)
GB10 = GpuInfo(0, "NVIDIA GB10", compute_capability=(12, 1))


def gpu_box(
    driver: str, cuda: tuple[int, int] | None, *gpus: GpuInfo, platform: str = "linux"
) -> Machine:
    info = DriverInfo(driver, CudaVersion(*cuda) if cuda else None)
    return Machine(platform, "x86_64", GpuProbe(ProbeState.OK, info, tuple(gpus)))


def no_gpu(state: ProbeState = ProbeState.NO_LIBRARY, platform: str = "linux") -> Machine:
    return Machine(platform, "x86_64", GpuProbe(state, error="NVML: library not found"))


def pick(machine: Machine, request: str = AUTO, series: str = "2.13", **kw: bool) -> str:
    return choose(request, machine, series, spec=PINS, **kw).variant


# --- no GPU -----------------------------------------------------------------------------------


def test_cpu_box_gets_cpu_build_from_pytorch_cpu_index_on_linux() -> None:
    choice = choose(AUTO, no_gpu(), "2.13", spec=PINS)
    assert choice.variant == CPU
    assert choice.index_url == CPU_INDEX_URL
    assert choice.warning is None
    assert any("no NVIDIA driver" in r for r in choice.reasons)


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_cpu_build_on_macos_and_windows_comes_from_pypi(platform: str) -> None:
    choice = choose(AUTO, no_gpu(platform=platform), "2.13", spec=PINS)
    assert (choice.variant, choice.index_url) == (CPU, None)
    explicit = choose(CPU, no_gpu(platform=platform), "2.13", spec=PINS)
    assert explicit.index_url is None


def test_real_probe_of_a_machine_without_driver_leads_to_cpu() -> None:
    machine = Machine("linux", "x86_64", fake.probe(fake.cpu_box()))
    assert pick(machine) == CPU


def test_driver_loaded_without_gpus_is_cpu_without_warning() -> None:
    machine = Machine("linux", "x86_64", fake.probe(fake.no_devices()))
    choice = choose(AUTO, machine, "2.13", spec=PINS)
    assert choice.variant == CPU and choice.warning is None


@pytest.mark.parametrize(
    "state", [ProbeState.NO_DRIVER, ProbeState.VERSION_MISMATCH, ProbeState.NO_PERMISSION]
)
def test_broken_driver_falls_back_to_cpu_with_a_warning(state: ProbeState) -> None:
    choice = choose(AUTO, no_gpu(state), "2.13", spec=PINS)
    assert choice.variant == CPU
    assert choice.warning is not None and "CPU build" in choice.warning


# --- driver versions: too old, each boundary, newest ------------------------------------------


@pytest.mark.parametrize(
    ("driver", "cuda", "expected"),
    [
        ("450.80.02", (11, 0), CPU),  # too old for any torch 2.13 build (cu126 needs 525.60.13)
        ("525.60.12", (12, 0), CPU),  # one below the 12.x minimum
        ("525.60.13", (12, 0), "cu126"),  # exactly the 12.x minimum: minor version compatibility
        ("550.54.15", (12, 4), "cu126"),
        ("575.64.05", (12, 9), "cu126"),  # the newest 12.x driver still cannot run CUDA 13 builds
        ("579.99", (12, 9), "cu126"),
        ("580", (13, 0), "cu132"),  # 13.x minimum: every 13.x build through minor compatibility
        ("580.65.06", (13, 0), "cu132"),
        ("595.45.04", (13, 2), "cu132"),  # newest
    ],
)
def test_auto_picks_newest_variant_the_driver_supports(
    driver: str, cuda: tuple[int, int], expected: str
) -> None:
    assert pick(gpu_box(driver, cuda, H100)) == expected


def test_driver_reporting_old_cuda_major_is_not_trusted_with_newer_builds() -> None:
    # A version string packaging cannot parse: the CUDA version NVML reports decides.
    assert pick(gpu_box("r580 beta", (13, 0), H100)) == "cu132"
    assert pick(gpu_box("r570 beta", (12, 8), H100)) == "cu126"


def test_older_torch_release_gets_its_own_variants() -> None:
    # torch 2.10 ships cu126, cu128, cu130: a 570 driver gets cu128 there, cu126 on 2.13.
    machine = gpu_box("570.86.15", (12, 8), H100)
    assert pick(machine, series="2.10") == "cu128"
    assert pick(machine, series="2.13") == "cu126"
    assert pick(gpu_box("470.256.02", (11, 4), H100), series="2.7") == "cu118"


def test_windows_uses_windows_driver_minimums() -> None:
    # 527.x is enough for 12.x on Linux numbering but below Windows' 528.33.
    assert pick(gpu_box("527.41", (12, 0), H100, platform="win32")) == CPU
    assert pick(gpu_box("528.33", (12, 0), H100, platform="win32")) == "cu126"


# --- GPU architectures ------------------------------------------------------------------------


def test_gtx_1080_ti_never_gets_a_build_without_sm_6x_kernels() -> None:
    choice = choose(AUTO, gpu_box("580.65.06", (13, 0), GTX_1080_TI), "2.13", spec=PINS)
    assert choice.variant == "cu126"  # the only 2.13 build with sm_60 (runs on 6.1)
    text = " ".join(choice.reasons)
    assert "not cu132" in text and "not cu130" in text and "sm_61" in text


def test_gtx_1080_ti_on_old_driver_gets_cpu_and_a_fix_naming_both_ways_out() -> None:
    choice = choose(AUTO, probe_machine(fake.old_driver_gtx1080ti()), "2.13", spec=PINS)
    assert choice.variant == CPU
    assert choice.warning is not None
    assert choice.fix is not None
    assert ">= 525.60.13" in choice.fix  # cu126 has Pascal kernels once the driver allows it
    assert "--torch cu118" in choice.fix and "2.7" in choice.fix


def test_kepler_gpu_gets_cpu_and_is_told_no_release_has_kernels() -> None:
    choice = choose(
        AUTO,
        gpu_box("580.65.06", (13, 0), GpuInfo(0, "K40", compute_capability=(3, 5))),
        "2.13",
        spec=PINS,
    )
    assert choice.variant == CPU
    assert choice.fix == "no PyTorch release within the pins has kernels for this GPU"


def test_volta_skips_cuda13_builds() -> None:
    assert pick(gpu_box("580.65.06", (13, 0), V100)) == "cu126"
    assert pick(gpu_box("570.86.15", (12, 8), V100), series="2.10") == "cu128"  # 2.10 kept sm_70
    assert pick(gpu_box("570.86.15", (12, 8), V100), series="2.11") == "cu126"  # 2.11 dropped it


def test_blackwell_needs_a_build_with_sm_120() -> None:
    assert pick(gpu_box("580.65.06", (13, 0), RTX_5090)) == "cu132"
    # A 12.x driver cannot run CUDA 13 builds, and cu126 has no Blackwell kernels.
    assert pick(gpu_box("575.64.05", (12, 9), RTX_5090)) == CPU
    assert pick(gpu_box("575.64.05", (12, 9), RTX_5090), series="2.10") == "cu128"


def test_mixed_gpus_need_kernels_for_every_gpu() -> None:
    machine = gpu_box("580.65.06", (13, 0), GTX_1080_TI, RTX_4090)
    assert pick(machine) == "cu126"
    assert pick(gpu_box("580.65.06", (13, 0), H100, RTX_4090)) == "cu132"


def test_mig_gpu_is_judged_by_its_compute_capability() -> None:
    choice = choose(AUTO, gpu_box("535.161.08", (12, 2), A100_MIG), "2.13", spec=PINS)
    assert choice.variant == "cu126"
    assert any("MIG enabled" in r for r in choice.reasons)
    assert pick(probe_machine(fake.mig_enabled_a100())) == "cu126"


def test_gpu_without_compute_capability_does_not_block_a_build() -> None:
    unknown = GpuInfo(0, "NVIDIA something", unavailable=("compute capability: Not Supported",))
    assert pick(gpu_box("580.65.06", (13, 0), unknown)) == "cu132"


def test_aarch64_builds_have_only_arm_gpu_architectures() -> None:
    machine = Machine(
        "linux",
        "aarch64",
        GpuProbe(ProbeState.OK, DriverInfo("580.95.05", CudaVersion(13, 0)), (GB10,)),
    )
    assert pick(machine) == "cu132"
    # aarch64 wheels drop everything below 8.0: a Turing card (7.5) has no kernels there,
    # while x86_64 wheels have sm_75.
    turing = GpuInfo(0, "NVIDIA T4", compute_capability=(7, 5))
    arm_t4 = Machine(
        "linux",
        "aarch64",
        GpuProbe(ProbeState.OK, DriverInfo("580.95.05", CudaVersion(13, 0)), (turing,)),
    )
    assert pick(arm_t4) == CPU
    assert pick(gpu_box("580.95.05", (13, 0), turing)) == "cu132"


def test_eight_h100_box_from_the_probe() -> None:
    assert pick(probe_machine(fake.eight_h100())) == "cu126"  # driver 570: 12.x builds only


def probe_machine(library: fake.Machine) -> Machine:
    return Machine("linux", "x86_64", fake.probe(library))


# --- explicit variants ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("auto", "auto"), ("CPU", "cpu"), ("cu130", "cu130"), ("13.0", "cu130"), ("cu12.6", "cu126")],
)
def test_torch_request_is_normalised(text: str, expected: str) -> None:
    assert parse_request(text) == expected


@pytest.mark.parametrize("text", ["cu999", "rocm9.9", "cuda", "", "gpu"])
def test_unknown_torch_variant_is_a_usage_error_listing_the_known_ones(text: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_request(text)
    assert "unknown torch variant" in err.value.message
    assert "cu130" in err.value.message and "cpu" in err.value.message


def test_explicit_variant_the_machine_runs_is_chosen() -> None:
    choice = choose("cu126", gpu_box("580.65.06", (13, 0), H100), "2.13", spec=PINS)
    assert (choice.variant, choice.refusal) == ("cu126", None)
    assert choice.index_url == "https://download.pytorch.org/whl/cu126"


def test_explicit_cuda_variant_on_a_cpu_box_is_refused_unless_forced() -> None:
    refused = choose("cu130", no_gpu(), "2.13", spec=PINS)
    assert refused.refusal is not None and "cu130 cannot run" in refused.refusal
    assert refused.fix is not None and "--force" in refused.fix
    forced = choose("cu130", no_gpu(), "2.13", spec=PINS, force=True)
    assert forced.refusal is None and forced.forced


def test_explicit_variant_too_new_for_the_driver_names_the_minimum() -> None:
    refused = choose("cu130", gpu_box("550.54.15", (12, 4), H100), "2.13", spec=PINS)
    assert refused.refusal is not None and ">= 580" in refused.refusal
    old = choose("cu118", gpu_box("440.33.01", (10, 2), GTX_1080_TI), "2.13", spec=PINS)
    assert old.refusal is not None and "needs driver >= 450.80.02 (CUDA 11.x)" in old.refusal


def test_explicit_variant_without_kernels_for_the_gpu_is_refused() -> None:
    refused = choose("cu130", gpu_box("580.65.06", (13, 0), GTX_1080_TI), "2.13", spec=PINS)
    assert refused.refusal is not None and "GTX 1080 Ti" in refused.refusal


def test_explicit_variant_the_pinned_release_does_not_ship_uses_the_newest_that_does() -> None:
    choice = choose("cu118", gpu_box("470.256.02", (11, 4), GTX_1080_TI), "2.13", spec=PINS)
    assert (choice.variant, choice.series, choice.refusal) == ("cu118", "2.7", None)
    assert any("torch 2.13 ships no cu118" in r for r in choice.reasons)


def test_cuda_on_macos_is_refused_even_with_force() -> None:
    choice = choose("cu130", no_gpu(platform="darwin"), "2.13", spec=PINS, force=True)
    assert choice.refusal is not None and choice.final


def test_explicit_cpu_on_a_gpu_box_is_honoured_and_noted() -> None:
    choice = choose(CPU, gpu_box("580.65.06", (13, 0), H100), "2.13", spec=PINS)
    assert choice.variant == CPU and choice.index_url == CPU_INDEX_URL
    assert any("1 NVIDIA GPU" in r for r in choice.reasons)


# --- installed builds -------------------------------------------------------------------------


def test_auto_keeps_a_working_cuda_build_instead_of_churning_it() -> None:
    machine = gpu_box("580.65.06", (13, 0), H100)
    assert judge_installed(AUTO, "cu126", "2.13", machine).keep


def test_auto_replaces_a_cpu_build_on_a_gpu_box() -> None:
    verdict = judge_installed(AUTO, CPU, "2.13", gpu_box("580.65.06", (13, 0), H100))
    assert not verdict.keep and "CPU build" in verdict.reason


def test_auto_keeps_the_cpu_build_when_no_cuda_build_of_the_release_runs_here() -> None:
    # driver 470 tops out at CUDA 11.4; torch 2.13 ships only 12.6+ builds: auto chooses CPU,
    # so the installed CPU build must count as kept, or every run would reinstall it.
    machine = gpu_box("470.256.02", (11, 4), GTX_1080_TI)
    assert choose(AUTO, machine, "2.13").variant == CPU
    verdict = judge_installed(AUTO, CPU, "2.13", machine)
    assert verdict.keep and "no CUDA build of torch 2.13" in verdict.reason


def test_auto_replaces_a_build_the_driver_cannot_run() -> None:
    verdict = judge_installed(AUTO, "cu130", "2.13", gpu_box("550.54.15", (12, 4), H100))
    assert not verdict.keep and "needs driver" in verdict.reason


def test_auto_replaces_a_build_without_kernels_for_the_gpu() -> None:
    verdict = judge_installed(AUTO, "cu130", "2.13", gpu_box("580.65.06", (13, 0), GTX_1080_TI))
    assert not verdict.keep and "sm_61" in verdict.reason


def test_auto_keeps_cpu_build_on_cpu_box_and_cuda_build_too() -> None:
    assert judge_installed(AUTO, CPU, "2.13", no_gpu()).keep
    kept = judge_installed(AUTO, "cu130", "2.13", no_gpu())
    assert kept.keep and "--torch cpu" in kept.reason


def test_explicit_request_keeps_only_that_variant() -> None:
    machine = gpu_box("580.65.06", (13, 0), H100)
    assert judge_installed("cu126", "cu126", "2.13", machine).keep
    assert not judge_installed("cu130", "cu126", "2.13", machine).keep
    assert not judge_installed(CPU, "cu126", "2.13", no_gpu()).keep


def test_unknown_build_is_never_kept() -> None:
    assert not judge_installed(AUTO, None, "2.13", no_gpu()).keep
    assert not judge_installed(AUTO, "rocm", "2.13", gpu_box("580.65.06", (13, 0), H100)).keep


# --- torch 2.14 and 2.15 ----------------------------------------------------------------------

NEXT = SpecifierSet(">=2.4,<2.16")  # pins that would let 2.15 in


@pytest.mark.parametrize(
    ("machine", "v214", "v215"),
    [
        (gpu_box("580.65.06", (13, 0), H100), "cu132", "cu132"),
        (gpu_box("570.86.15", (12, 8), H100), "cu126", CPU),  # 2.15 has no CUDA 12 build
        (gpu_box("580.65.06", (13, 0), GTX_1080_TI), "cu126", CPU),  # nor Pascal kernels
        (gpu_box("580.65.06", (13, 0), V100), "cu126", CPU),  # nor Volta
        (gpu_box("580.65.06", (13, 0), RTX_5090), "cu132", "cu132"),
    ],
)
def test_auto_for_torch_2_14_and_2_15(machine: Machine, v214: str, v215: str) -> None:
    assert choose(AUTO, machine, "2.14", spec=NEXT).variant == v214
    assert choose(AUTO, machine, "2.15", spec=NEXT).variant == v215


def test_pascal_gpu_on_2_15_is_sent_to_2_14s_cu126() -> None:
    choice = choose(AUTO, gpu_box("580.65.06", (13, 0), GTX_1080_TI), "2.15", spec=NEXT)
    assert choice.variant == CPU and choice.fix is not None
    assert "use --torch cu126 (torch 2.14, the newest release that runs here)" in choice.fix
    assert any("assumed" in r for r in choice.reasons)  # 2.15's arch lists are assumed


def test_explicit_cu126_on_2_15_takes_the_newest_release_that_ships_it() -> None:
    choice = choose("cu126", gpu_box("580.65.06", (13, 0), GTX_1080_TI), "2.15", spec=NEXT)
    assert (choice.variant, choice.series, choice.refusal) == ("cu126", "2.14", None)


def test_forward_compat_driver_gets_a_cuda_13_build() -> None:
    info = DriverInfo("535.161.08", CudaVersion(13, 0))  # cuda-compat 13.0 on R535
    machine = Machine("linux", "x86_64", GpuProbe(ProbeState.OK, info, (H100,)))
    choice = choose(AUTO, machine, "2.14", spec=NEXT)
    assert choice.variant == "cu132"
    assert any("forward compatibility" in r for r in choice.reasons)


# --- platforms: which wheels exist ------------------------------------------------------------


def arm_box(*gpus: GpuInfo, driver: str = "580.65.06", cuda: tuple[int, int] = (13, 0)) -> Machine:
    info = DriverInfo(driver, CudaVersion(*cuda))
    return Machine("linux", "aarch64", GpuProbe(ProbeState.OK, info, tuple(gpus)))


def test_aarch64_is_never_offered_a_wheel_that_does_not_exist() -> None:
    """torch 2.7 has no aarch64 cu118 (or cu126) wheel: the old table suggested one."""
    machine = arm_box(H100, driver="570.86.15", cuda=(12, 8))
    choice = choose("cu118", machine, "2.7", spec=SpecifierSet(">=2.4,<2.8"))
    assert choice.refusal == (
        "no torch release allowed by the pins (<2.8,>=2.4) ships a cu118 wheel for Linux aarch64"
    )
    assert choice.final  # --force cannot make a wheel exist
    assert choose(AUTO, machine, "2.7", spec=SpecifierSet(">=2.4,<2.8")).variant == "cu128"


def test_aarch64_torch_2_6_is_sm_90_only_so_an_a100_gets_nothing_from_it() -> None:
    a100 = GpuInfo(0, "NVIDIA A100-SXM4-80GB", compute_capability=(8, 0))
    machine = arm_box(a100, driver="570.86.15", cuda=(12, 8))
    assert choose(AUTO, machine, "2.6", spec=SpecifierSet("<2.7")).variant == CPU
    assert choose(AUTO, arm_box(H100, driver="570.86.15", cuda=(12, 8)), "2.6").variant == "cu126"


def test_windows_on_arm_has_no_cuda_wheels() -> None:
    info = DriverInfo("580.88", CudaVersion(13, 0))
    machine = Machine("win32", "ARM64", GpuProbe(ProbeState.OK, info, (RTX_4090,)))
    choice = choose(AUTO, machine, "2.14", spec=NEXT)
    assert choice.variant == CPU
    assert any("ships no CUDA builds (and cpu) for Windows ARM64" in r for r in choice.reasons)
