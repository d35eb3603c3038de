"""NVIDIA GPUs and driver, read through NVML (`nvidia-ml-py`, imported as `pynvml`).

`NvmlLibrary` is the seam: the handful of NVML calls chatenv makes, raising pynvml's
`NVMLError` exactly as the real library does. `probe()` turns those answers, errors included,
into a `GpuProbe` that `doctor` and `install` both read; it never raises. The tests drive the
real pynvml over a stand-in for libnvidia-ml that answers as a CPU box, an H100, a MIG GPU, a
container without libcuda or a mismatched driver would (tests/fakes/).

What NVML's documentation (nvml.h, docs.nvidia.com/deploy/nvml-api) says and chatenv relies on:
- `nvmlSystemGetCudaDriverVersion_v2` returns the CUDA version of the libcuda that is loaded
  (it calls cuDriverGetVersion) and NVML_ERROR_LIBRARY_NOT_FOUND when there is no libcuda (a
  container started with NVIDIA_DRIVER_CAPABILITIES=utility has NVML but no libcuda). The v1
  call answers from libcuda too when there is one, else with "a known supported version
  number": the driver branch's own CUDA version.
- With NVIDIA's cuda-compat package (forward compatibility, NGC containers on R535/R570
  datacenter drivers) the loaded libcuda is newer than the driver branch, and both calls report
  its CUDA version: newer than the branch table below says the driver supports.
- In MIG mode `nvmlDeviceGetMemoryInfo` on the GPU answers "only if the caller has appropriate
  privileges" (NO_PERMISSION for a normal user); per-instance memory is read through the MIG
  device handles (`nvmlDeviceGetMigDeviceHandleByIndex`, NOT_FOUND for an empty slot).
- pynvml decodes NVML's strings as UTF-8 (`convertStrBytes`): bytes that are not valid UTF-8
  raise UnicodeDecodeError out of pynvml, which `probe()` turns into a field it could not read.

NVML sees every GPU, whatever CUDA_VISIBLE_DEVICES says; which ones CUDA programs see is worked
out from these answers by doctor's gpu section (`chatenv.doctor.gpu.cuda_visible`).
"""

from __future__ import annotations

import contextlib
import sys
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from chatenv.records import dataclass, field

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

T = TypeVar("T")


class NvmlLibrary(Protocol):
    """The NVML calls chatenv makes. Each raises `error` (pynvml's NVMLError) with NVML's code
    in `.value`, exactly as pynvml does."""

    @property
    def error(self) -> type[Exception]: ...
    def init(self) -> None: ...
    def shutdown(self) -> None: ...
    def driver_version(self) -> str | bytes: ...
    def cuda_driver_version(self) -> int: ...
    def cuda_driver_version_v1(self) -> int: ...
    def device_count(self) -> int: ...
    def handle(self, index: int) -> Any: ...
    def name(self, handle: Any) -> str | bytes: ...
    def uuid(self, handle: Any) -> str | bytes: ...
    def pci_bus_id(self, handle: Any) -> str | bytes: ...
    def memory_v2(self, handle: Any) -> Any: ...
    def memory_v1(self, handle: Any) -> Any: ...
    def compute_capability(self, handle: Any) -> tuple[int, int]: ...
    def mig_mode(self, handle: Any) -> tuple[int, int]: ...
    def mig_device_count(self, handle: Any) -> int: ...
    def mig_device(self, handle: Any, index: int) -> Any: ...


class PynvmlLibrary:
    """The real NVML, through nvidia-ml-py. Each method is one NVML call.

    `module` is the pynvml module to drive: `import pynvml` unless given. The tests hand in
    their own copy of the real pynvml, loaded over a stand-in for libnvidia-ml
    (tests/fakes/libnvidia_ml.py), so this wrapper, pynvml's structs and its errors all run
    on a machine without a GPU."""

    def __init__(self, module: ModuleType | None = None) -> None:
        if module is None:
            import pynvml

            module = pynvml
        self._nv: Any = module

    @property
    def error(self) -> type[Exception]:
        return self._nv.NVMLError  # type: ignore[no-any-return]

    def init(self) -> None:
        self._nv.nvmlInit()

    def shutdown(self) -> None:
        self._nv.nvmlShutdown()

    def driver_version(self) -> str | bytes:
        return self._nv.nvmlSystemGetDriverVersion()  # type: ignore[no-any-return]

    def cuda_driver_version(self) -> int:
        """The CUDA version of the libcuda that is loaded (nvmlSystemGetCudaDriverVersion_v2
        calls its cuDriverGetVersion): LIBRARY_NOT_FOUND when there is no libcuda."""
        return int(self._nv.nvmlSystemGetCudaDriverVersion_v2())

    def cuda_driver_version_v1(self) -> int:
        """The same from libcuda when there is one, else "a known supported version number"
        (nvml.h): the CUDA version of the driver branch."""
        return int(self._nv.nvmlSystemGetCudaDriverVersion())

    def device_count(self) -> int:
        return int(self._nv.nvmlDeviceGetCount())

    def handle(self, index: int) -> Any:
        return self._nv.nvmlDeviceGetHandleByIndex(index)

    def name(self, handle: Any) -> str | bytes:
        return self._nv.nvmlDeviceGetName(handle)  # type: ignore[no-any-return]

    def uuid(self, handle: Any) -> str | bytes:
        return self._nv.nvmlDeviceGetUUID(handle)  # type: ignore[no-any-return]

    def pci_bus_id(self, handle: Any) -> str | bytes:
        return self._nv.nvmlDeviceGetPciInfo(handle).busId  # type: ignore[no-any-return]

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

    def mig_device_count(self, handle: Any) -> int:
        """How many MIG devices this GPU can hold (slots, most of them empty)."""
        return int(self._nv.nvmlDeviceGetMaxMigDeviceCount(handle))

    def mig_device(self, handle: Any, index: int) -> Any:
        """The MIG device in one slot; NOT_FOUND for an empty slot."""
        return self._nv.nvmlDeviceGetMigDeviceHandleByIndex(handle, index)


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


#: The CUDA version each driver branch supports natively, as nvidia-smi prints it for that
#: branch (NVIDIA CUDA Toolkit release notes, "CUDA Toolkit and Corresponding Driver Versions":
#: the toolkit's own driver, e.g. CUDA 12.2 GA ships 535.54.03, 12.8 GA 570.26, 13.0 GA
#: 580.65.06). Only used to notice forward compatibility: a libcuda newer than its branch.
BRANCH_CUDA: dict[int, tuple[int, int]] = {
    450: (11, 0),
    455: (11, 1),
    460: (11, 2),
    465: (11, 3),
    470: (11, 4),
    495: (11, 5),
    510: (11, 6),
    515: (11, 7),
    520: (11, 8),
    525: (12, 0),
    530: (12, 1),
    535: (12, 2),
    545: (12, 3),
    550: (12, 4),
    555: (12, 5),
    560: (12, 6),
    565: (12, 7),
    570: (12, 8),
    575: (12, 9),
    580: (13, 0),
}


def branch_cuda(driver_version: str) -> CudaVersion | None:
    """The CUDA version a driver's branch supports without compat libraries ("535.161.08" ->
    12.2); None for a branch the table does not know or a version it cannot read."""
    major = driver_version.strip().partition(".")[0]
    found = BRANCH_CUDA.get(int(major)) if major.isdigit() else None
    return CudaVersion(*found) if found else None


@dataclass(frozen=True)
class DriverInfo:
    version: str
    #: the CUDA version of the loaded libcuda (nvmlSystemGetCudaDriverVersion_v2), or when
    #: there is none, the branch's (v1)
    cuda: CudaVersion | None
    #: False: NVML says there is no libcuda (LIBRARY_NOT_FOUND); None: not known (old driver)
    libcuda: bool | None = True

    @property
    def branch_cuda(self) -> CudaVersion | None:
        return branch_cuda(self.version)

    @property
    def forward_compat(self) -> bool:
        """The loaded libcuda is newer than the driver's branch: NVIDIA's cuda-compat package."""
        branch = self.branch_cuda
        return bool(self.libcuda and self.cuda and branch and branch < self.cuda)

    def to_json(self) -> dict[str, Any]:
        branch = self.branch_cuda
        return {
            "version": self.version,
            "cuda": str(self.cuda) if self.cuda else None,
            "libcuda": self.libcuda,
            "branch_cuda": str(branch) if branch else None,
            "forward_compat": self.forward_compat,
        }


@dataclass(frozen=True)
class MigDevice:
    """One MIG device (a compute instance): what CUDA programs see of a MIG-mode GPU."""

    slot: int
    uuid: str | None = None
    name: str | None = None  # "NVIDIA A100-SXM4-40GB MIG 1g.5gb"
    memory_total: int | None = None
    memory_free: int | None = None

    @property
    def profile(self) -> str | None:
        """ "1g.5gb", from the name NVML gives the MIG device."""
        return self.name.rpartition(" MIG ")[2] if self.name and " MIG " in self.name else None

    def to_json(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "uuid": self.uuid,
            "name": self.name,
            "memory_total": self.memory_total,
            "memory_free": self.memory_free,
        }


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
    #: "00000000:3B:00.0": CUDA_DEVICE_ORDER=PCI_BUS_ID numbers GPUs in this order
    pci_bus_id: str | None = None
    #: the MIG devices when MIG mode is on
    mig_devices: tuple[MigDevice, ...] = ()

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
            "pci_bus_id": self.pci_bus_id,
            "memory_total": self.memory_total,
            "memory_free": self.memory_free,
            "compute_capability": f"{cc[0]}.{cc[1]}" if cc else None,
            "mig_enabled": self.mig_enabled,
            "mig_pending": self.mig_pending,
            "mig_devices": [m.to_json() for m in self.mig_devices],
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


def _nvml_errors() -> dict[str, int]:
    import pynvml as nv

    return {
        "LIBRARY_NOT_FOUND": nv.NVML_ERROR_LIBRARY_NOT_FOUND,
        "FUNCTION_NOT_FOUND": nv.NVML_ERROR_FUNCTION_NOT_FOUND,
        "NOT_SUPPORTED": nv.NVML_ERROR_NOT_SUPPORTED,
        "NOT_FOUND": nv.NVML_ERROR_NOT_FOUND,
        "NO_PERMISSION": nv.NVML_ERROR_NO_PERMISSION,
        "ARGUMENT_VERSION_MISMATCH": nv.NVML_ERROR_ARGUMENT_VERSION_MISMATCH,
    }


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


def _summary(exc: BaseException) -> str:
    """One line for an exception pynvml should not have let out."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def probe(library: NvmlLibrary | None = None) -> GpuProbe:
    """Ask NVML for the driver and every GPU. Never raises: every failure becomes a state."""
    if library is None and not _library_loadable():
        return GpuProbe(ProbeState.NO_LIBRARY, error=LIBRARY_NOT_FOUND)
    try:
        lib = library if library is not None else PynvmlLibrary()
    except ImportError as exc:  # nvidia-ml-py uninstalled under chatenv
        return GpuProbe(ProbeState.ERROR, error=_summary(exc))
    error = lib.error
    try:
        lib.init()
    except error as exc:
        return GpuProbe(_init_state(_code(exc)), error=str(exc))
    except OSError as exc:  # a broken libnvidia-ml that the loader rejects
        return GpuProbe(ProbeState.NO_LIBRARY, error=str(exc))
    except Exception as exc:  # pynvml itself failing: still a state, not a traceback
        return GpuProbe(ProbeState.ERROR, error=_summary(exc))
    try:
        return _probe_initialised(lib)
    except error as exc:
        state = _init_state(_code(exc))
        return GpuProbe(
            ProbeState.ERROR if state is ProbeState.NO_LIBRARY else state, error=str(exc)
        )
    except Exception as exc:
        return GpuProbe(ProbeState.ERROR, error=_summary(exc))
    finally:
        with contextlib.suppress(Exception):
            lib.shutdown()


def _code(exc: BaseException) -> int:
    return int(getattr(exc, "value", -1))


def _cuda_version(lib: NvmlLibrary) -> tuple[CudaVersion | None, bool | None]:
    """The CUDA version and whether a libcuda is there. _v2 asks the loaded libcuda; without
    one (LIBRARY_NOT_FOUND) v1 still gives the branch's version, and says no libcuda; a driver
    older than the _v2 call (FUNCTION_NOT_FOUND) answers v1, libcuda unknown."""
    codes = _nvml_errors()
    try:
        return CudaVersion.from_nvml(lib.cuda_driver_version()), True
    except lib.error as exc:
        if _code(exc) == codes["LIBRARY_NOT_FOUND"]:
            libcuda: bool | None = False
        elif _code(exc) == codes["FUNCTION_NOT_FOUND"]:
            libcuda = None
        else:
            return None, None
    try:
        return CudaVersion.from_nvml(lib.cuda_driver_version_v1()), libcuda
    except lib.error:
        return None, libcuda


def _probe_initialised(lib: NvmlLibrary) -> GpuProbe:
    version = _text(lib.driver_version())
    cuda, libcuda = _cuda_version(lib)
    driver = DriverInfo(version, cuda, libcuda)
    count = lib.device_count()
    if count == 0:
        return GpuProbe(ProbeState.NO_DEVICE, driver=driver, error="NVML reports no GPU")
    gpus = tuple(_read_gpu(lib, i) for i in range(count))
    return GpuProbe(ProbeState.OK, driver=driver, gpus=gpus)


class _Fields:
    """Reads one field after another, turning NVML's refusals into "field: reason" lines."""

    def __init__(self, lib: NvmlLibrary) -> None:
        self.lib = lib
        self.unavailable: list[str] = []

    def read(self, name: str, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except self.lib.error as exc:
            self.unavailable.append(f"{name}: {exc}")
            return None

    def text(self, name: str, call: Callable[[], str | bytes]) -> str | None:
        """A string field; bytes pynvml cannot decode are shown with replacement characters."""
        try:
            return _text(call())
        except self.lib.error as exc:
            self.unavailable.append(f"{name}: {exc}")
            return None
        except UnicodeDecodeError as exc:
            self.unavailable.append(f"{name}: NVML's answer is not valid UTF-8")
            raw = exc.object
            return bytes(raw).decode(errors="replace") if raw else None


def _read_gpu(lib: NvmlLibrary, index: int) -> GpuInfo:
    codes = _nvml_errors()
    fields = _Fields(lib)
    try:
        handle = lib.handle(index)
    except lib.error as exc:
        return GpuInfo(index=index, unavailable=(f"device: {exc}",))

    name = fields.text("name", lambda: lib.name(handle))
    uuid = fields.text("uuid", lambda: lib.uuid(handle))
    bus = fields.text("PCI bus id", lambda: lib.pci_bus_id(handle))
    mig_enabled = mig_pending = None
    try:
        current, pending = lib.mig_mode(handle)
        mig_enabled, mig_pending = bool(current), bool(pending)
    except lib.error as exc:
        if _code(exc) != codes["NOT_SUPPORTED"]:  # most GPUs have no MIG: not news
            fields.unavailable.append(f"MIG mode: {exc}")
    memory = _memory(lib, handle, fields, quiet_no_permission=bool(mig_enabled))
    cc = fields.read("compute capability", lambda: lib.compute_capability(handle))
    migs = _mig_devices(lib, handle, fields) if mig_enabled else ()
    return GpuInfo(
        index=index,
        name=name,
        uuid=uuid,
        memory_total=int(memory.total) if memory is not None else None,
        memory_free=int(memory.free) if memory is not None else None,
        compute_capability=cc,
        mig_enabled=mig_enabled,
        mig_pending=mig_pending,
        unavailable=tuple(fields.unavailable),
        pci_bus_id=bus,
        mig_devices=migs,
    )


def _mig_devices(lib: NvmlLibrary, handle: Any, fields: _Fields) -> tuple[MigDevice, ...]:
    """Every MIG device of a MIG-mode GPU (empty slots answer NOT_FOUND)."""
    codes = _nvml_errors()
    count = fields.read("MIG devices", lambda: lib.mig_device_count(handle)) or 0
    found: list[MigDevice] = []
    for slot in range(count):
        try:
            mig = lib.mig_device(handle, slot)
        except lib.error as exc:
            if _code(exc) != codes["NOT_FOUND"]:
                fields.unavailable.append(f"MIG device {slot}: {exc}")
            continue
        found.append(_mig_device(lib, mig, slot, fields))
    return tuple(found)


def _mig_device(lib: NvmlLibrary, mig: Any, slot: int, fields: _Fields) -> MigDevice:
    memory = _memory(lib, mig, fields, label=f"MIG device {slot} memory")
    return MigDevice(
        slot=slot,
        uuid=fields.text(f"MIG device {slot} uuid", lambda: lib.uuid(mig)),
        name=fields.text(f"MIG device {slot} name", lambda: lib.name(mig)),
        memory_total=int(memory.total) if memory is not None else None,
        memory_free=int(memory.free) if memory is not None else None,
    )


def _memory(
    lib: NvmlLibrary,
    handle: Any,
    fields: _Fields,
    *,
    label: str = "memory",
    quiet_no_permission: bool = False,
) -> Any:
    """The v2 query (which also reports reserved memory), falling back to v1 on older drivers.
    `quiet_no_permission`: a MIG-mode GPU refuses a normal user its whole-GPU memory; its MIG
    devices' memory is what counts, so that refusal is not news."""
    codes = _nvml_errors()
    try:
        return lib.memory_v2(handle)
    except lib.error as exc:
        if _code(exc) not in (
            codes["FUNCTION_NOT_FOUND"],
            codes["NOT_SUPPORTED"],
            codes["ARGUMENT_VERSION_MISMATCH"],
        ):
            if not (quiet_no_permission and _code(exc) == codes["NO_PERMISSION"]):
                fields.unavailable.append(f"{label}: {exc}")
            return None
    try:
        return lib.memory_v1(handle)
    except lib.error as exc:
        if not (quiet_no_permission and _code(exc) == codes["NO_PERMISSION"]):
            fields.unavailable.append(f"{label}: {exc}")
        return None
