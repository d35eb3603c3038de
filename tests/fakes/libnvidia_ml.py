"""A stand-in for libnvidia-ml, under the real pynvml.

pynvml loads libnvidia-ml once into its module global `nvmlLib` and looks up each C function on
it by name (`getattr(nvmlLib, "nvmlDeviceGetName")`, FUNCTION_NOT_FOUND when the lookup fails),
then calls it with ctypes arguments: out-parameters by reference, string buffers with their
length, versioned structs. `LibNvidiaMl` answers those lookups with ctypes callbacks that
behave as the C functions do for one `machines.Machine`: they return NVML return codes and
write their answers through the pointers pynvml hands them, into pynvml's own structs.

`pynvml_over(machine)` builds a private copy of the real pynvml module whose `nvmlLib` is such
a stand-in, so every test runs chatenv's `PynvmlLibrary`, pynvml's wrappers, its struct
definitions, its string decoding and its NVMLError classes. The copy is private (its own
module name, its own globals): the pynvml every other piece of code imports is never touched.
`machine=None` models a machine without the library: the copy's dlopen fails as it does on a
box without the NVIDIA driver.

The C behaviour follows nvml.h (docs.nvidia.com/deploy/nvml-api): NVML_ERROR_UNINITIALIZED
before nvmlInit, INSUFFICIENT_SIZE for a buffer too short, ARGUMENT_VERSION_MISMATCH for a
struct version the driver does not know, NOT_FOUND for an empty MIG slot, NO_PERMISSION for a
MIG-mode GPU's whole memory asked by a normal user, LIBRARY_NOT_FOUND from
nvmlSystemGetCudaDriverVersion_v2 when there is no libcuda.
"""

from __future__ import annotations

import ctypes
import importlib.util
import itertools
import sys
from typing import TYPE_CHECKING, Any

import pynvml as nv

from chatenv.system.nvml import PynvmlLibrary

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from tests.fakes.machines import Gpu, Machine, Mig

SUCCESS = 0
_copies = itertools.count()

# C signatures: every pointer as c_void_p, NVML's unsigned ints as c_uint
_P = ctypes.c_void_p
_U = ctypes.c_uint
_I = ctypes.c_int


def _write_int(address: int, value: int, kind: type[Any] = ctypes.c_uint) -> None:
    kind.from_address(address).value = value


def _write_text(buffer: int, length: int, text: str | bytes) -> int:
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) + 1 > length:
        return nv.NVML_ERROR_INSUFFICIENT_SIZE
    ctypes.memmove(buffer, raw + b"\0", len(raw) + 1)
    return SUCCESS


class LibNvidiaMl:
    """libnvidia-ml for one machine: attribute lookups give ctypes callbacks (the C functions).

    A function the machine's driver does not have (`Machine.missing`) is not there at all, so
    pynvml answers FUNCTION_NOT_FOUND as it does on an old driver. `Machine.errors` makes one C
    function return an NVML error code; `Machine.calls` records the C calls in order."""

    def __init__(self, machine: Machine) -> None:
        self._machine = machine
        self._initialised = False
        self._functions: dict[str, Any] = {}
        #: handle address -> the GPU or MIG device it stands for (and its parent GPU)
        self._handles: dict[int, tuple[Gpu, Mig | None]] = {}
        self._buffers: list[Any] = []  # keeps handle and string memory alive
        self._gpu_handles = [self._new_handle(gpu, None) for gpu in machine.gpus]
        self._mig_handles = {
            id(mig): self._new_handle(gpu, mig) for gpu in machine.gpus for mig in gpu.migs
        }
        self._signatures: dict[str, tuple[tuple[Any, ...], Callable[..., int]]] = {
            "nvmlInitWithFlags": ((_U,), self._init),
            "nvmlShutdown": ((), self._shutdown),
            "nvmlErrorString": ((_I,), self._error_string),
            "nvmlSystemGetDriverVersion": ((_P, _U), self._driver_version),
            "nvmlSystemGetCudaDriverVersion": ((_P,), self._cuda_v1),
            "nvmlSystemGetCudaDriverVersion_v2": ((_P,), self._cuda_v2),
            "nvmlDeviceGetCount_v2": ((_P,), self._count),
            "nvmlDeviceGetHandleByIndex_v2": ((_U, _P), self._handle_by_index),
            "nvmlDeviceGetName": ((_P, _P, _U), self._name),
            "nvmlDeviceGetUUID": ((_P, _P, _U), self._uuid),
            "nvmlDeviceGetPciInfo_v3": ((_P, _P), self._pci_info),
            "nvmlDeviceGetMemoryInfo": ((_P, _P), self._memory_v1),
            "nvmlDeviceGetMemoryInfo_v2": ((_P, _P), self._memory_v2),
            "nvmlDeviceGetCudaComputeCapability": ((_P, _P, _P), self._compute_capability),
            "nvmlDeviceGetMigMode": ((_P, _P, _P), self._mig_mode),
            "nvmlDeviceGetMaxMigDeviceCount": ((_P, _P), self._max_mig_count),
            "nvmlDeviceGetMigDeviceHandleByIndex": ((_P, _U, _P), self._mig_by_index),
        }

    # -- what pynvml sees ---------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in self._machine.missing or name not in self._signatures:
            raise AttributeError(name)
        if name not in self._functions:
            argtypes, body = self._signatures[name]
            restype = _P if name == "nvmlErrorString" else _I
            self._functions[name] = ctypes.CFUNCTYPE(restype, *argtypes)(self._guard(name, body))
        return self._functions[name]

    def _guard(self, name: str, body: Callable[..., int]) -> Callable[..., int]:
        """The C function: records the call, honours `Machine.errors`, never lets a Python
        exception die silently inside ctypes (it is recorded in `Machine.faults`)."""

        def call(*args: Any) -> int:
            self._machine.calls.append(name)
            if name not in ("nvmlInitWithFlags", "nvmlErrorString") and not self._initialised:
                return nv.NVML_ERROR_UNINITIALIZED
            if name in self._machine.errors:
                return self._machine.errors[name]
            try:
                return body(*args)
            except Exception as exc:  # a bug in this stand-in: make it visible
                self._machine.faults.append(f"{name}: {exc!r}")
                return nv.NVML_ERROR_UNKNOWN

        return call

    # -- handles ------------------------------------------------------------------------------

    def _new_handle(self, gpu: Gpu, mig: Mig | None) -> int:
        cell = ctypes.create_string_buffer(8)
        self._buffers.append(cell)
        address = ctypes.addressof(cell)
        self._handles[address] = (gpu, mig)
        return address

    def _device(self, handle: int | None) -> tuple[Gpu, Mig | None] | None:
        return self._handles.get(handle or 0)

    # -- the C functions ----------------------------------------------------------------------

    def _init(self, flags: int) -> int:
        if self._machine.init_error is not None:
            return self._machine.init_error
        self._initialised = True
        return SUCCESS

    def _shutdown(self) -> int:
        self._initialised = False
        return SUCCESS

    def _error_string(self, code: int) -> int | None:
        text = ctypes.create_string_buffer(f"NVML error {code}".encode())
        self._buffers.append(text)
        return ctypes.addressof(text)

    def _driver_version(self, buffer: int, length: int) -> int:
        return _write_text(buffer, length, self._machine.driver)

    def _cuda_v1(self, out: int) -> int:
        """From libcuda when there is one, else the branch's "known supported version"."""
        m = self._machine
        branch = m.branch_cuda if m.branch_cuda is not None else m.cuda
        _write_int(out, m.cuda if m.libcuda else branch, ctypes.c_int)
        return SUCCESS

    def _cuda_v2(self, out: int) -> int:
        if not self._machine.libcuda:
            return nv.NVML_ERROR_LIBRARY_NOT_FOUND
        _write_int(out, self._machine.cuda, ctypes.c_int)
        return SUCCESS

    def _count(self, out: int) -> int:
        _write_int(out, len(self._machine.gpus))
        return SUCCESS

    def _handle_by_index(self, index: int, out: int) -> int:
        if index >= len(self._gpu_handles):
            return nv.NVML_ERROR_INVALID_ARGUMENT
        gpu = self._machine.gpus[index]
        if "handle" in gpu.errors:
            return gpu.errors["handle"]
        ctypes.c_void_p.from_address(out).value = self._gpu_handles[index]
        return SUCCESS

    def _answer(self, handle: int | None, what: str) -> tuple[int, Gpu, Mig | None]:
        """SUCCESS and the device, or the error code the device answers `what` with."""
        found = self._device(handle)
        if found is None:
            return nv.NVML_ERROR_INVALID_ARGUMENT, None, None  # type: ignore[return-value]
        gpu, mig = found
        errors = mig.errors if mig is not None else gpu.errors
        return errors.get(what, SUCCESS), gpu, mig

    def _name(self, handle: int, buffer: int, length: int) -> int:
        code, gpu, mig = self._answer(handle, "name")
        if code:
            return code
        name = f"{gpu.name} MIG {mig.profile}" if mig is not None else gpu.name
        return _write_text(buffer, length, name)

    def _uuid(self, handle: int, buffer: int, length: int) -> int:
        code, gpu, mig = self._answer(handle, "uuid")
        if code:
            return code
        return _write_text(buffer, length, mig.uuid if mig is not None else gpu.uuid)

    def _pci_info(self, handle: int, out: int) -> int:
        code, gpu, _ = self._answer(handle, "pci")
        if code:
            return code
        info = nv.nvmlPciInfo_t.from_address(out)
        info.busId = gpu.pci_bus_id.encode()
        info.busIdLegacy = gpu.pci_bus_id[-12:].encode()
        domain, bus, rest = gpu.pci_bus_id.split(":")
        info.domain, info.bus, info.device = int(domain, 16), int(bus, 16), int(rest[:2], 16)
        return SUCCESS

    def _memory_of(self, handle: int, what: str) -> tuple[int, int, int]:
        code, gpu, mig = self._answer(handle, what)
        if code:
            return code, 0, 0
        if mig is not None:
            return SUCCESS, mig.total, mig.free
        if gpu.mig is not None and gpu.mig[0] and not self._machine.root:
            return nv.NVML_ERROR_NO_PERMISSION, 0, 0  # "only if the caller has privileges"
        return SUCCESS, gpu.total, gpu.free

    def _memory_v1(self, handle: int, out: int) -> int:
        code, total, free = self._memory_of(handle, "memory")
        if code:
            return code
        memory = nv.c_nvmlMemory_t.from_address(out)
        memory.total, memory.free, memory.used = total, free, total - free
        return SUCCESS

    def _memory_v2(self, handle: int, out: int) -> int:
        memory = nv.c_nvmlMemory_v2_t.from_address(out)
        if memory.version != nv.nvmlMemory_v2:
            return nv.NVML_ERROR_ARGUMENT_VERSION_MISMATCH
        code, total, free = self._memory_of(handle, "memory_v2")
        if code:
            return code
        reserved = min(512 * 1024**2, total - free)
        memory.total, memory.reserved, memory.free = total, reserved, free
        memory.used = total - free - reserved
        return SUCCESS

    def _compute_capability(self, handle: int, major: int, minor: int) -> int:
        code, gpu, _ = self._answer(handle, "compute_capability")
        if code:
            return code
        _write_int(major, gpu.cc[0], ctypes.c_int)
        _write_int(minor, gpu.cc[1], ctypes.c_int)
        return SUCCESS

    def _mig_mode(self, handle: int, current: int, pending: int) -> int:
        code, gpu, mig = self._answer(handle, "mig_mode")
        if code:
            return code
        if gpu.mig is None or mig is not None:
            return nv.NVML_ERROR_NOT_SUPPORTED
        _write_int(current, gpu.mig[0])
        _write_int(pending, gpu.mig[1])
        return SUCCESS

    def _max_mig_count(self, handle: int, out: int) -> int:
        code, gpu, _ = self._answer(handle, "mig_count")
        if code:
            return code
        if gpu.mig is None:
            return nv.NVML_ERROR_NOT_SUPPORTED
        _write_int(out, gpu.mig_slots if gpu.mig[0] else 0)
        return SUCCESS

    def _mig_by_index(self, handle: int, index: int, out: int) -> int:
        code, gpu, _ = self._answer(handle, "mig_device")
        if code:
            return code
        if gpu.mig is None or not gpu.mig[0] or index >= gpu.mig_slots:
            return nv.NVML_ERROR_INVALID_ARGUMENT
        mig = next((m for m in gpu.migs if m.slot == index), None)
        if mig is None:
            return nv.NVML_ERROR_NOT_FOUND  # an empty slot
        ctypes.c_void_p.from_address(out).value = self._mig_handles[id(mig)]
        return SUCCESS


def _no_library(name: str, *args: Any, **kwargs: Any) -> Any:
    """dlopen on a machine without the NVIDIA driver."""
    raise OSError(f"{name}: cannot open shared object file: No such file or directory")


def pynvml_over(machine: Machine | None) -> ModuleType:
    """A private copy of the real pynvml whose libnvidia-ml is the stand-in for `machine`
    (None: no libnvidia-ml at all)."""
    name = f"_pynvml_standin_{next(_copies)}"
    spec = importlib.util.spec_from_file_location(name, nv.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pynvml names its error classes through sys.modules[__name__]
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    if machine is None:
        module.CDLL = _no_library  # type: ignore[attr-defined]
    else:
        # What pynvml's _LoadNvmlLibrary would have put there after dlopen("libnvidia-ml.so.1")
        module.nvmlLib = LibNvidiaMl(machine)  # type: ignore[attr-defined]
    return module


def nvml(machine: Machine | None) -> PynvmlLibrary:
    """chatenv's real NVML wrapper, driving the real pynvml over the stand-in."""
    return PynvmlLibrary(pynvml_over(machine))
