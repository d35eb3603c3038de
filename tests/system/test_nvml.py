"""The NVML probe, running chatenv's real wrapper and the real pynvml over a stand-in for
libnvidia-ml (tests/fakes/libnvidia_ml.py) that answers as the machines in
tests/fakes/machines.py do, and against this machine's own NVML."""

from __future__ import annotations

import subprocess
import sys

import pynvml
import pytest

from chatenv.system.nvml import CudaVersion, ProbeState, branch_cuda, probe
from tests.fakes import machines as fake
from tests.fakes.libnvidia_ml import pynvml_over


def _probe(machine: fake.Machine):  # type: ignore[no-untyped-def]
    found = fake.probe(machine)
    assert machine.faults == []  # the stand-in itself never failed
    return found


def test_cpu_box_without_driver_library_reports_no_library() -> None:
    result = _probe(fake.cpu_box())
    assert result.state is ProbeState.NO_LIBRARY
    assert not result.has_gpu and result.driver is None
    assert result.error == "NVML Shared Library Not Found"  # pynvml's own words


def test_real_nvml_on_this_machine_does_not_crash() -> None:
    result = probe()
    # CI has no NVIDIA driver; a GPU machine must come back OK with at least one GPU.
    if result.state is ProbeState.OK:
        assert result.gpus and result.driver is not None
    else:
        assert result.state in (ProbeState.NO_LIBRARY, ProbeState.NO_DRIVER, ProbeState.NO_DEVICE)


def test_one_h100_reads_every_field_through_pynvml_and_shuts_nvml_down() -> None:
    machine = fake.one_h100()
    result = _probe(machine)
    assert result.state is ProbeState.OK
    assert result.driver is not None
    assert result.driver.version == "550.54.15"
    assert result.driver.cuda == CudaVersion(12, 4) and result.driver.libcuda is True
    assert not result.driver.forward_compat
    (gpu,) = result.gpus
    assert gpu.name == "NVIDIA H100 80GB HBM3"
    assert gpu.compute_capability == (9, 0) and gpu.sm == "sm_90"
    assert gpu.memory_total == 80 * fake.GIB and gpu.memory_free == 79 * fake.GIB
    assert gpu.pci_bus_id == "00000000:18:00.0"
    assert gpu.mig_enabled is False and gpu.unavailable == () and gpu.mig_devices == ()
    assert "nvmlDeviceGetMemoryInfo_v2" in machine.calls
    assert "nvmlDeviceGetMemoryInfo" not in machine.calls
    assert machine.calls[0] == "nvmlInitWithFlags" and machine.calls[-1] == "nvmlShutdown"


def test_eight_gpus_are_all_listed_in_index_order_with_their_buses() -> None:
    result = _probe(fake.eight_h100())
    assert [g.index for g in result.gpus] == list(range(8))
    assert len({g.uuid for g in result.gpus}) == 8
    assert [g.pci_bus_id for g in result.gpus][-1] == "00000000:DB:00.0"
    assert result.driver is not None and str(result.driver.cuda) == "12.8"


def test_mig_as_root_reads_the_whole_gpu_and_every_mig_device() -> None:
    (gpu,) = _probe(fake.mig_enabled_a100(root=True)).gpus
    assert gpu.mig_enabled is True and gpu.mig_pending is True
    assert gpu.memory_total == 40 * fake.GIB
    assert [m.profile for m in gpu.mig_devices] == ["3g.20gb", "2g.10gb", "1g.5gb"]
    assert gpu.mig_devices[2].uuid == "MIG-7e1d0a3c-96f1-5b3e-8a0c-1f2e3d4c5b6a"
    assert gpu.mig_devices[2].memory_total == 4864 * fake.MIB
    assert gpu.unavailable == ()


def test_mig_as_a_normal_user_reports_mig_devices_not_a_memory_refusal() -> None:
    """nvml.h: a MIG-mode GPU's whole memory "only if the caller has appropriate privileges";
    the MIG device handles answer."""
    machine = fake.mig_a100_non_root()
    (gpu,) = _probe(machine).gpus
    assert gpu.memory_total is None  # NO_PERMISSION for the whole GPU ...
    assert gpu.unavailable == ()  # ... is not a field chatenv failed to read
    assert [m.memory_free for m in gpu.mig_devices] == [
        19900 * fake.MIB,
        9800 * fake.MIB,
        4800 * fake.MIB,
    ]
    # the empty slots 3..6 answered NOT_FOUND and were skipped
    assert machine.calls.count("nvmlDeviceGetMigDeviceHandleByIndex") == 7


def test_old_driver_without_memory_v2_falls_back_to_v1() -> None:
    machine = fake.old_driver_gtx1080ti()
    (gpu,) = _probe(machine).gpus
    assert gpu.memory_total == 11 * fake.GIB
    assert "nvmlDeviceGetMemoryInfo" in machine.calls
    assert gpu.mig_enabled is None  # NotSupported on a GeForce card is not news
    assert gpu.unavailable == ()


def test_one_field_answered_no_permission_is_na_for_that_field_only() -> None:
    (gpu,) = _probe(fake.consumer_rtx4090_partial()).gpus
    assert gpu.uuid is None
    assert gpu.name == "NVIDIA GeForce RTX 4090" and gpu.compute_capability == (8, 9)
    assert gpu.unavailable == ("uuid: Insufficient Permissions",)


def test_container_without_libcuda_is_said_and_v1_still_gives_the_cuda_version() -> None:
    """_v2 answers LIBRARY_NOT_FOUND (not FUNCTION_NOT_FOUND): the CUDA version comes from
    v1, and the missing libcuda is recorded instead of silently becoming "unknown"."""
    machine = fake.no_libcuda_container()
    driver = _probe(machine).driver
    assert driver is not None
    assert driver.libcuda is False and driver.cuda == CudaVersion(12, 4)
    assert machine.calls.index("nvmlSystemGetCudaDriverVersion_v2") < machine.calls.index(
        "nvmlSystemGetCudaDriverVersion"
    )
    assert driver.to_json()["libcuda"] is False


def test_driver_older_than_the_v2_call_uses_v1_and_libcuda_is_unknown() -> None:
    machine = fake.one_h100()
    machine.missing = frozenset({"nvmlSystemGetCudaDriverVersion_v2"})
    driver = _probe(machine).driver
    assert driver is not None and driver.cuda == CudaVersion(12, 4) and driver.libcuda is None


def test_forward_compat_container_reports_the_compat_cuda_and_says_so() -> None:
    driver = _probe(fake.forward_compat_container()).driver
    assert driver is not None
    assert driver.cuda == CudaVersion(13, 0) and driver.branch_cuda == CudaVersion(12, 2)
    assert driver.forward_compat
    assert driver.to_json()["forward_compat"] is True


def test_driver_branch_cuda_versions() -> None:
    assert branch_cuda("535.161.08") == CudaVersion(12, 2)
    assert branch_cuda("580.65.06") == CudaVersion(13, 0)
    assert branch_cuda("999.1") is None and branch_cuda("garbage") is None


def test_name_that_is_not_utf8_does_not_escape_the_probe() -> None:
    """pynvml's convertStrBytes decodes with .decode(): invalid bytes raise UnicodeDecodeError
    out of nvmlDeviceGetName. The probe keeps the GPU, with the name shown as best it can."""
    with pytest.raises(UnicodeDecodeError):
        module = pynvml_over(fake.garbled_name())
        module.nvmlInit()
        module.nvmlDeviceGetName(module.nvmlDeviceGetHandleByIndex(0))
    result = _probe(fake.garbled_name())
    assert result.state is ProbeState.OK
    (gpu,) = result.gpus
    assert gpu.name is not None and gpu.name.startswith("NVIDIA H100 ")
    assert gpu.unavailable == ("name: NVML's answer is not valid UTF-8",)
    assert gpu.compute_capability == (9, 0)


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
    assert _probe(machine()).state is state


def test_driver_library_mismatch_carries_nvmls_message() -> None:
    result = _probe(fake.version_mismatch())
    assert result.error == "RM has detected an NVML/RM version mismatch."


def test_error_after_init_becomes_error_state_and_still_shuts_down() -> None:
    machine = fake.one_h100()
    machine.errors["nvmlDeviceGetCount_v2"] = pynvml.NVML_ERROR_UNKNOWN
    result = _probe(machine)
    assert result.state is ProbeState.ERROR and result.error == "Unknown Error"
    assert machine.calls[-1] == "nvmlShutdown"


def test_an_nvml_code_pynvml_has_no_words_for_asks_nvml_error_string() -> None:
    machine = fake.one_h100()
    machine.errors["nvmlDeviceGetCount_v2"] = 4242
    result = _probe(machine)
    assert result.state is ProbeState.ERROR and result.error == "NVML error 4242"
    assert "nvmlErrorString" in machine.calls


def test_cuda_version_encoding() -> None:
    assert CudaVersion.from_nvml(12040) == CudaVersion(12, 4)
    assert CudaVersion.from_nvml(13000) == CudaVersion(13, 0)
    assert CudaVersion.parse("11.8") == CudaVersion(11, 8)
    assert CudaVersion(11, 8) < CudaVersion(12, 0)


def test_machine_without_the_nvml_library_answers_without_importing_pynvml() -> None:
    """probe() tries the same dlopen pynvml does first, so a CPU box skips pynvml's import."""
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


def test_the_stand_in_leaves_the_shared_pynvml_alone() -> None:
    before = pynvml.NVMLError_LibraryNotFound
    _probe(fake.eight_h100())
    assert pynvml.NVMLError_LibraryNotFound is before
    assert pynvml.nvmlLib is None or "LibNvidiaMl" not in type(pynvml.nvmlLib).__name__
