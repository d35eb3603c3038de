"""Which GPUs CUDA programs will use: CUDA_VISIBLE_DEVICES read as the CUDA runtime reads it,
against the GPUs NVML lists."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatenv.system.nvml import GpuInfo


def visible_indices(value: str, gpus: tuple[GpuInfo, ...]) -> list[int]:
    """The GPUs CUDA_VISIBLE_DEVICES lets CUDA programs use, as the CUDA runtime reads it:
    a comma-separated list of indices or UUID prefixes, cut at the first entry that matches
    no GPU ("" and "-1" hide them all)."""
    visible: list[int] = []
    for raw in value.split(","):
        entry = raw.strip()
        match: int | None = None
        if entry.isdigit():
            index = int(entry)
            match = index if index < len(gpus) else None
        elif entry.startswith("GPU-"):
            match = next((g.index for g in gpus if g.uuid and g.uuid.startswith(entry)), None)
        elif entry.startswith("MIG-"):
            # A MIG instance's UUID is not its GPU's: count it against the first MIG-mode GPU.
            match = next((g.index for g in gpus if g.mig_enabled), None)
        if match is None or match in visible:
            break
        visible.append(match)
    return visible
