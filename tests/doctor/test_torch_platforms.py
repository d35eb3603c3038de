"""The torch verdict on AMD GPUs and on a Mac: installed torch files written as the wheels lay
them out (a ROCm wheel's rocBLAS kernel files, a macOS wheel's WHEEL tag) against recorded
sysfs trees and a real Mac's `sysctl` answers (tests/machines/ says where each came from)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.doctor import torch_build
from chatenv.doctor.context import Context, DoctorOptions, Seams
from chatenv.results import Status
from chatenv.system.host import Uname
from tests.fakes import machines as fake
from tests.machines import amd as machines
from tests.machines import apple as mac
from tests.sites import write_torch

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.results import CheckResult

LINUX = Uname("Linux", "6.8.0-45-generic", "x86_64")


def verdict(
    site: Path,
    root: Path,
    environ: dict[str, str] | None = None,
    lib: fake.Machine | None = None,
    uname: Uname = LINUX,
    run: mac.SysctlRunner | None = None,
) -> dict[str, CheckResult]:
    seams = Seams(
        nvml=fake.nvml(lib or fake.cpu_box()),
        sys_path=(str(site),),
        root=root,
        uname=uname,
        run=run,
    )
    options = DoctorOptions(environ=environ or {}, seams=seams)
    return {r.id: r for r in torch_build.collect(Context(options))}


# -- ROCm builds on AMD GPUs -------------------------------------------------------------------


def test_a_rocm_torch_on_an_mi300x_has_kernels_for_gfx942(tmp_path: Path) -> None:
    machines.write_torch_rocm(tmp_path / "site")
    results = verdict(tmp_path / "site", machines.write_mi300x(tmp_path / "root"))
    assert results["torch.build"].status is Status.OK
    assert results["torch.build"].summary == (
        "torch 2.5.1+rocm6.2 (ROCm 6.2.41133-dd7f95766 build): for the AMD GPUs here"
    )
    kernels = results["torch.kernels"]
    assert kernels.status is Status.OK
    assert kernels.summary == "kernels for every AMD GPU (gfx942) in torch 2.5.1+rocm6.2"
    assert "gfx942" in kernels.data["arch_list"]


def test_an_rx_6700_xt_has_no_kernels_and_gets_the_override(tmp_path: Path) -> None:
    machines.write_torch_rocm(tmp_path / "site")
    results = verdict(tmp_path / "site", machines.write_rx6700xt(tmp_path / "root"))
    kernels = results["torch.kernels"]
    assert kernels.status is Status.FAIL
    assert kernels.summary.startswith(
        "torch 2.5.1+rocm6.2 has no kernels for GPU 0 AMD Radeon RX 6700 XT (gfx1031)"
    )
    assert kernels.fix is not None
    assert kernels.fix.startswith("export HSA_OVERRIDE_GFX_VERSION=10.3.0  # runs the gfx1030")


def test_with_the_override_set_the_rx_6700_xt_runs_the_gfx1030_kernels(tmp_path: Path) -> None:
    machines.write_torch_rocm(tmp_path / "site")
    env = {"HSA_OVERRIDE_GFX_VERSION": "10.3.0"}
    results = verdict(tmp_path / "site", machines.write_rx6700xt(tmp_path / "root"), env)
    assert results["torch.kernels"].status is Status.OK
    assert "HSA_OVERRIDE_GFX_VERSION=10.3.0" in " ".join(results["torch.build"].details)


def test_an_integrated_gpu_beside_the_card_is_hidden_not_overridden(tmp_path: Path) -> None:
    """The public report's machine: an RX 7900 XTX and the Ryzen's gfx1036 iGPU."""
    machines.write_torch_rocm(tmp_path / "site")
    results = verdict(tmp_path / "site", machines.write_rx7900xtx_with_igpu(tmp_path / "root"))
    kernels = results["torch.kernels"]
    assert kernels.status is Status.WARN
    assert "GPU 1 AMD GPU (gfx1036)" in kernels.summary
    assert kernels.fix is not None and kernels.fix.startswith("export HIP_VISIBLE_DEVICES=0 ")


def test_a_rocm_torch_without_rocblas_files_is_asked_with_deep(tmp_path: Path) -> None:
    machines.write_torch_rocm(tmp_path / "site", arches=None)
    results = verdict(tmp_path / "site", machines.write_rx7900xtx(tmp_path / "root"))
    assert results["torch.kernels"].status is Status.SKIP
    assert results["torch.kernels"].fix == "chatenv doctor --deep  # asks torch itself"


def test_a_rocm_torch_without_any_gpu_suggests_the_cpu_build(tmp_path: Path) -> None:
    machines.write_torch_rocm(tmp_path / "site")
    results = verdict(tmp_path / "site", tmp_path / "empty")
    assert results["torch.build"].status is Status.WARN
    assert results["torch.build"].fix == "chatenv install local --torch cpu"


def test_a_rocm_torch_on_an_nvidia_machine_still_says_so(tmp_path: Path) -> None:
    machines.write_torch_rocm(tmp_path / "site")
    results = verdict(tmp_path / "site", tmp_path / "empty", lib=fake.one_h100())
    assert results["torch.build"].summary.endswith(
        "a build for AMD GPUs on a machine with NVIDIA GPUs"
    )


def test_a_cpu_torch_on_an_amd_machine_gets_the_rocm_build(tmp_path: Path) -> None:
    write_torch(tmp_path / "site", "2.13.0+cpu", None)
    results = verdict(tmp_path / "site", machines.write_mi300x(tmp_path / "root"))
    build = results["torch.build"]
    assert build.status is Status.WARN
    assert (
        build.summary
        == "torch 2.13.0+cpu (CPU-only build) on a machine with 8 AMD GPUs: torch will not use them"
    )
    assert build.fix == "chatenv install local --torch rocm7.2"


def test_a_cuda_torch_on_an_amd_machine_gets_the_rocm_build(tmp_path: Path) -> None:
    write_torch(tmp_path / "site", "2.13.0+cu130", "13.0")
    results = verdict(tmp_path / "site", machines.write_rx7900xtx(tmp_path / "root"))
    assert results["torch.build"].status is Status.WARN
    assert results["torch.build"].fix == "chatenv install local --torch rocm7.2"


def test_a_cpu_torch_is_right_when_no_rocm_build_runs_the_amd_gpu(tmp_path: Path) -> None:
    write_torch(tmp_path / "site", "2.13.0+cpu", None)
    results = verdict(tmp_path / "site", machines.write_rx6700xt(tmp_path / "root"))
    assert results["torch.build"].status is Status.OK


# -- a Mac -------------------------------------------------------------------------------------

WHEEL = "Wheel-Version: 1.0\nGenerator: bdist_wheel (0.45.1)\nRoot-Is-Purelib: false\nTag: {tag}\n"


def mac_torch(site: Path, version: str, tag: str = "cp312-none-macosx_11_0_arm64") -> None:
    folder = write_torch(site, version, None)
    (folder / "WHEEL").write_text(WHEEL.format(tag=tag))


def test_the_arm64_wheel_on_a_recent_macos_has_mps(tmp_path: Path) -> None:
    mac_torch(tmp_path, "2.13.0")
    results = verdict(tmp_path, tmp_path, uname=mac.NATIVE, run=mac.SysctlRunner(mac.M2_PRO))
    build = results["torch.build"]
    assert build.status is Status.OK
    assert build.summary == (
        "torch 2.13.0: the macOS arm64 wheel, with MPS (needs macOS 14.0 or newer; this is 14.4.1)"
    )
    assert list(results) == ["torch.build"]  # no CUDA kernel check on a Mac


def test_torch_2_13_on_ventura_gets_no_mps(tmp_path: Path) -> None:
    mac_torch(tmp_path, "2.13.0")
    run = mac.SysctlRunner(mac.M2_PRO_ON_VENTURA)
    build = verdict(tmp_path, tmp_path, uname=mac.NATIVE, run=run)["torch.build"]
    assert build.status is Status.WARN
    assert build.summary == (
        "torch 2.13.0 enables MPS on macOS 14.0 or newer; this Mac runs macOS 13.6.7, so torch "
        "runs on the CPU"
    )
    assert build.fix is not None and build.fix.startswith("softwareupdate --list")


def test_an_x86_64_torch_under_rosetta_warns(tmp_path: Path) -> None:
    mac_torch(tmp_path, "2.2.2", "cp312-none-macosx_10_9_x86_64")
    run = mac.SysctlRunner(mac.M2_PRO_UNDER_ROSETTA)
    build = verdict(tmp_path, tmp_path, uname=mac.ROSETTA, run=run)["torch.build"]
    assert build.status is Status.WARN and "under Rosetta" in build.summary
    assert build.fix is not None and "macos-aarch64" in build.fix
