"""What each PyTorch CUDA build needs from the driver and which GPUs it has kernels for.

One table, read by `doctor` (is the installed torch right for this machine?) and by `install`
(which torch variant to pick). Pure data and pure functions: no NVML, no torch import.

Sources:
- Driver minimums: NVIDIA CUDA Toolkit release notes, "CUDA Toolkit and Corresponding Driver
  Versions" / minor version compatibility
  (https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/index.html). PyTorch wheels bundle
  their CUDA runtime, so a driver only needs to support the build's CUDA *major* version through
  minor version compatibility: 11.x builds need >= 450.80.02, 12.x >= 525.60.13, 13.x >= 580.
  uv (`crates/uv-torch/src/backend.rs`) and light-the-torch use the same thresholds.
- Architectures shipped: TORCH_CUDA_ARCH_LIST of PyTorch's release builds
  (pytorch/pytorch `.ci/manywheel/build_cuda.sh`). Recent 12.8+ builds dropped Maxwell and
  Pascal (sm_50, sm_60); 13.0 builds dropped Volta (sm_70) too.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

from chatenv.system.nvml import CudaVersion

Arch = tuple[int, int]  # compute capability, e.g. (8, 6)


@dataclass(frozen=True)
class CudaVariant:
    tag: str  # "cu128": the suffix of the wheel's local version and of its index URL
    cuda: CudaVersion
    min_driver_linux: Version
    arches: tuple[Arch, ...]  # SASS shipped in PyTorch's release wheels

    @property
    def index_url(self) -> str:
        return f"https://download.pytorch.org/whl/{self.tag}"

    def arch_names(self) -> list[str]:
        return [f"sm_{a}{b}" for a, b in self.arches]


_OLD = ((5, 0), (6, 0), (7, 0), (7, 5), (8, 0), (8, 6), (9, 0))
_BLACKWELL = ((7, 0), (7, 5), (8, 0), (8, 6), (9, 0), (10, 0), (12, 0))
_CUDA13 = ((7, 5), (8, 0), (8, 6), (9, 0), (10, 0), (11, 0), (12, 0))

_DRIVER_11 = Version("450.80.02")
_DRIVER_12 = Version("525.60.13")
_DRIVER_13 = Version("580.65.06")

#: Newest first.
VARIANTS: tuple[CudaVariant, ...] = (
    CudaVariant("cu130", CudaVersion(13, 0), _DRIVER_13, _CUDA13),
    CudaVariant("cu129", CudaVersion(12, 9), _DRIVER_12, _BLACKWELL),
    CudaVariant("cu128", CudaVersion(12, 8), _DRIVER_12, _BLACKWELL),
    CudaVariant("cu126", CudaVersion(12, 6), _DRIVER_12, _OLD),
    CudaVariant("cu124", CudaVersion(12, 4), _DRIVER_12, _OLD),
    CudaVariant("cu121", CudaVersion(12, 1), _DRIVER_12, _OLD),
    CudaVariant("cu118", CudaVersion(11, 8), _DRIVER_11, _OLD),
)

CPU_INDEX_URL = "https://download.pytorch.org/whl/cpu"


def variant(tag: str) -> CudaVariant | None:
    return next((v for v in VARIANTS if v.tag == tag), None)


def variant_for_cuda(cuda: CudaVersion) -> CudaVariant | None:
    """The variant of a torch built for this CUDA version (torch.version.cuda == "12.8")."""
    return next((v for v in VARIANTS if v.cuda == cuda), None)


def driver_supports(v: CudaVariant, driver_version: str, driver_cuda: CudaVersion | None) -> bool:
    """Can a driver run this build? Its CUDA major must be new enough, and its version at least
    the minor-version-compatibility minimum for that major."""
    if driver_cuda is not None and driver_cuda.major < v.cuda.major:
        return False
    try:
        return Version(driver_version) >= v.min_driver_linux
    except ValueError:  # a driver string packaging cannot parse: trust the CUDA version alone
        return driver_cuda is not None and driver_cuda.major >= v.cuda.major


def has_kernels(arches: tuple[Arch, ...], cc: Arch) -> bool:
    """Does a build run natively on a GPU? SASS for sm_XY runs on compute capability X.Z for
    Z >= Y (same major): a build with sm_60 runs on a GTX 1080 Ti (6.1), not on sm_50."""
    return any(major == cc[0] and minor <= cc[1] for major, minor in arches)
