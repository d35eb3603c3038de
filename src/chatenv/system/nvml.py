"""NVIDIA GPUs and driver, read through NVML (`nvidia-ml-py`, imported as `pynvml`).

`NvmlLibrary` is the seam: the handful of NVML calls chatenv makes, raising `pynvml.NVMLError`
exactly as the real library does. `probe()` turns those answers, errors included, into a
`GpuProbe` that `doctor` and `install` both read. Tests pass a fake library that raises the
same NVML error codes a real CPU box, H100, MIG GPU or mismatched driver would.

NVML sees every GPU, whatever CUDA_VISIBLE_DEVICES says; hiding GPUs is torch's business and is
checked by `doctor --deep`.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


class NvmlLibrary(Protocol):
    def init(self) -> None: ...
    def shutdown(self) -> None: ...
    def driver_version(self) -> str | bytes: ...
    def cuda_driver_version(self) -> int: ...
    def device_count(self) -> int: ...
    def handle(self, index: int) -> Any: ...
    def name(self, handle: Any) -> str | bytes: ...
    def uuid(self, handle: Any) -> str | bytes: ...
    def memory_v2(self, handle: Any) -> Any: ...
    def memory_v1(self, handle: Any) -> Any: ...
    def compute_capability(self, handle: Any) -> tuple[int, int]: ...
    def mig_mode(self, handle: Any) -> tuple[int, int]: ...


class PynvmlLibrary:
    """The real NVML, through nvidia-ml-py. Each method is one NVML call."""

    def __init__(self) -> None:
        import pynvml

        self._nv = pynvml

    def init(self) -> None:
        self._nv.nvmlInit()

    def shutdown(self) -> None:
        self._nv.nvmlShutdown()

    def driver_version(self) -> str | bytes:
        return self._nv.nvmlSystemGetDriverVersion()  # type: ignore[no-any-return]

    def cuda_driver_version(self) -> int:
        nv = self._nv
        try:
            return int(nv.nvmlSystemGetCudaDriverVersion_v2())
        except nv.NVMLError as exc:
            if exc.value != nv.NVML_ERROR_FUNCTION_NOT_FOUND:
                raise
            return int(nv.nvmlSystemGetCudaDriverVersion())  # drivers older than the _v2 call

    def device_count(self) -> int:
        return int(self._nv.nvmlDeviceGetCount())

    def handle(self, index: int) -> Any:
        return self._nv.nvmlDeviceGetHandleByIndex(index)

    def name(self, handle: Any) -> str | bytes:
        return self._nv.nvmlDeviceGetName(handle)  # type: ignore[no-any-return]

    def uuid(self, handle: Any) -> str | bytes:
        return self._nv.nvmlDeviceGetUUID(handle)  # type: ignore[no-any-return]

    def memory_v2(self, handle: Any) -> Any:
        return self._nv.nvmlDeviceGetMemoryInfo(handle, version=self._nv.nvmlMemory_v2)

    def memory_v1(self, handle: Any) -> Any:
        return self._nv.nvmlDeviceGetMemoryInfo(handle)

    def compute_capability(self, handle: Any) -> tuple[int, int]:
        major, minor = self._nv.nvmlDeviceGetCudaComputeCapability(handle)
        return int(major), int(minor)

    def mig_mode(self, handle: Any) -> tuple[int, int]:
        current, pending = self._nv.nvmlDeviceGetMigMode(handle)
        return int(current), int(pending)


class ProbeState(str, Enum):
    OK = "ok"
    NO_LIBRARY = "no-library"  # libnvidia-ml not found: no NVIDIA driver installed
    NO_DRIVER = "no-driver"  # library present, kernel driver not loaded
    NO_DEVICE = "no-device"  # driver loaded, no GPU
    NO_PERMISSION = "no-permission"
    VERSION_MISMATCH = "version-mismatch"  # driver upgraded, kernel module still the old one
    ERROR = "error"


@dataclass(frozen=True)
class CudaVersion:
    major: int
    minor: int

    @classmethod
    def from_nvml(cls, value: int) -> CudaVersion:
        """NVML encodes 12.4 as 12040."""
        return cls(value // 1000, (value % 1000) // 10)

    @classmethod
    def parse(cls, text: str) -> CudaVersion:
        major, _, rest = text.strip().partition(".")
        return cls(int(major), int(rest.partition(".")[0] or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def as_tuple(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def __lt__(self, other: CudaVersion) -> bool:
        return self.as_tuple() < other.as_tuple()

    def __le__(self, other: CudaVersion) -> bool:
        return self.as_tuple() <= other.as_tuple()

    def to_json(self) -> str:
        return str(self)


@dataclass(frozen=True)
class DriverInfo:
    version: str
    #: the newest CUDA version this driver supports (nvmlSystemGetCudaDriverVersion_v2)
    cuda: CudaVersion | None

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "cuda": str(self.cuda) if self.cuda else None}


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str | None = None
    uuid: str | None = None
    memory_total: int | None = None  # bytes
    memory_free: int | None = None  # bytes
    compute_capability: tuple[int, int] | None = None
    #: None when the GPU has no MIG support (or would not say)
    mig_enabled: bool | None = None
    mig_pending: bool | None = None
    #: "field: reason" for every field NVML would not answer for this GPU
    unavailable: tuple[str, ...] = ()

    @property
    def sm(self) -> str | None:
        """Compute capability as torch's arch lists name it: 8.6 → "sm_86"."""
        cc = self.compute_capability
        return f"sm_{cc[0]}{cc[1]}" if cc else None

    def to_json(self) -> dict[str, Any]:
        cc = self.compute_capability
        return {
            "index": self.index,
            "name": self.name,
            "uuid": self.uuid,
            "memory_total": self.memory_total,
            "memory_free": self.memory_free,
            "compute_capability": f"{cc[0]}.{cc[1]}" if cc else None,
            "mig_enabled": self.mig_enabled,
            "mig_pending": self.mig_pending,
            "unavailable": list(self.unavailable),
        }


@dataclass(frozen=True)
class GpuProbe:
    state: ProbeState
    driver: DriverInfo | None = None
    gpus: tuple[GpuInfo, ...] = field(default_factory=tuple)
    #: NVML's own one-line message when state is not OK
    error: str | None = None

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpus)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "driver": self.driver.to_json() if self.driver else None,
            "gpus": [g.to_json() for g in self.gpus],
            "error": self.error,
        }


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _init_state(code: int) -> ProbeState:
    import pynvml as nv

    return {
        nv.NVML_ERROR_LIBRARY_NOT_FOUND: ProbeState.NO_LIBRARY,
        nv.NVML_ERROR_DRIVER_NOT_LOADED: ProbeState.NO_DRIVER,
        nv.NVML_ERROR_NO_PERMISSION: ProbeState.NO_PERMISSION,
        nv.NVML_ERROR_LIB_RM_VERSION_MISMATCH: ProbeState.VERSION_MISMATCH,
    }.get(code, ProbeState.ERROR)


#: pynvml's message for NVML_ERROR_LIBRARY_NOT_FOUND
LIBRARY_NOT_FOUND = "NVML Shared Library Not Found"


def _library_loadable() -> bool:
    """Can libnvidia-ml be loaded at all? The same dlopen pynvml does first on Linux and macOS,
    without importing pynvml (a large module: ~50 ms on a small machine), so a machine without
    an NVIDIA driver answers at once. On Windows pynvml searches several places: let it."""
    if sys.platform.startswith("win"):
        return True
    import ctypes

    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


def probe(library: NvmlLibrary | None = None) -> GpuProbe:
    """Ask NVML for the driver and every GPU. Never raises: every failure becomes a state."""
    if library is None and not _library_loadable():
        return GpuProbe(ProbeState.NO_LIBRARY, error=LIBRARY_NOT_FOUND)
    import pynvml as nv

    try:
        lib = library if library is not None else PynvmlLibrary()
        lib.init()
    except nv.NVMLError as exc:
        return GpuProbe(_init_state(exc.value), error=str(exc))
    except OSError as exc:  # a broken libnvidia-ml that the loader rejects
        return GpuProbe(ProbeState.NO_LIBRARY, error=str(exc))
    try:
        return _probe_initialised(lib)
    except nv.NVMLError as exc:
        state = _init_state(exc.value)
        return GpuProbe(
            ProbeState.ERROR if state is ProbeState.NO_LIBRARY else state, error=str(exc)
        )
    finally:
        with contextlib.suppress(nv.NVMLError):
            lib.shutdown()


def _probe_initialised(lib: NvmlLibrary) -> GpuProbe:
    import pynvml as nv

    version = _text(lib.driver_version())
    try:
        cuda: CudaVersion | None = CudaVersion.from_nvml(lib.cuda_driver_version())
    except nv.NVMLError:
        cuda = None
    driver = DriverInfo(version, cuda)
    count = lib.device_count()
    if count == 0:
        return GpuProbe(ProbeState.NO_DEVICE, driver=driver, error="NVML reports no GPU")
    gpus = tuple(_read_gpu(lib, i) for i in range(count))
    return GpuProbe(ProbeState.OK, driver=driver, gpus=gpus)


def _read_gpu(lib: NvmlLibrary, index: int) -> GpuInfo:
    import pynvml as nv

    unavailable: list[str] = []

    def field(name: str, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except nv.NVMLError as exc:
            unavailable.append(f"{name}: {exc}")
            return None

    try:
        handle = lib.handle(index)
    except nv.NVMLError as exc:
        return GpuInfo(index=index, unavailable=(f"device: {exc}",))

    name = field("name", lambda: _text(lib.name(handle)))
    uuid = field("uuid", lambda: _text(lib.uuid(handle)))
    memory = _memory(lib, handle, unavailable)
    cc = field("compute capability", lambda: lib.compute_capability(handle))
    mig_enabled = mig_pending = None
    try:
        current, pending = lib.mig_mode(handle)
        mig_enabled, mig_pending = bool(current), bool(pending)
    except nv.NVMLError as exc:
        if exc.value != nv.NVML_ERROR_NOT_SUPPORTED:  # most GPUs have no MIG: not news
            unavailable.append(f"MIG mode: {exc}")
    return GpuInfo(
        index=index,
        name=name,
        uuid=uuid,
        memory_total=int(memory.total) if memory is not None else None,
        memory_free=int(memory.free) if memory is not None else None,
        compute_capability=cc,
        mig_enabled=mig_enabled,
        mig_pending=mig_pending,
        unavailable=tuple(unavailable),
    )


def _memory(lib: NvmlLibrary, handle: Any, unavailable: list[str]) -> Any:
    """The v2 query (which also reports reserved memory), falling back to v1 on older drivers."""
    import pynvml as nv

    try:
        return lib.memory_v2(handle)
    except nv.NVMLError as exc:
        if exc.value not in (
            nv.NVML_ERROR_FUNCTION_NOT_FOUND,
            nv.NVML_ERROR_NOT_SUPPORTED,
            nv.NVML_ERROR_ARGUMENT_VERSION_MISMATCH,
        ):
            unavailable.append(f"memory: {exc}")
            return None
    try:
        return lib.memory_v1(handle)
    except nv.NVMLError as exc:
        unavailable.append(f"memory: {exc}")
        return None
