"""Which GPUs CUDA programs will use: CUDA_VISIBLE_DEVICES read as the CUDA runtime reads it
(indices in CUDA's order, UUIDs, MIG UUIDs and prefixes), against the GPUs NVML lists."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.records import dataclass

if TYPE_CHECKING:
    from chatenv.system.nvml import GpuInfo, MigDevice


@dataclass(frozen=True)
class CudaDevice:
    """One device a CUDA program gets, in CUDA's order: a GPU, a MIG device of one, or (when
    CUDA's order cannot be told) "the GPU CUDA numbers `ordinal`"."""

    ordinal: int  # cuda:N
    gpu: GpuInfo | None
    mig: MigDevice | None = None

    def describe(self) -> str:
        if self.gpu is None:
            return f"cuda:{self.ordinal} = CUDA's GPU {self.ordinal}, which one cannot be told"
        name = self.gpu.name or "name n/a"
        if self.mig is not None:
            what = f"MIG {self.mig.profile or 'device'} of GPU {self.gpu.index} {name}"
        else:
            what = f"GPU {self.gpu.index} {name}"
        return f"cuda:{self.ordinal} = {what}"


@dataclass(frozen=True)
class Visible:
    devices: tuple[CudaDevice, ...]
    #: why an index cannot be mapped to a GPU (mixed GPUs in CUDA's default order); None if it can
    ambiguous: str | None = None
    #: a UUID prefix that names several devices
    prefix_doubt: str | None = None

    @property
    def gpus(self) -> list[int | None]:
        """NVML index of each device's GPU, in CUDA's order (None where it cannot be told)."""
        return [d.gpu.index if d.gpu is not None else None for d in self.devices]


def cuda_order(
    gpus: tuple[GpuInfo, ...], device_order: str | None
) -> tuple[list[GpuInfo] | None, str | None]:
    """The GPUs in the order CUDA numbers them, or None and why it cannot be told.

    PCI_BUS_ID: ascending PCI bus id (nvidia-smi's order). FASTEST_FIRST (the default): known
    only when every GPU is the same model, where any order gives the same answers."""
    if (device_order or "").strip().upper() == "PCI_BUS_ID":
        if all(g.pci_bus_id for g in gpus):
            return sorted(gpus, key=lambda g: (g.pci_bus_id or "").upper()), None
        return None, "NVML did not give every GPU's PCI bus id"
    if len({(g.name, g.compute_capability, g.memory_total) for g in gpus}) <= 1:
        return list(gpus), None
    models = ", ".join(sorted({g.name or "name n/a" for g in gpus}))
    return None, (
        f"CUDA numbers these different GPUs ({models}) fastest first by a heuristic it does "
        "not specify, not in nvidia-smi's order"
    )


def _match_uuid(entry: str, gpus: tuple[GpuInfo, ...]) -> tuple[CudaDevice | None, str | None]:
    """A GPU-… or MIG-… entry: a full UUID or a prefix. CUDA wants a prefix that names one
    device; one that names several is taken as the first, and said to be ambiguous."""
    if entry.startswith("MIG-GPU-"):  # the R450 form: MIG-GPU-<uuid>/<gi>/<ci>
        parent = entry.removeprefix("MIG-").partition("/")[0]
        found = [CudaDevice(0, g) for g in gpus if g.uuid and g.uuid.startswith(parent)]
    elif entry.startswith("MIG-"):
        found = [
            CudaDevice(0, g, m)
            for g in gpus
            for m in g.mig_devices
            if m.uuid and m.uuid.startswith(entry)
        ]
    else:
        found = [CudaDevice(0, g) for g in gpus if g.uuid and g.uuid.startswith(entry)]
    if not found:
        return None, None
    why = None
    if len(found) > 1:
        why = f"{entry} is the start of {len(found)} UUIDs: CUDA needs a prefix that names one"
    return found[0], why


def cuda_visible(value: str, gpus: tuple[GpuInfo, ...], device_order: str | None) -> Visible:
    """The devices CUDA programs get under CUDA_VISIBLE_DEVICES=value, in CUDA's order."""
    order, why = cuda_order(gpus, device_order)
    devices: list[CudaDevice] = []
    seen: set[str] = set()
    indices: set[int] = set()
    prefix_doubt: str | None = None
    for raw in value.split(","):
        entry = raw.strip()
        if entry.isdigit():
            index = int(entry)
            if index >= len(gpus):
                break
            key = f"index {index}"
            indices.add(index)
            device = CudaDevice(len(devices), order[index] if order is not None else None)
        elif entry.startswith(("GPU-", "MIG-")):
            match, unclear = _match_uuid(entry, gpus)
            if match is None or match.gpu is None:
                break
            prefix_doubt = prefix_doubt or unclear
            key = f"{match.gpu.index}/{match.mig.slot if match.mig else '-'}"
            device = CudaDevice(len(devices), match.gpu, match.mig)
        else:
            break
        if key in seen:
            break
        seen.add(key)
        devices.append(device)
    # Indices on mixed GPUs leave open which GPUs are meant, unless they list every GPU
    # (then only the numbering is CUDA's own).
    open_question = order is None and bool(indices) and len(indices) < len(gpus)
    return Visible(tuple(devices), why if open_question else None, prefix_doubt)


def visible_indices(
    value: str, gpus: tuple[GpuInfo, ...], device_order: str | None = None
) -> list[int | None]:
    """The NVML index of each GPU CUDA_VISIBLE_DEVICES lets CUDA programs use, in CUDA's
    order; None where CUDA's order on mixed GPUs cannot be told ("" and "-1" hide them all)."""
    return cuda_visible(value, gpus, device_order).gpus
