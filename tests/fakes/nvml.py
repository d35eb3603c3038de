"""A stand-in for NVML on machines without an NVIDIA driver.

It answers the same calls `chatenv.system.nvml.PynvmlLibrary` makes, with the values and the
`pynvml.NVMLError` codes a real machine gives: the scenarios below are modelled on real boxes
(driver strings, CUDA versions encoded as NVML does, memory structs with the v2 fields).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pynvml as nv

GIB = 1024**3


@dataclass
class FakeGpu:
    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str = "GPU-5f1d6f9e-0c3a-4a7e-9c1e-2b8e7d0f1a11"
    total: int = 80 * GIB
    free: int = 79 * GIB
    cc: tuple[int, int] = (9, 0)
    #: (current, pending) or an NVML error code; most GPUs answer NOT_SUPPORTED
    mig: tuple[int, int] | int = (0, 0)
    #: NVML error code per call name ("name", "uuid", "memory_v2", "memory_v1",
    #: "compute_capability", "mig_mode", "handle") to raise instead of answering
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class FakeNvml:
    driver: str = "550.54.15"
    cuda: int = 12040  # NVML's encoding of 12.4
    gpus: list[FakeGpu] = field(default_factory=list)
    init_error: int | None = None
    #: error codes for system-level calls ("driver_version", "cuda_driver_version", "device_count")
    errors: dict[str, int] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    initialised: bool = False

    def _call(self, name: str, codes: dict[str, int]) -> None:
        self.calls.append(name)
        if not self.initialised and name != "init":
            raise nv.NVMLError(nv.NVML_ERROR_UNINITIALIZED)
        if name in codes:
            raise nv.NVMLError(codes[name])

    def init(self) -> None:
        self.calls.append("init")
        if self.init_error is not None:
            raise nv.NVMLError(self.init_error)
        self.initialised = True

    def shutdown(self) -> None:
        self._call("shutdown", {})
        self.initialised = False

    def driver_version(self) -> str:
        self._call("driver_version", self.errors)
        return self.driver

    def cuda_driver_version(self) -> int:
        self._call("cuda_driver_version", self.errors)
        return self.cuda

    def device_count(self) -> int:
        self._call("device_count", self.errors)
        return len(self.gpus)

    def handle(self, index: int) -> Any:
        if index >= len(self.gpus):
            raise nv.NVMLError(nv.NVML_ERROR_INVALID_ARGUMENT)
        self._call("handle", self.gpus[index].errors)
        return self.gpus[index]

    def name(self, handle: FakeGpu) -> str:
        self._call("name", handle.errors)
        return handle.name

    def uuid(self, handle: FakeGpu) -> str:
        self._call("uuid", handle.errors)
        return handle.uuid

    def memory_v2(self, handle: FakeGpu) -> Any:
        self._call("memory_v2", handle.errors)
        reserved = 512 * 1024**2
        return SimpleNamespace(
            version=nv.nvmlMemory_v2,
            total=handle.total,
            reserved=reserved,
            free=handle.free,
            used=handle.total - handle.free - reserved,
        )

    def memory_v1(self, handle: FakeGpu) -> Any:
        self._call("memory_v1", handle.errors)
        return SimpleNamespace(
            total=handle.total, free=handle.free, used=handle.total - handle.free
        )

    def compute_capability(self, handle: FakeGpu) -> tuple[int, int]:
        self._call("compute_capability", handle.errors)
        return handle.cc

    def mig_mode(self, handle: FakeGpu) -> tuple[int, int]:
        self._call("mig_mode", handle.errors)
        if isinstance(handle.mig, int):
            raise nv.NVMLError(handle.mig)
        return handle.mig


# --- the machines the tests talk about -------------------------------------------------------


def cpu_box() -> FakeNvml:
    """No NVIDIA driver at all: libnvidia-ml.so is not there."""
    return FakeNvml(init_error=nv.NVML_ERROR_LIBRARY_NOT_FOUND)


def driver_not_loaded() -> FakeNvml:
    return FakeNvml(init_error=nv.NVML_ERROR_DRIVER_NOT_LOADED)


def version_mismatch() -> FakeNvml:
    """Driver packages upgraded, old kernel module still loaded (fixed by a reboot)."""
    return FakeNvml(init_error=nv.NVML_ERROR_LIB_RM_VERSION_MISMATCH)


def no_permission() -> FakeNvml:
    return FakeNvml(init_error=nv.NVML_ERROR_NO_PERMISSION)


def no_devices() -> FakeNvml:
    return FakeNvml(gpus=[])


def one_h100(driver: str = "550.54.15", cuda: int = 12040) -> FakeNvml:
    return FakeNvml(driver=driver, cuda=cuda, gpus=[FakeGpu()])


def eight_h100() -> FakeNvml:
    return FakeNvml(
        driver="570.86.15",
        cuda=12080,
        gpus=[
            FakeGpu(uuid=f"GPU-5f1d6f9e-0c3a-4a7e-9c1e-2b8e7d0f1a{i:02d}", free=(70 + i) * GIB)
            for i in range(8)
        ],
    )


def mig_enabled_a100() -> FakeNvml:
    return FakeNvml(
        driver="535.161.08",
        cuda=12020,
        gpus=[
            FakeGpu(
                name="NVIDIA A100-SXM4-40GB", total=40 * GIB, free=39 * GIB, cc=(8, 0), mig=(1, 1)
            )
        ],
    )


def old_driver_gtx1080ti() -> FakeNvml:
    """An old Pascal card on a driver that tops out at CUDA 11.4."""
    return FakeNvml(
        driver="470.256.02",
        cuda=11040,
        gpus=[
            FakeGpu(
                name="NVIDIA GeForce GTX 1080 Ti",
                total=11 * GIB,
                free=10 * GIB,
                cc=(6, 1),
                mig=nv.NVML_ERROR_NOT_SUPPORTED,
                errors={"memory_v2": nv.NVML_ERROR_FUNCTION_NOT_FOUND},
            )
        ],
    )


def consumer_rtx4090_partial() -> FakeNvml:
    """A GeForce card whose NVML answers some fields with NotSupported / NoPermission."""
    return FakeNvml(
        driver="560.35.03",
        cuda=12060,
        gpus=[
            FakeGpu(
                name="NVIDIA GeForce RTX 4090",
                total=24 * GIB,
                free=23 * GIB,
                cc=(8, 9),
                mig=nv.NVML_ERROR_NOT_SUPPORTED,
                errors={"uuid": nv.NVML_ERROR_NO_PERMISSION},
            )
        ],
    )


def gtx1080ti_current_driver() -> FakeNvml:
    """The same Pascal card on a current driver: CUDA 12 builds load, but 12.8+ builds ship no
    sm_60/sm_61 kernels for it."""
    return FakeNvml(
        driver="560.35.03",
        cuda=12060,
        gpus=[
            FakeGpu(
                name="NVIDIA GeForce GTX 1080 Ti",
                uuid="GPU-1080ti-0000-0000-0000-000000000000",
                total=11 * GIB,
                free=10 * GIB,
                cc=(6, 1),
                mig=nv.NVML_ERROR_NOT_SUPPORTED,
            )
        ],
    )


def rtx5090() -> FakeNvml:
    """Blackwell (compute capability 12.0): only CUDA 12.8+ builds have kernels for it."""
    return FakeNvml(
        driver="570.124.04",
        cuda=12080,
        gpus=[
            FakeGpu(
                name="NVIDIA GeForce RTX 5090",
                uuid="GPU-5090aaaa-0000-0000-0000-000000000000",
                total=32 * GIB,
                free=31 * GIB,
                cc=(12, 0),
                mig=nv.NVML_ERROR_NOT_SUPPORTED,
            )
        ],
    )


def busy_h100() -> FakeNvml:
    """An H100 whose memory another process holds."""
    return FakeNvml(gpus=[FakeGpu(free=GIB // 2)])


def mig_change_pending() -> FakeNvml:
    """MIG enabled with nvidia-smi -mig 1, not yet applied (needs a GPU reset)."""
    return FakeNvml(
        driver="535.161.08",
        cuda=12020,
        gpus=[
            FakeGpu(
                name="NVIDIA A100-SXM4-40GB", total=40 * GIB, free=39 * GIB, cc=(8, 0), mig=(0, 1)
            )
        ],
    )
