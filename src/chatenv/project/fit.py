"""Does a model fit: its memory as parameters x bytes per parameter plus a stated overhead,
against the free memory of the GPUs it would use. Pure arithmetic over observations.

How the estimate is made (docs/project-file.md says the same):
- weights = parameters x bytes per parameter of the dtype it is loaded in (bfloat16/float16:
  2, float32: 4, int8/fp8: 1, int4/nf4: 0.5);
- total = weights x (1 + overhead); the overhead (default 0.2, set per model) stands for the
  KV cache of a short context, activations, the CUDA context and the allocator's slack. A long
  context or a large batch needs more: a serving engine such as vLLM takes a fixed share of the
  GPU (`gpu_memory_utilization`, 0.9 by default) and fills it with KV cache, so say so with a
  larger overhead;
- available = the free memory NVML reports, summed over the GPUs the model is split across
  (the project's `gpus` for it, else `[tool.chatenv.gpus] count`, else 1), taking the GPUs with
  the most free memory. An even split is assumed, as `device_map="auto"` and tensor parallelism
  roughly do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatenv.project.settings import DTYPE_BYTES
from chatenv.records import dataclass

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chatenv.system.nvml import GpuInfo

GIB = 1024**3


def gib(value: float) -> str:
    return f"{value / GIB:.1f} GiB"


def params_text(params: int) -> str:
    """8030261248 -> "8.03 B"; 124439808 -> "124 M"."""
    if params >= 1e9:
        return f"{params / 1e9:.2f} B"
    if params >= 1e6:
        return f"{params / 1e6:.0f} M"
    return f"{params:,}"


@dataclass(frozen=True)
class Estimate:
    params: int
    dtype: str
    overhead: float

    @property
    def bytes_per_param(self) -> float:
        return DTYPE_BYTES[self.dtype]

    @property
    def weights_bytes(self) -> int:
        return int(self.params * self.bytes_per_param)

    @property
    def total_bytes(self) -> int:
        return int(self.weights_bytes * (1 + self.overhead))

    def describe(self) -> str:
        per = f"{self.bytes_per_param:g} byte{'s' if self.bytes_per_param != 1 else ''}"
        return (
            f"{params_text(self.params)} parameters × {per} ({self.dtype}) = "
            f"{gib(self.weights_bytes)} of weights, + {self.overhead:.0%} overhead = "
            f"{gib(self.total_bytes)}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "dtype": self.dtype,
            "bytes_per_param": self.bytes_per_param,
            "overhead": self.overhead,
            "weights_bytes": self.weights_bytes,
            "total_bytes": self.total_bytes,
        }


@dataclass(frozen=True)
class Fit:
    estimate: Estimate
    #: the GPUs counted (indexes), most free memory first; empty: no GPU with a known free figure
    gpus: tuple[int, ...]
    available_bytes: int
    #: how many GPUs the model is meant to be split across
    wanted: int

    @property
    def fits(self) -> bool:
        return len(self.gpus) >= self.wanted and self.estimate.total_bytes <= self.available_bytes

    def describe(self) -> str:
        if not self.gpus:
            return "no GPU reports its free memory"
        where = (
            f"GPU {self.gpus[0]}"
            if len(self.gpus) == 1
            else f"GPUs {', '.join(str(g) for g in self.gpus)}"
        )
        short = f" (only {len(self.gpus)} of the {self.wanted} GPUs it is split across)"
        return f"{gib(self.available_bytes)} free on {where}" + (
            short if len(self.gpus) < self.wanted else ""
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate.to_json(),
            "gpus": list(self.gpus),
            "available_bytes": self.available_bytes,
            "wanted_gpus": self.wanted,
            "fits": self.fits,
        }


def fit_on_gpus(estimate: Estimate, gpus: Sequence[GpuInfo], wanted: int = 1) -> Fit:
    """The `wanted` GPUs with the most free memory, and whether the estimate fits in their sum."""
    known = sorted(
        (g for g in gpus if g.memory_free is not None),
        key=lambda g: (-(g.memory_free or 0), g.index),
    )[: max(wanted, 1)]
    available = sum(g.memory_free or 0 for g in known)
    return Fit(estimate, tuple(g.index for g in known), available, max(wanted, 1))
