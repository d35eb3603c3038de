"""The machines the tests talk about, as data: what their libnvidia-ml answers.

Each function returns a `Machine`; `nvml(machine)` is chatenv's real NVML wrapper driving the
real pynvml over a stand-in for that machine's libnvidia-ml (tests/fakes/libnvidia_ml.py).

Where the values come from: driver versions are real NVIDIA releases of their branch
(550.54.15: R550, CUDA 12.4; 570.86.15 and 570.124.04: R570, 12.8; 535.161.08: R535, 12.2;
470.256.02: R470, 11.4; 560.35.03: R560, 12.6; 580.65.06: R580, 13.0); CUDA versions are
NVML's encoding (12040 is 12.4); GPU names, compute capabilities and PCI bus ids are what
nvidia-smi prints on those boards (an HGX H100's eight GPUs sit at buses 18, 2A, 3A, 5D, 9A, AB,
BA, DB); the MIG profiles and their memory (1g.5gb 4864 MiB, 2g.10gb 9856 MiB, 3g.20gb 19968
MiB, 7 slots on an A100 40GB) and the MIG-<uuid> names are from NVIDIA's MIG user guide.
Behaviour under MIG, without libcuda and with cuda-compat follows nvml.h (see the stand-in's
docstring and chatenv.system.nvml).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pynvml as nv

from chatenv.system.nvml import probe as _probe
from tests.fakes.libnvidia_ml import nvml as _nvml

if TYPE_CHECKING:
    from chatenv.system.nvml import GpuProbe, PynvmlLibrary

GIB = 1024**3
MIB = 1024**2


@dataclass
class Mig:
    """A MIG device (GPU instance + compute instance) in one slot of its GPU."""

    slot: int
    uuid: str
    profile: str  # "1g.5gb"
    total: int
    free: int
    #: NVML error code per query ("name", "uuid", "memory", "memory_v2")
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class Gpu:
    name: str | bytes = "NVIDIA H100 80GB HBM3"
    uuid: str = "GPU-5f1d6f9e-0c3a-4a7e-9c1e-2b8e7d0f1a11"
    total: int = 80 * GIB
    free: int = 79 * GIB
    cc: tuple[int, int] = (9, 0)
    pci_bus_id: str = "00000000:18:00.0"
    #: (current, pending) MIG mode; None: a GPU without MIG (NVML answers NOT_SUPPORTED)
    mig: tuple[int, int] | None = (0, 0)
    migs: list[Mig] = field(default_factory=list)
    mig_slots: int = 7
    #: NVML error code per query ("handle", "name", "uuid", "pci", "memory", "memory_v2",
    #: "compute_capability", "mig_mode", "mig_count", "mig_device")
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class Machine:
    driver: str = "550.54.15"
    #: what the loaded libcuda reports (nvmlSystemGetCudaDriverVersion_v2)
    cuda: int = 12040
    #: the driver branch's own CUDA version: what v1 answers when there is no libcuda (None:
    #: the same as `cuda`, a machine without cuda-compat libraries)
    branch_cuda: int | None = None
    libcuda: bool = True
    gpus: list[Gpu] = field(default_factory=list)
    #: is the process root? (a MIG-mode GPU's whole memory is refused to others)
    root: bool = False
    #: False: no libnvidia-ml at all (dlopen fails)
    library: bool = True
    init_error: int | None = None
    #: NVML error code per C function name, e.g. {"nvmlDeviceGetCount_v2": 999}
    errors: dict[str, int] = field(default_factory=dict)
    #: C functions this driver's libnvidia-ml does not export (older drivers)
    missing: frozenset[str] = frozenset()
    #: the C functions called, in order
    calls: list[str] = field(default_factory=list)
    #: exceptions raised inside the stand-in (bugs in it), never expected
    faults: list[str] = field(default_factory=list)


def nvml(machine: Machine) -> PynvmlLibrary:
    """chatenv's NVML seam for this machine: the real wrapper over the real pynvml."""
    return _nvml(machine if machine.library else None)


# --- the machines -----------------------------------------------------------------------------


def cpu_box() -> Machine:
    """No NVIDIA driver at all: libnvidia-ml.so.1 is not there."""
    return Machine(library=False)


def driver_not_loaded() -> Machine:
    return Machine(init_error=nv.NVML_ERROR_DRIVER_NOT_LOADED)


def version_mismatch() -> Machine:
    """Driver packages upgraded, old kernel module still loaded (fixed by a reboot): nvmlInit
    answers NVML_ERROR_LIB_RM_VERSION_MISMATCH."""
    return Machine(init_error=nv.NVML_ERROR_LIB_RM_VERSION_MISMATCH)


def no_permission() -> Machine:
    return Machine(init_error=nv.NVML_ERROR_NO_PERMISSION)


def no_devices() -> Machine:
    return Machine(gpus=[])


def one_h100(driver: str = "550.54.15", cuda: int = 12040) -> Machine:
    return Machine(driver=driver, cuda=cuda, gpus=[Gpu()])


HGX_BUSES = ("18", "2A", "3A", "5D", "9A", "AB", "BA", "DB")


def eight_h100() -> Machine:
    return Machine(
        driver="570.86.15",
        cuda=12080,
        gpus=[
            Gpu(
                uuid=f"GPU-5f1d6f9e-0c3a-4a7e-9c1e-2b8e7d0f1a{i:02d}",
                free=(70 + i) * GIB,
                pci_bus_id=f"00000000:{bus}:00.0",
            )
            for i, bus in enumerate(HGX_BUSES)
        ],
    )


def _a100_migs() -> list[Mig]:
    """Three MIG devices on an A100 40GB, as `nvidia-smi -L` lists them (slots 0, 1, 2)."""
    return [
        Mig(0, "MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f", "3g.20gb", 19968 * MIB, 19900 * MIB),
        Mig(1, "MIG-0bd9b3b4-2f7a-5c58-a53a-9d4b7f7c1a02", "2g.10gb", 9856 * MIB, 9800 * MIB),
        Mig(2, "MIG-7e1d0a3c-96f1-5b3e-8a0c-1f2e3d4c5b6a", "1g.5gb", 4864 * MIB, 4800 * MIB),
    ]


def _a100(mig: tuple[int, int], migs: list[Mig] | None = None) -> Gpu:
    return Gpu(
        name="NVIDIA A100-SXM4-40GB",
        uuid="GPU-8932f937-d72c-4106-c12f-20bd9faed9f6",
        total=40 * GIB,
        free=39 * GIB,
        cc=(8, 0),
        pci_bus_id="00000000:07:00.0",
        mig=mig,
        migs=migs or [],
    )


def mig_enabled_a100(*, root: bool = True) -> Machine:
    """An A100 in MIG mode with three MIG devices. As root NVML also answers the whole GPU's
    memory; as a normal user that query is NO_PERMISSION."""
    return Machine(
        driver="535.161.08",
        cuda=12020,
        root=root,
        gpus=[_a100((1, 1), _a100_migs())],
    )


def mig_a100_non_root() -> Machine:
    return mig_enabled_a100(root=False)


def mig_without_instances() -> Machine:
    """MIG mode on, but nobody created a GPU instance yet: CUDA programs see nothing of it."""
    return Machine(driver="535.161.08", cuda=12020, gpus=[_a100((1, 1))])


def mig_change_pending() -> Machine:
    """MIG enabled with nvidia-smi -mig 1, not yet applied (needs a GPU reset)."""
    return Machine(driver="535.161.08", cuda=12020, gpus=[_a100((0, 1))])


def _gtx1080ti(bus: str = "00000000:01:00.0") -> Gpu:
    return Gpu(
        name="NVIDIA GeForce GTX 1080 Ti",
        uuid="GPU-1080ti00-0000-0000-0000-000000000000",
        total=11 * GIB,
        free=10 * GIB,
        cc=(6, 1),
        pci_bus_id=bus,
        mig=None,
    )


def old_driver_gtx1080ti() -> Machine:
    """An old Pascal card on a driver that tops out at CUDA 11.4; R470's libnvidia-ml predates
    nvmlDeviceGetMemoryInfo_v2."""
    return Machine(
        driver="470.256.02",
        cuda=11040,
        gpus=[_gtx1080ti()],
        missing=frozenset({"nvmlDeviceGetMemoryInfo_v2"}),
    )


def gtx1080ti_current_driver() -> Machine:
    """The same Pascal card on a current driver: CUDA 12 builds load, but 12.8+ builds ship no
    sm_60/sm_61 kernels for it."""
    return Machine(driver="560.35.03", cuda=12060, gpus=[_gtx1080ti()])


def consumer_rtx4090_partial() -> Machine:
    """A GeForce card whose NVML answers some fields with NotSupported / NoPermission."""
    return Machine(
        driver="560.35.03",
        cuda=12060,
        gpus=[
            Gpu(
                name="NVIDIA GeForce RTX 4090",
                total=24 * GIB,
                free=23 * GIB,
                cc=(8, 9),
                pci_bus_id="00000000:01:00.0",
                mig=None,
                errors={"uuid": nv.NVML_ERROR_NO_PERMISSION},
            )
        ],
    )


def rtx5090() -> Machine:
    """Blackwell (compute capability 12.0): only CUDA 12.8+ builds have kernels for it."""
    return Machine(
        driver="570.124.04",
        cuda=12080,
        gpus=[
            Gpu(
                name="NVIDIA GeForce RTX 5090",
                uuid="GPU-5090aaaa-0000-0000-0000-000000000000",
                total=32 * GIB,
                free=31 * GIB,
                cc=(12, 0),
                pci_bus_id="00000000:01:00.0",
                mig=None,
            )
        ],
    )


def busy_h100() -> Machine:
    """An H100 whose memory another process holds."""
    return Machine(gpus=[Gpu(free=GIB // 2)])


def mixed_h100_1080ti(driver: str = "580.65.06", cuda: int = 13000) -> Machine:
    """A workstation with an H100 and, on a lower PCI bus, a GTX 1080 Ti: nvidia-smi (NVML)
    calls the 1080 Ti GPU 0; CUDA's default FASTEST_FIRST order most likely puts the H100
    first, and does not promise it."""
    return Machine(
        driver=driver,
        cuda=cuda,
        gpus=[_gtx1080ti("00000000:01:00.0"), Gpu(pci_bus_id="00000000:41:00.0")],
    )


def no_libcuda_container() -> Machine:
    """A container started with NVIDIA_DRIVER_CAPABILITIES=utility: the NVIDIA Container
    Toolkit mounts libnvidia-ml (nvidia-smi works) but not libcuda, so _v2 answers
    LIBRARY_NOT_FOUND and v1 the branch's CUDA version."""
    return Machine(driver="550.54.15", cuda=12040, libcuda=False, gpus=[Gpu()])


def forward_compat_container() -> Machine:
    """An NGC-style container with cuda-compat 13.0 on an R535 datacenter driver: the loaded
    libcuda is the compat one, so NVML reports CUDA 13.0 on a driver whose branch is 12.2."""
    return Machine(driver="535.161.08", cuda=13000, branch_cuda=12020, gpus=[Gpu()])


def garbled_name() -> Machine:
    """A GPU whose name NVML answers with bytes that are not UTF-8: pynvml's decode raises
    UnicodeDecodeError (seen with corrupted VBIOS strings)."""
    return Machine(gpus=[Gpu(name=b"NVIDIA H100 \xff\xfe PCIe")])


def probe(machine: Machine) -> GpuProbe:
    """What chatenv's probe reads from this machine, through the real pynvml."""
    return _probe(nvml(machine))
