"""What each PyTorch CUDA build needs from the driver and which GPUs it has kernels for.

One table, read by `doctor` (is the installed torch right for this machine?) and by `install`
(which torch variant to pick). Pure data and pure functions: no NVML, no torch import.

Sources (checked August 2026):
- Driver minimums: NVIDIA CUDA Toolkit release notes, table "CUDA Toolkit and Corresponding
  Driver Versions" and the minor-version-compatibility table
  (https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/index.html). PyTorch wheels bundle
  their CUDA runtime, so a driver only needs to support the build's CUDA *major* version through
  minor version compatibility: 11.x builds need >= 450.80.02 (Windows 452.39), 12.x >= 525.60.13
  (Windows 528.33), 13.x >= 580 (both). uv uses exactly these thresholds
  (astral-sh/uv `crates/uv-torch/src/backend.rs`, `LINUX_CUDA_DRIVERS` / `WINDOWS_CUDA_VERSIONS`),
  taken from light-the-torch (`light_the_torch/_cb.py`). Both stop at the driver: neither looks
  at the GPU, which is why `install` also checks the architectures below.
- Which CUDA variants each torch release ships: pytorch/pytorch `RELEASE.md`, "Release
  Compatibility Matrix" (stable + experimental CUDA columns are both published on
  download.pytorch.org/whl/cuXYZ).
- Architectures shipped: TORCH_CUDA_ARCH_LIST of PyTorch's release builds
  (pytorch/pytorch `.ci/manywheel/build_cuda.sh`, per CUDA version and release branch) and, for
  2.12-2.14, RELEASE.md's "PyTorch CUDA Support Matrix". 12.8+ builds dropped Maxwell and Pascal
  (sm_50, sm_60); 2.7's cu128 and 2.11's cu128 shipped without Volta (sm_70), 2.8-2.10 restored
  it (pytorch/pytorch#157517); CUDA 13 builds have no Volta. aarch64 builds keep only 8.0 and
  newer (plus 11.0 for CUDA 13), per `filter_aarch64_archs` in the same script.
  Where a source was uncertain, the table errs on the side of *fewer* architectures: a missing
  entry costs a GPU a newer build, a wrong entry would give it a build with no kernels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from chatenv.system.nvml import CudaVersion

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

Arch = tuple[int, int]  # compute capability, e.g. (8, 6)


@dataclass(frozen=True)
class CudaVariant:
    tag: str  # "cu128": the suffix of the wheel's local version and of its index URL
    cuda: CudaVersion
    min_driver_linux: Version
    #: SASS every release that ships this variant has (x86_64); `shipped_arches` is per release
    arches: tuple[Arch, ...]
    min_driver_windows: Version | None = None

    @property
    def index_url(self) -> str:
        return f"https://download.pytorch.org/whl/{self.tag}"


def arch_names(arches: tuple[Arch, ...]) -> list[str]:
    """The arch list as torch prints it: sm_75 sm_80 ..."""
    return [f"sm_{a}{b}" for a, b in arches]


# TORCH_CUDA_ARCH_LIST per build (x86_64 Linux and Windows), from build_cuda.sh / RELEASE.md.
_CU118 = ((3, 7), (5, 0), (6, 0), (7, 0), (7, 5), (8, 0), (8, 6), (9, 0))
_CU12_LEGACY = ((5, 0), (6, 0), (7, 0), (7, 5), (8, 0), (8, 6), (9, 0))  # cu121 .. cu126
_CU128_VOLTA = ((7, 0), (7, 5), (8, 0), (8, 6), (9, 0), (10, 0), (12, 0))  # 2.8-2.10 cu128/129
_CU128_NO_VOLTA = ((7, 5), (8, 0), (8, 6), (9, 0), (10, 0), (12, 0))  # 2.7 and 2.11 cu128
_CU13 = ((7, 5), (8, 0), (8, 6), (9, 0), (10, 0), (12, 0))  # cu130, cu132 (12.0 also as PTX)

#: CUDA variants each torch minor release ships, newest first, with their architectures.
RELEASES: dict[str, dict[str, tuple[Arch, ...]]] = {
    "2.13": {"cu132": _CU13, "cu130": _CU13, "cu126": _CU12_LEGACY},
    "2.12": {"cu132": _CU13, "cu130": _CU13, "cu126": _CU12_LEGACY},
    "2.11": {"cu130": _CU13, "cu128": _CU128_NO_VOLTA, "cu126": _CU12_LEGACY},
    "2.10": {"cu130": _CU13, "cu128": _CU128_VOLTA, "cu126": _CU12_LEGACY},
    "2.9": {"cu130": _CU13, "cu128": _CU128_VOLTA, "cu126": _CU12_LEGACY},
    "2.8": {"cu129": _CU128_VOLTA, "cu128": _CU128_VOLTA, "cu126": _CU12_LEGACY},
    "2.7": {"cu128": _CU128_NO_VOLTA, "cu126": _CU12_LEGACY, "cu118": _CU118},
    "2.6": {"cu126": _CU12_LEGACY, "cu124": _CU12_LEGACY, "cu118": _CU118},
    "2.5": {"cu124": _CU12_LEGACY, "cu121": _CU12_LEGACY, "cu118": _CU118},
    "2.4": {"cu124": _CU12_LEGACY, "cu121": _CU12_LEGACY, "cu118": _CU118},
}

_DRIVER_11 = Version("450.80.02")
_DRIVER_12 = Version("525.60.13")
_DRIVER_13 = Version("580")  # NVIDIA's minor-version table says ">= 580"; so does uv
_WIN_DRIVER_11 = Version("452.39")
_WIN_DRIVER_12 = Version("528.33")
_WIN_DRIVER_13 = Version("580")


def _common_arches(tag: str) -> tuple[Arch, ...]:
    """The architectures every release shipping `tag` has: safe when the release is unknown."""
    lists = [set(arches[tag]) for arches in RELEASES.values() if tag in arches]
    return tuple(sorted(set.intersection(*lists))) if lists else ()


def _variant(tag: str, cuda: CudaVersion, linux: Version, windows: Version) -> CudaVariant:
    return CudaVariant(tag, cuda, linux, _common_arches(tag), min_driver_windows=windows)


#: Newest first.
VARIANTS: tuple[CudaVariant, ...] = (
    _variant("cu132", CudaVersion(13, 2), _DRIVER_13, _WIN_DRIVER_13),
    _variant("cu130", CudaVersion(13, 0), _DRIVER_13, _WIN_DRIVER_13),
    _variant("cu129", CudaVersion(12, 9), _DRIVER_12, _WIN_DRIVER_12),
    _variant("cu128", CudaVersion(12, 8), _DRIVER_12, _WIN_DRIVER_12),
    _variant("cu126", CudaVersion(12, 6), _DRIVER_12, _WIN_DRIVER_12),
    _variant("cu124", CudaVersion(12, 4), _DRIVER_12, _WIN_DRIVER_12),
    _variant("cu121", CudaVersion(12, 1), _DRIVER_12, _WIN_DRIVER_12),
    _variant("cu118", CudaVersion(11, 8), _DRIVER_11, _WIN_DRIVER_11),
)

CPU_INDEX_URL = "https://download.pytorch.org/whl/cpu"


def variant(tag: str) -> CudaVariant | None:
    return next((v for v in VARIANTS if v.tag == tag), None)


def variant_for_cuda(cuda: CudaVersion) -> CudaVariant | None:
    """The variant of a torch built for this CUDA version (torch.version.cuda == "12.8")."""
    return next((v for v in VARIANTS if v.cuda == cuda), None)


def driver_supports(
    v: CudaVariant, driver_version: str, driver_cuda: CudaVersion | None, platform: str = "linux"
) -> bool:
    """Can a driver run this build on `platform` (a `sys.platform` value)? Its CUDA major must be
    new enough, and its version at least the minor-version-compatibility minimum for that major
    (Windows drivers are numbered differently: `min_driver`)."""
    if driver_cuda is not None and driver_cuda.major < v.cuda.major:
        return False
    try:
        return Version(driver_version) >= min_driver(v, platform)
    except ValueError:  # a driver string packaging cannot parse: trust the CUDA version alone
        return driver_cuda is not None and driver_cuda.major >= v.cuda.major


def min_driver(v: CudaVariant, platform: str) -> Version:
    """The oldest driver that runs this build on `platform` (a `sys.platform` value)."""
    if platform.startswith("win") and v.min_driver_windows is not None:
        return v.min_driver_windows
    return v.min_driver_linux


def nvidia_version(version: Version) -> str:
    """A driver version as NVIDIA writes it: 450.80.02, not packaging's 450.80.2."""
    first, *rest = version.release
    return ".".join([str(first), *(f"{part:02d}" for part in rest)])


def has_kernels(arches: tuple[Arch, ...], cc: Arch) -> bool:
    """Does a build run natively on a GPU? SASS for sm_XY runs on compute capability X.Z for
    Z >= Y (same major): a build with sm_60 runs on a GTX 1080 Ti (6.1), not on sm_50."""
    return any(major == cc[0] and minor <= cc[1] for major, minor in arches)


# --- releases ----------------------------------------------------------------------------------


def release_series(version: str) -> str | None:
    """ "2.13.0+cu130" → "2.13"; None for a string that is not a version."""
    try:
        v = Version(version)
    except InvalidVersion:
        return None
    return f"{v.major}.{v.minor}"


def _series_key(series: str) -> tuple[int, ...]:
    return tuple(int(part) for part in series.split("."))


def known_series() -> list[str]:
    """The torch minor releases this table knows, newest first."""
    return sorted(RELEASES, key=_series_key, reverse=True)


def shipped_variants(series: str) -> tuple[CudaVariant, ...]:
    """The CUDA variants a torch release ships, newest first; () for a release we do not know."""
    tags = RELEASES.get(series, {})
    return tuple(v for v in VARIANTS if v.tag in tags)


def shipped_arches(tag: str, series: str | None, machine: str = "x86_64") -> tuple[Arch, ...]:
    """The architectures one release's build of a variant has kernels for. An unknown release
    falls back to what every release of that variant has. aarch64 wheels are built with a
    filtered list (no architecture below 8.0, no 8.6; CUDA 13 adds 11.0 for Jetson Thor)."""
    table = RELEASES.get(series or "", {})
    arches = table.get(tag)
    if arches is None:
        v = variant(tag)
        arches = v.arches if v is not None else ()
    if machine.lower() in ("aarch64", "arm64"):
        kept = tuple(a for a in arches if a >= (8, 0) and a != (8, 6))
        if tag.startswith("cu13") and (11, 0) not in kept:
            kept = tuple(sorted((*kept, (11, 0))))
        return kept
    return arches


def newest_series(spec: SpecifierSet, *, shipping: str | None = None) -> str | None:
    """The newest known torch release a version range allows (optionally: that ships a given
    variant). A release is allowed when its first version (X.Y.0) is in the range."""
    for series in known_series():
        if shipping is not None and shipping not in RELEASES[series]:
            continue
        if spec.contains(Version(f"{series}.0"), prereleases=False):
            return series
    return None
