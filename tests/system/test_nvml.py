"""The NVML probe against answers a real NVML gives (tests/fakes/nvml.py) and the real one."""

from __future__ import annotations

import pynvml
import pytest

from chatenv.system.nvml import CudaVersion, ProbeState, probe
from tests.fakes import nvml as fake


def test_cpu_box_without_driver_library_reports_no_library() -> None:
    result = probe(fake.cpu_box())
    assert result.state is ProbeState.NO_LIBRARY
    assert not result.has_gpu and result.driver is None
    assert "Not Found" in (result.error or "")


def test_real_nvml_on_this_machine_does_not_crash() -> None:
    result = probe()
    # CI has no NVIDIA driver; a GPU machine must come back OK with at least one GPU.
    if result.state is ProbeState.OK:
        assert result.gpus and result.driver is not None
    else:
        assert result.state in (ProbeState.NO_LIBRARY, ProbeState.NO_DRIVER, ProbeState.NO_DEVICE)


def test_one_h100_reads_every_field_and_shuts_nvml_down() -> None:
    lib = fake.one_h100()
    result = probe(lib)
    assert result.state is ProbeState.OK
    assert result.driver is not None
    assert result.driver.version == "550.54.15"
    assert result.driver.cuda == CudaVersion(12, 4)
    (gpu,) = result.gpus
    assert gpu.name == "NVIDIA H100 80GB HBM3"
    assert gpu.compute_capability == (9, 0) and gpu.sm == "sm_90"
    assert gpu.memory_total == 80 * fake.GIB and gpu.memory_free == 79 * fake.GIB
    assert gpu.mig_enabled is False and gpu.unavailable == ()
    assert "memory_v2" in lib.calls and "memory_v1" not in lib.calls
    assert lib.calls[-1] == "shutdown"


def test_eight_gpus_are_all_listed_in_index_order() -> None:
    result = probe(fake.eight_h100())
    assert [g.index for g in result.gpus] == list(range(8))
    assert len({g.uuid for g in result.gpus}) == 8
    assert result.driver is not None and str(result.driver.cuda) == "12.8"


def test_mig_mode_on_is_reported() -> None:
    (gpu,) = probe(fake.mig_enabled_a100()).gpus
    assert gpu.mig_enabled is True and gpu.mig_pending is True


def test_old_driver_without_memory_v2_falls_back_to_v1() -> None:
    lib = fake.old_driver_gtx1080ti()
    (gpu,) = probe(lib).gpus
    assert gpu.memory_total == 11 * fake.GIB
    assert "memory_v1" in lib.calls
    assert gpu.mig_enabled is None  # NotSupported on a GeForce card is not news
    assert gpu.unavailable == ()


def test_one_field_answered_no_permission_is_na_for_that_field_only() -> None:
    (gpu,) = probe(fake.consumer_rtx4090_partial()).gpus
    assert gpu.uuid is None
    assert gpu.name == "NVIDIA GeForce RTX 4090" and gpu.compute_capability == (8, 9)
    assert len(gpu.unavailable) == 1 and gpu.unavailable[0].startswith("uuid: ")


@pytest.mark.parametrize(
    ("machine", "state"),
    [
        (fake.driver_not_loaded, ProbeState.NO_DRIVER),
        (fake.version_mismatch, ProbeState.VERSION_MISMATCH),
        (fake.no_permission, ProbeState.NO_PERMISSION),
        (fake.no_devices, ProbeState.NO_DEVICE),
    ],
)
def test_init_failures_and_no_devices_become_states(machine, state) -> None:  # type: ignore[no-untyped-def]
    assert probe(machine()).state is state


def test_error_after_init_becomes_error_state_and_still_shuts_down() -> None:
    lib = fake.one_h100()
    lib.errors["device_count"] = pynvml.NVML_ERROR_UNKNOWN
    result = probe(lib)
    assert result.state is ProbeState.ERROR
    assert lib.calls[-1] == "shutdown"


def test_cuda_version_encoding() -> None:
    assert CudaVersion.from_nvml(12040) == CudaVersion(12, 4)
    assert CudaVersion.from_nvml(13000) == CudaVersion(13, 0)
    assert CudaVersion.parse("11.8") == CudaVersion(11, 8)
    assert CudaVersion(11, 8) < CudaVersion(12, 0)


def test_machine_without_the_nvml_library_answers_without_importing_pynvml() -> None:
    """probe() tries the same dlopen pynvml does first, so a CPU box skips pynvml's import."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from chatenv.system.nvml import _library_loadable, probe\n"
        "r = probe()\n"
        "print(_library_loadable(), r.state.value, 'pynvml' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loadable, state, imported = done.stdout.split()
    if loadable == "False":
        assert (state, imported) == ("no-library", "False")
        assert probe().error == "NVML Shared Library Not Found"
    else:  # a machine with the NVIDIA driver: the real NVML answered
        assert imported == "True"
