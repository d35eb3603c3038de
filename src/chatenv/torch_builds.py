"""What each PyTorch CUDA build needs from the driver and which GPUs it has kernels for.

One table, read by `doctor` (is the installed torch right for this machine?) and by `install`
(which torch variant to pick). Pure data and pure functions: no NVML, no torch import.
`install` asks the PyTorch index itself which wheels exist when it can reach it
(`chatenv.install.torch_index`); this table is what it falls back to offline, and what doctor
reads. `scripts/torch_lag.py` prints how far the table lags behind the indexes; README's
"Adding a PyTorch release" says how a release is added.

Sources (checked August 2026, 2.14 and 2.15 in September 2026):
- Driver minimums: NVIDIA CUDA Toolkit release notes, table "CUDA Toolkit and Corresponding
  Driver Versions" and the minor-version-compatibility table
  (https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/index.html). PyTorch wheels bundle
  their CUDA runtime, so a driver only needs to support the build's CUDA *major* version through
  minor version compatibility: 11.x builds need >= 450.80.02 (Windows 452.39), 12.x >= 525.60.13
  (Windows 528.33), 13.x >= 580 (both). uv uses exactly these thresholds
  (astral-sh/uv `crates/uv-torch/src/backend.rs`, `LINUX_CUDA_DRIVERS` / `WINDOWS_CUDA_VERSIONS`),
  taken from light-the-torch (`light_the_torch/_cb.py`). Both stop at the driver: neither looks
  at the GPU, which is why `install` also checks the architectures below. A container with
  NVIDIA's `cuda-compat` libraries runs a newer CUDA on an older datacenter driver (forward
  compatibility): there the CUDA version the loaded libcuda reports is what counts
  (`driver_supports`, `chatenv.system.nvml.DriverInfo.forward_compat`).
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
- 2.14 (released 2 September 2026): cu126, cu130, cu132, from RELEASE.md's compatibility row
  added in pytorch/pytorch#194367 ("values taken from release/2.14") and the 2.14 RFC
  pytorch/pytorch#190355 (CUDA 13.2 the PyPI default, 13.0 stable, 12.6 legacy). Architectures:
  RELEASE.md's support matrix "for Release 2.12, 2.13 and 2.14" (pytorch/pytorch#197555 keeps
  only the latest release in that heading and confirms 2.13 and 2.14 are the same).
- 2.15: cu126 is gone, and with it every Maxwell, Pascal and Volta kernel: RFC
  pytorch/pytorch#190385 and pytorch/test-infra#8739 ("Remove cuda 12.6 support CD", merged
  2026-09-06, citing the dev-discuss notice "CUDA 12.6 wheels will no longer be published from
  PyTorch 2.15"). It keeps cu130 and cu132 (same RFC). PyPI's own record agrees on the
  default: torch 2.15.0 (uploaded 2026-10-28) has Linux wheels requiring cuda-toolkit 13.2.2,
  so its PyPI build is CUDA 13.2, and it requires Python >= 3.11 (read from
  pypi.org/pypi/torch/json). Not established from any source here:
  2.15's own TORCH_CUDA_ARCH_LIST (no 2.15 support matrix was published in what could be read)
  and whether 2.15 adds a CUDA variant. So its architecture lists are marked *assumed* (the
  2.14 lists for the same variants) and every verdict built on them says so; `install` reads
  the real variants from the index when it can.
- Linux aarch64 wheels: which variants exist per release (`_AARCH64_VARIANTS`): 2.4 had none
  (pytorch/pytorch#134790); 2.7 only cu128 (`generate_binary_build_matrix.py` of the 2.7
  branch: `CUDA_AARCH64_ARCHES = ["12.8-aarch64"]`); 2.8's cu128 (pytorch/pytorch#160162;
  whether 2.8 had aarch64 cu126/cu129 wheels is not established here, so the table leaves them
  out); from 2.9 on the x86_64 set (2.9's matrix: 12.6, 12.8, 13.0 for aarch64; RELEASE.md's
  aarch64 table for 2.11-2.14). 2.5 (cu124) and 2.6 (cu126) built aarch64 for sm_90 only
  (`build_cuda.sh`'s aarch64 TORCH_CUDA_ARCH_LIST="9.0", pytorch/pytorch#140844 restoring it
  when a nightly picked up more); that 2.5 published an aarch64 cu124 wheel is from issue 12's
  report, not a primary source read here.
- Not in the table although third parties report them: Linux-only cu129 wheels of 2.12.1 and
  2.13.0 (no RELEASE.md row names them). The index reader sees them if they exist.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chatenv.pep440 import InvalidVersion, Version
from chatenv.records import dataclass
from chatenv.system.nvml import CudaVersion, branch_cuda

if TYPE_CHECKING:
    from chatenv.pep440 import SpecifierSet

Arch = tuple[int, int]  # compute capability, e.g. (8, 6)


@dataclass(frozen=True)
class CudaVariant:
    tag: str  # "cu128": the suffix of the wheel's local version and of its index URL
    cuda: CudaVersion
    min_driver_linux: Version
    #: SASS every release that ships this variant has (x86_64); `shipped_arches` is per release
    arches: tuple[Arch, ...]
    min_driver_windows: Version | None = None
    #: not in the table: a tag read from the index or a torch newer than the table, whose
    #: driver rule comes from its CUDA major and whose arches from a known variant of that major
    assumed: bool = False

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

#: CUDA variants each torch minor release ships (x86_64 Linux and Windows), newest first, with
#: their architectures.
RELEASES: dict[str, dict[str, tuple[Arch, ...]]] = {
    "2.15": {"cu132": _CU13, "cu130": _CU13},  # arches assumed: see ASSUMED_ARCHES
    "2.14": {"cu132": _CU13, "cu130": _CU13, "cu126": _CU12_LEGACY},
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

#: releases whose variants come from a source but whose architecture lists do not (copied from
#: the release before for the same variant): a verdict on them says "assumed"
ASSUMED_ARCHES = frozenset({"2.15"})

#: Linux aarch64 CUDA wheels, for the releases where they are not the x86_64 set (see above)
_AARCH64_VARIANTS: dict[str, tuple[str, ...]] = {
    "2.8": ("cu128",),
    "2.7": ("cu128",),
    "2.6": ("cu126",),
    "2.5": ("cu124",),
    "2.4": (),
}
#: aarch64 builds whose TORCH_CUDA_ARCH_LIST was "9.0" alone (GH200), not the filtered x86 list
_AARCH64_SM90_ONLY = frozenset({"2.5", "2.6"})

_DRIVER_11 = Version("450.80.02")
_DRIVER_12 = Version("525.60.13")
_DRIVER_13 = Version("580")  # NVIDIA's minor-version table says ">= 580"; so does uv
_WIN_DRIVER_11 = Version("452.39")
_WIN_DRIVER_12 = Version("528.33")
_WIN_DRIVER_13 = Version("580")
#: CUDA major -> (Linux, Windows) minimum driver through minor version compatibility
_MAJOR_DRIVERS = {
    11: (_DRIVER_11, _WIN_DRIVER_11),
    12: (_DRIVER_12, _WIN_DRIVER_12),
    13: (_DRIVER_13, _WIN_DRIVER_13),
}


def _common_arches(tag: str) -> tuple[Arch, ...]:
    """The architectures every release shipping `tag` has: safe when the release is unknown."""
    lists = [set(arches[tag]) for arches in RELEASES.values() if tag in arches]
    return tuple(sorted(set.intersection(*lists))) if lists else ()


def _variant(tag: str, cuda: CudaVersion) -> CudaVariant:
    linux, windows = _MAJOR_DRIVERS[cuda.major]
    return CudaVariant(tag, cuda, linux, _common_arches(tag), min_driver_windows=windows)


#: Newest first.
VARIANTS: tuple[CudaVariant, ...] = (
    _variant("cu132", CudaVersion(13, 2)),
    _variant("cu130", CudaVersion(13, 0)),
    _variant("cu129", CudaVersion(12, 9)),
    _variant("cu128", CudaVersion(12, 8)),
    _variant("cu126", CudaVersion(12, 6)),
    _variant("cu124", CudaVersion(12, 4)),
    _variant("cu121", CudaVersion(12, 1)),
    _variant("cu118", CudaVersion(11, 8)),
)

CPU_INDEX_URL = "https://download.pytorch.org/whl/cpu"

_TAG = re.compile(r"cu(\d{2})(\d)")


def variant(tag: str) -> CudaVariant | None:
    return next((v for v in VARIANTS if v.tag == tag), None)


def tag_cuda(tag: str) -> CudaVersion | None:
    """ "cu134" -> 13.4; None for a tag that is not a CUDA variant ("cpu", "rocm6.4")."""
    found = _TAG.fullmatch(tag)
    return CudaVersion(int(found[1]), int(found[2])) if found else None


def assumed_variant(tag: str) -> CudaVariant | None:
    """A variant the table does not know (cu134 from the index, or a torch built for it): its
    driver rule follows from its CUDA major, its architectures are assumed to be those of the
    newest known variant of that major. None when the major itself is unknown (CUDA 14)."""
    known = variant(tag)
    if known is not None:
        return known
    cuda = tag_cuda(tag)
    if cuda is None or cuda.major not in _MAJOR_DRIVERS:
        return None
    sibling = next((v for v in VARIANTS if v.cuda.major == cuda.major), None)
    linux, windows = _MAJOR_DRIVERS[cuda.major]
    arches = sibling.arches if sibling is not None else ()
    return CudaVariant(tag, cuda, linux, arches, min_driver_windows=windows, assumed=True)


def variant_for_cuda(cuda: CudaVersion) -> CudaVariant | None:
    """The variant of a torch built for this CUDA version (torch.version.cuda == "12.8")."""
    return next((v for v in VARIANTS if v.cuda == cuda), None)


def driver_supports(
    v: CudaVariant, driver_version: str, driver_cuda: CudaVersion | None, platform: str = "linux"
) -> bool:
    """Can a driver run this build on `platform` (a `sys.platform` value)? Its CUDA major must be
    new enough, and its version at least the minor-version-compatibility minimum for that major
    (Windows drivers are numbered differently: `min_driver`).

    Forward compatibility: when the loaded libcuda reports a newer CUDA than the driver's
    branch supports (NVIDIA's cuda-compat package in an NGC container on an R535/R570
    datacenter driver), that libcuda is what runs the build, so its CUDA version decides."""
    if driver_cuda is not None and driver_cuda.major < v.cuda.major:
        return False
    branch = branch_cuda(driver_version)
    if driver_cuda is not None and branch is not None and branch < driver_cuda:
        return True  # cuda-compat's libcuda: the reported CUDA major is new enough (above)
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


def series_key(series: str) -> tuple[int, ...]:
    return tuple(int(part) for part in series.split("."))


def known_series() -> list[str]:
    """The torch minor releases this table knows, newest first."""
    return sorted(RELEASES, key=series_key, reverse=True)


def newest_known() -> str:
    return known_series()[0]


def newer_than_table(series: str | None) -> bool:
    """A torch release this table has not caught up with yet (torch 2.16 while it stops at
    2.15): chatenv assumes the newest known release's facts for it, and says so."""
    if series is None or series in RELEASES:
        return False
    try:
        return series_key(series) > series_key(newest_known())
    except ValueError:
        return False


def _is_aarch64(machine: str) -> bool:
    return machine.lower() in ("aarch64", "arm64")


def _has_cuda_wheels(platform: str, machine: str) -> bool:
    """PyTorch builds CUDA wheels for Linux x86_64 and aarch64 and for Windows x86_64 only."""
    if platform.startswith("linux"):
        return True
    return platform.startswith("win") and not _is_aarch64(machine)


def _release_table(series: str, machine: str) -> dict[str, tuple[Arch, ...]]:
    """One known release's CUDA variants (with arch lists) for a CPU architecture."""
    x86 = RELEASES.get(series, {})
    if not _is_aarch64(machine):
        return dict(x86)
    tags = _AARCH64_VARIANTS.get(series, tuple(x86))
    table: dict[str, tuple[Arch, ...]] = {}
    for tag in tags:
        if series in _AARCH64_SM90_ONLY:
            table[tag] = ((9, 0),)
        elif tag in x86:
            table[tag] = _aarch64_filter(tag, x86[tag])
    return table


def _aarch64_filter(tag: str, arches: tuple[Arch, ...]) -> tuple[Arch, ...]:
    """`filter_aarch64_archs`: no architecture below 8.0, no 8.6; CUDA 13 adds 11.0 (Thor)."""
    kept = tuple(a for a in arches if a >= (8, 0) and a != (8, 6))
    if tag.startswith("cu13") and (11, 0) not in kept:
        kept = tuple(sorted((*kept, (11, 0))))
    return kept


def cuda_wheels(
    series: str, platform: str = "linux", machine: str = "x86_64"
) -> dict[str, tuple[Arch, ...]]:
    """The CUDA variants one known release publishes wheels of for this platform and CPU
    architecture, with their arch lists; {} for a release the table does not know."""
    if not _has_cuda_wheels(platform, machine):
        return {}
    return _release_table(series, machine)


def shipped_variants(
    series: str, platform: str = "linux", machine: str = "x86_64"
) -> tuple[CudaVariant, ...]:
    """The CUDA variants a torch release ships for this platform, newest first; () for a
    release we do not know."""
    tags = cuda_wheels(series, platform, machine)
    return tuple(v for v in VARIANTS if v.tag in tags)


@dataclass(frozen=True)
class BuildFacts:
    """The architectures chatenv takes one build to have, and where that comes from."""

    tag: str
    series: str | None
    arches: tuple[Arch, ...]
    #: the release whose facts these are (the build's own when known)
    source: str | None
    #: not published for this very build: borrowed from `source` (or from every release of
    #: the variant when `source` is None)
    assumed: bool

    @property
    def short(self) -> str | None:
        """A few words for a summary line; None when nothing was assumed."""
        if not self.assumed:
            return None
        if self.source is None:
            return f"assumed from every known {self.tag} build"
        if self.source == self.series:
            return f"assumed: torch {self.series}'s arch lists are not published"
        return f"assumed from torch {self.source}'s {self.tag} build"

    @property
    def note(self) -> str | None:
        """One line saying what was assumed; None when nothing was."""
        if not self.assumed:
            return None
        built = f"torch {self.series}'s {self.tag}" if self.series else f"this {self.tag}"
        if self.source is None:
            return f"assumed: {built} build has what every known {self.tag} build has"
        if self.source == self.series:
            return (
                f"assumed: torch {self.series}'s architecture lists are not published yet; "
                f"chatenv takes them to be the previous release's for {self.tag}"
            )
        if newer_than_table(self.series):
            return (
                f"assumed: torch {self.series} is newer than chatenv's table (which ends at "
                f"{newest_known()}); chatenv takes torch {self.source}'s {self.tag} facts"
            )
        return f"assumed: {built} build has torch {self.source}'s {self.tag} architectures"


def build_facts(tag: str, series: str | None, machine: str = "x86_64") -> BuildFacts:
    """What one release's build of a variant has kernels for, known or assumed.

    A known release: its own arch list (assumed for `ASSUMED_ARCHES`). A release newer than the
    table: the newest known release's list for the same variant (the policy for releases
    chatenv has not caught up with). Otherwise: what every release of that variant has."""
    own = _release_table(series, machine).get(tag) if series else None
    if own is not None:
        return BuildFacts(tag, series, own, series, series in ASSUMED_ARCHES)
    if newer_than_table(series):
        for known in known_series():
            arches = _release_table(known, machine).get(tag)
            if arches is not None:
                return BuildFacts(tag, series, arches, known, True)
    v = assumed_variant(tag)
    arches = v.arches if v is not None else ()
    if _is_aarch64(machine):
        arches = _aarch64_filter(tag, arches)
    return BuildFacts(tag, series, arches, None, True)


def shipped_arches(tag: str, series: str | None, machine: str = "x86_64") -> tuple[Arch, ...]:
    """The architectures one release's build of a variant has kernels for (`build_facts`)."""
    return build_facts(tag, series, machine).arches


def newest_series(spec: SpecifierSet, *, shipping: str | None = None) -> str | None:
    """The newest known torch release a version range allows (optionally: that ships a given
    variant). A release is allowed when its first version (X.Y.0) is in the range."""
    for series in known_series():
        if shipping is not None and shipping not in RELEASES[series]:
            continue
        if spec.contains(Version(f"{series}.0"), prereleases=False):
            return series
    return None
