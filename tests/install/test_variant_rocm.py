"""The ROCm choice: a Linux x86_64 machine whose only GPUs are AMD's gets the ROCm build of the
pinned torch (the recorded sysfs trees of tests/machines/amd.py, read by the real probe); an
explicit --torch rocmX.Y is refused where it cannot run; installed ROCm builds are kept or
replaced like CUDA ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from chatenv.install.variant import AUTO, CPU, Machine, choose, judge_installed, parse_request
from chatenv.pep440 import SpecifierSet
from chatenv.system import amd
from chatenv.system.nvml import GpuInfo, GpuProbe, ProbeState
from tests.machines import amd as machines

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

PINS = SpecifierSet(">=2.4,<2.14")
NO_NVIDIA = GpuProbe(ProbeState.NO_LIBRARY, error="NVML Shared Library Not Found")


def machine(
    tmp_path: Path,
    write: Callable[[Path], Path],
    environ: dict[str, str] | None = None,
    platform: str = "linux",
    arch: str = "x86_64",
    nvidia: GpuProbe = NO_NVIDIA,
) -> Machine:
    return Machine(platform, arch, nvidia, amd=amd.probe(write(tmp_path), environ or {}))


def test_an_mi300x_gets_the_rocm_build_of_the_pinned_release(tmp_path: Path) -> None:
    choice = choose(AUTO, machine(tmp_path, machines.write_mi300x), "2.13", spec=PINS)
    assert choice.variant == "rocm7.2" and choice.series == "2.13"
    assert choice.index_url == "https://download.pytorch.org/whl/rocm7.2"
    assert choice.warning is None
    assert any("AMD Instinct MI300X (gfx942)" in r for r in choice.reasons)


def test_an_older_release_gets_its_newest_rocm_variant(tmp_path: Path) -> None:
    choice = choose(AUTO, machine(tmp_path, machines.write_rx7900xtx), "2.9", spec=PINS)
    assert choice.variant == "rocm6.4"


def test_an_rx_6700_xt_falls_back_to_cpu_with_the_override_as_the_way(tmp_path: Path) -> None:
    choice = choose(AUTO, machine(tmp_path, machines.write_rx6700xt), "2.13", spec=PINS)
    assert choice.variant == CPU
    assert choice.warning == (
        "no ROCm build of torch 2.13 has kernels for GPU 0 AMD Radeon RX 6700 XT (gfx1031): "
        "choosing the CPU build"
    )
    assert choice.fix == "export HSA_OVERRIDE_GFX_VERSION=10.3.0 && chatenv install local"


def test_with_the_override_the_rx_6700_xt_gets_rocm(tmp_path: Path) -> None:
    env = {"HSA_OVERRIDE_GFX_VERSION": "10.3.0"}
    choice = choose(AUTO, machine(tmp_path, machines.write_rx6700xt, env), "2.13", spec=PINS)
    assert choice.variant == "rocm7.2"


def test_a_card_beside_an_unsupported_igpu_still_gets_rocm(tmp_path: Path) -> None:
    choice = choose(AUTO, machine(tmp_path, machines.write_rx7900xtx_with_igpu), "2.13", spec=PINS)
    assert choice.variant == "rocm7.2"
    assert any("no kernels for GPU 1" in r for r in choice.reasons)


def test_nvidia_gpus_win_over_amd_ones(tmp_path: Path) -> None:
    from chatenv.system.nvml import CudaVersion, DriverInfo

    h100 = GpuProbe(
        ProbeState.OK,
        DriverInfo("580.65.06", CudaVersion(13, 0)),
        (GpuInfo(0, "NVIDIA H100 80GB HBM3", compute_capability=(9, 0)),),
    )
    m = machine(tmp_path, machines.write_rx7900xtx, nvidia=h100)
    assert choose(AUTO, m, "2.13", spec=PINS).variant.startswith("cu")


def test_no_rocm_build_on_aarch64(tmp_path: Path) -> None:
    m = machine(tmp_path, machines.write_mi300x, arch="aarch64")
    assert choose(AUTO, m, "2.13", spec=PINS).variant == CPU


@pytest.mark.parametrize("text", ["rocm7.2", "ROCm7.2", "rocm72"])
def test_rocm_requests_parse(text: str) -> None:
    assert parse_request(text) == "rocm7.2"


def test_an_explicit_rocm_variant_on_a_machine_that_runs_it(tmp_path: Path) -> None:
    choice = choose("rocm7.2", machine(tmp_path, machines.write_mi300x), "2.13", spec=PINS)
    assert choice.refusal is None and choice.variant == "rocm7.2"


def test_an_explicit_rocm_variant_the_release_lacks_moves_to_one_that_ships_it(
    tmp_path: Path,
) -> None:
    choice = choose("rocm6.4", machine(tmp_path, machines.write_mi300x), "2.13", spec=PINS)
    assert choice.refusal is None and choice.series == "2.9"


def test_an_explicit_rocm_variant_without_an_amd_gpu_is_refused_unless_forced(
    tmp_path: Path,
) -> None:
    m = machine(tmp_path, lambda root: root)
    refused = choose("rocm7.2", m, "2.13", spec=PINS)
    assert refused.refusal is not None and "no AMD GPU here" in refused.refusal
    assert choose("rocm7.2", m, "2.13", spec=PINS, force=True).forced


def test_an_explicit_rocm_variant_on_macos_is_refused_for_good(tmp_path: Path) -> None:
    choice = choose(
        "rocm7.2",
        machine(tmp_path, lambda r: r, platform="darwin", arch="arm64"),
        "2.13",
        spec=PINS,
    )
    assert choice.final and choice.refusal == (
        "PyTorch publishes ROCm builds for Linux on x86_64 only, not darwin on arm64"
    )


def test_an_installed_rocm_build_that_runs_is_kept(tmp_path: Path) -> None:
    m = machine(tmp_path, machines.write_mi300x)
    assert judge_installed(AUTO, "rocm7.2", "2.13", m).keep
    assert not judge_installed(AUTO, "cpu", "2.13", m).keep
    assert not judge_installed(AUTO, "cu130", "2.13", m).keep


def test_an_installed_rocm_build_without_an_amd_gpu_is_replaced(tmp_path: Path) -> None:
    verdict = judge_installed(AUTO, "rocm7.2", "2.13", machine(tmp_path, lambda r: r))
    assert not verdict.keep and "no AMD GPU" in verdict.reason


def test_the_cpu_build_stays_where_no_rocm_build_runs(tmp_path: Path) -> None:
    assert judge_installed(AUTO, "cpu", "2.13", machine(tmp_path, machines.write_rx6700xt)).keep
