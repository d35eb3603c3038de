"""Which ROCm builds of PyTorch exist, and which AMD GPUs they have kernels for.

The ROCm twin of `chatenv.torch_builds`, kept apart from it: pure data and pure functions, plus
one reader of an installed build's own files. Read by `doctor` (does the installed ROCm torch
run on these GPUs?) and `install` (the ROCm variant on a machine whose only GPUs are AMD's).

Sources (checked August 2026):
- ROCm variants each torch release ships (Linux x86_64 only; index
  https://download.pytorch.org/whl/rocmX.Y): pytorch/pytorch
  `.github/scripts/generate_binary_build_matrix.py`, `ROCM_ARCHES`, at the points of its
  history that built 2.6 (["6.1", "6.2"], published as rocm6.1 and rocm6.2.4), 2.7
  (["6.2.4", "6.3"]), 2.9 (["6.3", "6.4"]) and 2.10 (["7.0", "7.1"]); for the other releases
  the "Stable ROCm" column of RELEASE.md's Release Compatibility Matrix (2.4: 6.1, 2.5: 6.2,
  2.8: 6.4, 2.11-2.13: 7.2). Where only that column was found the table lists that one
  variant alone, although the matrix usually builds two: a missing variant costs a choice,
  a wrong one would send pip to an index without the wheel.
- Architectures: `PYTORCH_ROCM_ARCH` of the wheel builder images (pytorch/pytorch
  `.ci/docker/manywheel/build.sh`): gfx900 gfx906 gfx908 gfx90a gfx942 gfx1030 gfx1100
  gfx1101 gfx1102 in every ROCm 6 and 7 build, gfx1200 gfx1201 (RDNA 4) added for the
  ROCm 6.4 builds, gfx950 gfx1150 gfx1151 for ROCm 7. Fewer where unsure, as in torch_builds.
- An installed build's own list: the wheel keeps only the rocBLAS kernel files of the
  architectures it was built for (`torch/lib/rocblas/library/*gfx*`, filtered by
  PYTORCH_ROCM_ARCH in `.ci/manywheel/build_rocm.sh`), so their names are its arch list.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

_BASE = (
    "gfx900",
    "gfx906",
    "gfx908",
    "gfx90a",
    "gfx942",
    "gfx1030",
    "gfx1100",
    "gfx1101",
    "gfx1102",
)
_RDNA4 = ("gfx1200", "gfx1201")
_ROCM7 = ("gfx950", "gfx1150", "gfx1151")

#: every ROCm variant chatenv knows, newest first, with the architectures its wheels ship
ARCHES: dict[str, tuple[str, ...]] = {
    "rocm7.2": (*_BASE, *_RDNA4, *_ROCM7),
    "rocm7.1": (*_BASE, *_RDNA4, *_ROCM7),
    "rocm7.0": (*_BASE, *_RDNA4, *_ROCM7),
    "rocm6.4": (*_BASE, *_RDNA4),
    "rocm6.3": _BASE,
    "rocm6.2.4": _BASE,
    "rocm6.2": _BASE,
    "rocm6.1": _BASE,
}

#: the ROCm variants each torch minor release ships, newest first
RELEASES: dict[str, tuple[str, ...]] = {
    "2.13": ("rocm7.2",),
    "2.12": ("rocm7.2",),
    "2.11": ("rocm7.2",),
    "2.10": ("rocm7.1", "rocm7.0"),
    "2.9": ("rocm6.4", "rocm6.3"),
    "2.8": ("rocm6.4",),
    "2.7": ("rocm6.3", "rocm6.2.4"),
    "2.6": ("rocm6.2.4", "rocm6.1"),
    "2.5": ("rocm6.2",),
    "2.4": ("rocm6.1",),
}

INDEX = "https://download.pytorch.org/whl/{tag}"


def tags() -> tuple[str, ...]:
    return tuple(ARCHES)


def index_url(tag: str) -> str:
    return INDEX.format(tag=tag)


def shipped(series: str | None) -> tuple[str, ...]:
    """The ROCm variants a torch release ships, newest first; () for a release not known."""
    return RELEASES.get(series or "", ())


def variant_of(version: str) -> str | None:
    """The variant named by a torch version's local label: "2.13.0+rocm7.2" → "rocm7.2"."""
    label = version.partition("+")[2]
    return label if label.startswith("rocm") else None


def has_kernels(arches: tuple[str, ...], gfx: str) -> bool:
    return gfx in arches


_GFX = re.compile(r"gfx([0-9]+[0-9a-f])(?![0-9a-f])")


def arches_from_files(torch_dir: Path) -> tuple[str, ...] | None:
    """The architectures an installed ROCm torch ships, from the names of the rocBLAS kernel
    files inside it; None when the folder is not there (not a wheel laid out like PyTorch's).
    Generic targets (`gfx11-generic`) are left out: they are not a GPU's own name."""
    try:
        names = [entry.name for entry in (torch_dir / "lib/rocblas/library").iterdir()]
    except OSError:
        return None
    found = {f"gfx{m}" for name in names for m in _GFX.findall(name) if len(m) >= 3}
    return tuple(sorted(found, key=_gfx_key))


def _gfx_key(gfx: str) -> tuple[int, int, int]:
    parts = split_gfx(gfx)
    return parts if parts is not None else (0, 0, 0)


def split_gfx(gfx: str) -> tuple[int, int, int] | None:
    """ "gfx90a" → (9, 0, 10), "gfx1030" → (10, 3, 0): major, minor and stepping, the last two
    one hex digit each (LLVM's AMDGPU processor names)."""
    digits = gfx.removeprefix("gfx")
    if len(digits) < 3 or not digits[:-2].isdigit():
        return None
    try:
        return int(digits[:-2]), int(digits[-2], 16), int(digits[-1], 16)
    except ValueError:
        return None


def gfx_from_target_version(value: int) -> str | None:
    """KFD's `gfx_target_version` (major*10000 + minor*100 + stepping) as a gfx name:
    90402 → gfx942, 90010 → gfx90a, 110000 → gfx1100; None for 0 (a CPU node)."""
    if value <= 0:
        return None
    major, rest = divmod(value, 10000)
    minor, step = divmod(rest, 100)
    return f"gfx{major}{minor:x}{step:x}"


def gfx_from_override(value: str) -> str | None:
    """HSA_OVERRIDE_GFX_VERSION ("10.3.0", "9.0.10") as the gfx name ROCm then assumes."""
    parts = value.strip().split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    major, minor, step = (int(p) for p in parts)
    return gfx_from_target_version(major * 10000 + minor * 100 + step)


def override_for(gfx: str, arches: tuple[str, ...]) -> str | None:
    """The HSA_OVERRIDE_GFX_VERSION that makes ROCm treat a GPU the build has no kernels for as
    a shipped sibling of its family (same major and minor: an RX 6700 XT, gfx1031, runs the
    gfx1030 kernels with 10.3.0, the usual workaround for consumer RDNA cards); None when the
    build ships no sibling."""
    parts = split_gfx(gfx)
    if parts is None:
        return None
    siblings = [a for a in arches if (split_gfx(a) or (-1, -1, -1))[:2] == parts[:2]]
    if not siblings:
        return None
    major, minor, step = split_gfx(sorted(siblings, key=_gfx_key)[0]) or parts
    return f"{major}.{minor}.{step}"
