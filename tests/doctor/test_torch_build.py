"""The torch verdict: installed torch files (written as the wheel lays them out), crossed with
the driver and every GPU, through the real reader and NVML answering as real machines do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.doctor import torch_build
from chatenv.doctor.context import Context, DoctorOptions, Seams
from chatenv.install.variant import suggest
from chatenv.results import Status
from tests.fakes import machines as fake
from tests.sites import write_dist, write_torch

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.results import CheckResult


def _verdict(site: Path, lib: fake.Machine) -> dict[str, CheckResult]:
    options = DoctorOptions(environ={}, seams=Seams(nvml=fake.nvml(lib), sys_path=(str(site),)))
    return {r.id: r for r in torch_build.collect(Context(options))}


def test_no_torch_is_a_skip_with_install_fix(tmp_path: Path) -> None:
    write_dist(tmp_path, "rich", "15.0.0")
    results = _verdict(tmp_path, fake.one_h100())
    assert results["torch.build"].status is Status.SKIP
    assert results["torch.build"].fix == "chatenv install local"


def test_cpu_torch_on_cpu_box_is_ok(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cpu", None)
    results = _verdict(tmp_path, fake.cpu_box())
    assert results["torch.build"].status is Status.OK
    assert "torch.kernels" not in results


def test_cpu_torch_on_gpu_machine_warns_with_install_fix(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cpu", None)
    build = _verdict(tmp_path, fake.eight_h100())["torch.build"]
    assert build.status is Status.WARN
    assert "8 NVIDIA GPUs" in build.summary
    # torch 2.13 ships cu126, cu130 and cu132; a 570 driver cannot run CUDA 13 builds
    assert build.fix == "chatenv install local --torch cu126"
    assert (
        "without chatenv: python -m pip install --force-reinstall torch==2.13.0 "
        "--index-url https://download.pytorch.org/whl/cu126"
    ) in build.details


def test_cuda_build_too_new_for_the_driver_fails_with_a_build_it_can_run(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu130", "13.0")
    build = _verdict(tmp_path, fake.one_h100(driver="550.54.15", cuda=12040))["torch.build"]
    assert build.status is Status.FAIL
    assert "needs a driver for CUDA 13.0 (>= 580)" in build.summary
    assert "driver 550.54.15 (supports CUDA 12.4)" in build.summary
    assert build.fix == "chatenv install local --torch cu126"
    assert "or upgrade the NVIDIA driver to 580 or newer" in build.details


def test_old_driver_and_pascal_gpu_get_a_build_both_can_run(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu128", "12.8")
    results = _verdict(tmp_path, fake.old_driver_gtx1080ti())
    assert results["torch.build"].status is Status.FAIL
    assert results["torch.build"].fix == "chatenv install local --torch cu118"
    kernels = results["torch.kernels"]
    assert kernels.status is Status.FAIL
    assert "sm_61" in kernels.summary and "no kernel image is available" in kernels.summary


def test_pascal_gpu_on_current_driver_fails_on_kernels_only(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu128", "12.8")
    results = _verdict(tmp_path, fake.gtx1080ti_current_driver())
    assert results["torch.build"].status is Status.OK
    kernels = results["torch.kernels"]
    assert kernels.status is Status.FAIL
    assert kernels.fix == "chatenv install local --torch cu126"
    assert kernels.data["arch_list"][0] == "sm_75"  # CUDA 13 builds start at Turing


def test_blackwell_gpu_needs_a_cuda_12_8_build(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu126", "12.6")
    kernels = _verdict(tmp_path, fake.rtx5090())["torch.kernels"]
    assert kernels.status is Status.FAIL and "sm_120" in kernels.summary
    # the 570 driver cannot run torch 2.13's CUDA 13 builds; torch 2.11's cu128 has sm_120
    assert kernels.fix == "chatenv install local --torch cu128"


def test_right_build_on_eight_h100_is_ok(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu128", "12.8")
    results = _verdict(tmp_path, fake.eight_h100())
    assert results["torch.build"].status is Status.OK
    assert results["torch.kernels"].status is Status.OK
    assert results["torch.kernels"].summary.startswith("kernels for every GPU (sm_90)")


def test_mig_a100_with_cu126_is_ok(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu126", "12.6")
    results = _verdict(tmp_path, fake.mig_enabled_a100())
    assert {r.status for r in results.values()} == {Status.OK}


def test_cuda_build_without_gpu_warns_with_cpu_fix(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu128", "12.8")
    build = _verdict(tmp_path, fake.cpu_box())["torch.build"]
    assert build.status is Status.WARN and build.fix == "chatenv install local --torch cpu"


def test_cuda_build_with_unreadable_driver_is_skipped_not_guessed(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu128", "12.8")
    build = _verdict(tmp_path, fake.version_mismatch())["torch.build"]
    assert build.status is Status.SKIP


def test_build_missing_from_the_table_is_judged_by_cuda_major(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.5.0+cu122", "12.2")
    results = _verdict(tmp_path, fake.one_h100())
    assert results["torch.build"].status is Status.OK
    assert results["torch.kernels"].status is Status.SKIP


def test_rocm_build_on_nvidia_machine_warns(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+rocm6.4", None, hip="6.4.43482")
    build = _verdict(tmp_path, fake.one_h100())["torch.build"]
    assert build.status is Status.WARN and "ROCm" in build.summary


def test_files_and_metadata_disagreeing_is_a_broken_install(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu128", "12.8", dist_version="2.12.0+cpu")
    build = _verdict(tmp_path, fake.one_h100())["torch.build"]
    assert build.status is Status.WARN and "half-replaced" in build.summary


def test_unparsable_version_file_warns(tmp_path: Path) -> None:
    write_torch(tmp_path)
    (tmp_path / "torch" / "version.py").write_text("this is not python (\n")
    build = _verdict(tmp_path, fake.one_h100())["torch.build"]
    assert build.status is Status.WARN and "cannot read" in build.summary


def test_suggestion_prefers_the_newest_build_every_gpu_can_run() -> None:
    mixed = fake.Machine(
        driver="570.86.15",
        cuda=12080,
        gpus=[fake.Gpu(cc=(9, 0)), fake.Gpu(cc=(6, 1), uuid="GPU-other")],
    )
    found = fake.probe(mixed)
    assert suggest(found) == "cu126"


# --- forward compatibility, libcuda, releases newer than the table ----------------------------


def test_cu130_torch_in_a_forward_compat_container_runs(tmp_path: Path) -> None:
    """cuda-compat 13.0 on an R535 driver: NVML reports 13.0, so the cu130 build runs, where
    the driver-branch rule alone (>= 580) would have failed it."""
    write_torch(tmp_path, "2.13.0+cu130", "13.0")
    results = _verdict(tmp_path, fake.forward_compat_container())
    build = results["torch.build"]
    assert build.status is Status.OK
    assert "supports CUDA 13.0 through forward compatibility" in build.summary
    assert any(d.startswith("forward compatibility:") for d in build.details)
    assert results["torch.kernels"].status is Status.OK


def test_the_same_driver_without_compat_libraries_still_fails_cuda_13(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu130", "13.0")
    build = _verdict(tmp_path, fake.one_h100(driver="535.161.08", cuda=12020))["torch.build"]
    assert build.status is Status.FAIL and "needs a driver for CUDA 13.0 (>= 580)" in build.summary


def test_cuda_torch_without_libcuda_points_at_the_gpu_finding(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu126", "12.6")
    build = _verdict(tmp_path, fake.no_libcuda_container())["torch.build"]
    assert build.status is Status.SKIP and "without the CUDA driver library" in build.summary


def test_torch_2_15_is_checked_with_assumed_architectures_and_says_so(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.15.0+cu130", "13.0")
    results = _verdict(tmp_path, fake.one_h100(driver="580.65.06", cuda=13000))
    assert results["torch.build"].status is Status.OK
    kernels = results["torch.kernels"]
    assert kernels.status is Status.OK
    assert kernels.summary == (
        "kernels for every GPU (sm_90) in torch 2.15.0+cu130 "
        "(assumed: torch 2.15's arch lists are not published)"
    )
    assert kernels.data["assumed"] is True


def test_torch_2_15_on_a_pascal_gpu_fails_and_the_verdict_says_it_assumed(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.15.0+cu130", "13.0")
    kernels = _verdict(tmp_path, fake.mixed_h100_1080ti())["torch.kernels"]
    assert kernels.status is Status.FAIL
    assert "GPU 0 NVIDIA GeForce GTX 1080 Ti (sm_61)" in kernels.summary
    assert "assumed: torch 2.15's arch lists are not published" in kernels.summary
    assert kernels.fix == "chatenv install local --torch cu126"  # torch 2.14 still has it


def test_release_newer_than_the_table_borrows_the_newest_known_facts(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.16.0+cu132", "13.2")
    results = _verdict(tmp_path, fake.one_h100(driver="580.65.06", cuda=13000))
    build = results["torch.build"]
    assert build.status is Status.OK
    assert any("newer than chatenv's table" in d for d in build.details)
    kernels = results["torch.kernels"]
    assert kernels.status is Status.OK
    assert kernels.summary.endswith("(assumed from torch 2.15's cu132 build)")
    assert kernels.data["assumed_from"] == "2.15"


def test_new_cuda_variant_of_a_newer_release_gets_its_cuda_majors_driver_rule(
    tmp_path: Path,
) -> None:
    write_torch(tmp_path, "2.16.0+cu134", "13.4")
    results = _verdict(tmp_path, fake.eight_h100())  # driver 570: CUDA 12.8
    build = results["torch.build"]
    assert build.status is Status.FAIL
    assert "needs a driver for CUDA 13.4 (>= 580)" in build.summary
    assert any("assumed from CUDA 13.x" in d for d in build.details)
