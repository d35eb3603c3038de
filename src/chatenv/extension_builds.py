"""What a compiled package around torch was built for, as its own files say it: the packages
doctor knows, the version labels their wheels carry, the glibc a wheel tag promises, and the
matching releases of torchvision and torchaudio. Pure data and pure functions, like
`torch_builds`; doctor's extensions and loading sections read the machine.

Sources (checked November 2026):
- Version labels: flash-attn's release wheels are named `flash_attn-2.7.4.post1+cu12torch2.6
  cxx11abiFALSE-...whl` (Dao-AILab/flash-attention `setup.py`, `get_wheel_url`; the label lives
  in the file name only, so pip records it in `direct_url.json`); PyTorch's own indexes label
  torchvision/torchaudio/xformers `+cu130`, `+cpu`, `+rocm6.4`; PyG's wheels `+pt25cu124`.
- xformers writes `xformers/cpp_lib.json` at build time: `{"version": {"cuda": 1201, "hip":
  null, "torch": "2.1.0+cu121", "python": "3.11.5"}, ...}` (facebookresearch/xformers
  `setup.py`; `_cpp_lib.py` prints "xFormers was built for: PyTorch ... with CUDA ..." from it).
- DeepSpeed writes `deepspeed/git_version_info_installed.py` with `torch_info={'version':
  '2.3', 'cuda_version': '12.1', ...}` (seen in its released wheels).
- bitsandbytes loads `libbitsandbytes_cuda<MMm>.so` for torch's CUDA version; since 0.50.0 it
  falls back to another minor of the same major (bitsandbytes `cextension.py`,
  `get_cuda_bnb_library_path`, #1980), before that only the exact one; `BNB_CUDA_VERSION`
  overrides the choice.
- torchvision 0.(M+15).P and torchaudio 2.M.P pair with torch 2.M.P from torch 2.1 on
  (pytorch/vision README's compatibility table; torchvision 0.28.0's metadata pins
  torch==2.13.0).
- manylinux tags: PEP 600 (`manylinux_2_28`), the legacy aliases of PEP 513/571/599.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chatenv import torch_builds
from chatenv.pep440 import InvalidVersion, Version
from chatenv.records import dataclass

if TYPE_CHECKING:
    from collections.abc import Iterable

    from chatenv.installed import TorchBuild


@dataclass(frozen=True)
class KnownExtension:
    name: str  # canonical distribution name
    module: str  # its top-level import
    #: how a build that does not match torch is replaced:
    #: "pytorch-index": the exact release for torch, from PyTorch's index for torch's variant;
    #: "pin-index": its wheels pin torch; pip picks the release that fits, from that index;
    #: "pin": the same from PyPI; "source": built at install time against the torch then
    #: installed (rebuild with --no-build-isolation); "pyg": PyG's per-torch wheel page;
    #: "bitsandbytes", "triton": their own rules; "standalone": not built against torch
    #: (only its CUDA runtime and glibc are checked)
    fix: str


KNOWN: tuple[KnownExtension, ...] = (
    KnownExtension("torchvision", "torchvision", "pytorch-index"),
    KnownExtension("torchaudio", "torchaudio", "pytorch-index"),
    KnownExtension("xformers", "xformers", "pin-index"),
    KnownExtension("torchao", "torchao", "pin-index"),
    KnownExtension("torch-tensorrt", "torch_tensorrt", "pin-index"),
    KnownExtension("vllm", "vllm", "pin"),
    KnownExtension("flashinfer-python", "flashinfer", "pin"),
    KnownExtension("sgl-kernel", "sgl_kernel", "pin"),
    KnownExtension("exllamav2", "exllamav2", "pin"),
    KnownExtension("autoawq", "awq", "pin"),
    KnownExtension("flash-attn", "flash_attn", "source"),
    KnownExtension("causal-conv1d", "causal_conv1d", "source"),
    KnownExtension("mamba-ssm", "mamba_ssm", "source"),
    KnownExtension("apex", "apex", "source"),
    KnownExtension("deepspeed", "deepspeed", "source"),
    KnownExtension("transformer-engine-torch", "transformer_engine_torch", "source"),
    KnownExtension("auto-gptq", "auto_gptq", "source"),
    KnownExtension("mmcv", "mmcv", "source"),
    KnownExtension("detectron2", "detectron2", "source"),
    KnownExtension("pytorch3d", "pytorch3d", "source"),
    KnownExtension("torch-scatter", "torch_scatter", "pyg"),
    KnownExtension("torch-sparse", "torch_sparse", "pyg"),
    KnownExtension("torch-cluster", "torch_cluster", "pyg"),
    KnownExtension("torch-spline-conv", "torch_spline_conv", "pyg"),
    KnownExtension("pyg-lib", "pyg_lib", "pyg"),
    KnownExtension("bitsandbytes", "bitsandbytes", "bitsandbytes"),
    KnownExtension("triton", "triton", "triton"),
    KnownExtension("pytorch-triton", "triton", "triton"),
    KnownExtension("llama-cpp-python", "llama_cpp", "standalone"),
    KnownExtension("cupy-cuda11x", "cupy", "standalone"),
    KnownExtension("cupy-cuda12x", "cupy", "standalone"),
    KnownExtension("cupy-cuda13x", "cupy", "standalone"),
    KnownExtension("onnxruntime-gpu", "onnxruntime", "standalone"),
)
_BY_NAME = {k.name: k for k in KNOWN}


def known(name: str) -> KnownExtension | None:
    return _BY_NAME.get(name)


def maybe_cuda_linked(name: str) -> bool:
    """A distribution whose name says it carries CUDA code (cupy-cuda12x, onnxruntime-gpu,
    paddlepaddle-gpu), other than NVIDIA's own library wheels."""
    if name.startswith(("nvidia-", "cuda-")):
        return False
    return "cuda" in name or name.endswith("-gpu") or re.search(r"-cu\d\d", name) is not None


# --- version labels ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """What a local version label (`+cu12torch2.6cxx11abiFALSE`, `+pt25cu124`, `+cpu`) says."""

    text: str
    cuda: str | None = None  # "12" (major only) or "12.4"
    torch: str | None = None  # the torch series: "2.6"
    cpu: bool = False
    rocm: str | None = None  # "6.4"
    cxx11abi: bool | None = None

    @property
    def says_something(self) -> bool:
        return bool(self.cuda or self.torch or self.cpu or self.rocm or self.cxx11abi is not None)


def cuda_from_digits(digits: str) -> str:
    """The digits of `cu121` / `cu12` / `cu130` as a CUDA version: "12.1", "12", "13.0"."""
    if len(digits) <= 2:
        return digits
    return f"{digits[:2]}.{digits[2:]}"


def parse_label(version: str) -> Label | None:
    """The local label of a version ("0.28.0+cu130" -> cuda 13.0); None without a label."""
    local = version.partition("+")[2]
    if not local:
        return None
    lower = local.lower()
    cuda = re.search(r"cu(\d{2,3})(?!\d)", lower)
    torch = re.search(r"torch(\d+)\.(\d+)", lower)
    pt = re.search(r"pt(\d)(\d{1,2})(?!\d)", lower)
    rocm = re.search(r"rocm(\d+(?:\.\d+)*)", lower)
    abi = re.search(r"cxx11abi(true|false)", lower)
    series = f"{torch.group(1)}.{torch.group(2)}" if torch else None
    if series is None and pt:
        series = f"{pt.group(1)}.{pt.group(2)}"
    return Label(
        text=f"+{local}",
        cuda=cuda_from_digits(cuda.group(1)) if cuda else None,
        torch=series,
        cpu="cpu" in lower and not cuda and not rocm,
        rocm=rocm.group(1) if rocm else None,
        cxx11abi=None if abi is None else abi.group(1) == "true",
    )


def wheel_file_version(url: str) -> str | None:
    """The version part of a wheel file name at the end of a URL
    (`.../flash_attn-2.7.4.post1+cu12torch2.6cxx11abiFALSE-cp311-cp311-linux_x86_64.whl`)."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    if not name.endswith(".whl"):
        return None
    parts = name[: -len(".whl")].split("-")
    return parts[1].replace("%2B", "+").replace("%2b", "+") if len(parts) >= 5 else None


# --- glibc ------------------------------------------------------------------------------------

_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def tag_glibc(tags: Iterable[str]) -> tuple[tuple[int, int], str] | None:
    """The oldest glibc any of a wheel's platform tags promises to run on, and that tag (the
    wheel installs where any of its tags fits); None for a wheel with no manylinux tag."""
    found: list[tuple[tuple[int, int], str]] = []
    for tag in tags:
        platform = tag.rsplit("-", 1)[-1]
        for part in platform.split("."):
            match = re.match(r"manylinux_(\d+)_(\d+)_", part)
            if match:
                found.append(((int(match.group(1)), int(match.group(2))), part))
                continue
            legacy = part.split("_", 1)[0]
            if legacy in _LEGACY_MANYLINUX:
                found.append((_LEGACY_MANYLINUX[legacy], part))
    return min(found) if found else None


def parse_glibc(text: str) -> tuple[int, int] | None:
    """ "glibc 2.36" (os.confstr's CS_GNU_LIBC_VERSION) -> (2, 36)."""
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def glibc_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


# --- CUDA libraries in DT_NEEDED ----------------------------------------------------------------

#: libraries whose soname major is the CUDA major (libcudart.so.12 is CUDA 12.x); auditwheel
#: renames a bundled copy libcudart.<hash>.so.12
_RUNTIME = r"^lib(cudart|cublas|cublasLt|nvrtc)(?:[.-][0-9a-f]{8})?\.so\.(\d+)"
#: other CUDA libraries (their numbers are their own: libcudnn.so.9, libnccl.so.2)
_CUDA_OTHER = (
    r"^lib(cuda|cudnn|nccl|cusparse|cufft|curand|cusolver|nvJitLink|nvToolsExt|cupti|"
    r"cusparseLt|nvjpeg|cufile|nvshmem)[.-]"
)
TORCH_CUDA_LIBS = ("libtorch_cuda.so", "libc10_cuda.so")
TORCH_HIP_LIBS = ("libtorch_hip.so", "libc10_hip.so")
TORCH_LIBS = ("libtorch.so", "libtorch_cpu.so", "libtorch_python.so", "libc10.so")


def runtime_major(soname: str) -> int | None:
    """The CUDA major a library name pins: libcudart.so.12 -> 12, libcublasLt.so.13 -> 13."""
    match = re.match(_RUNTIME, soname)
    return int(match.group(2)) if match else None


def is_cuda_library(soname: str) -> bool:
    return bool(re.match(_RUNTIME, soname) or re.match(_CUDA_OTHER, soname)) or (
        soname in TORCH_CUDA_LIBS
    )


def is_hip_library(soname: str) -> bool:
    return soname.startswith(("libamdhip64.so", "libhipblas", "librocblas")) or (
        soname in TORCH_HIP_LIBS
    )


def is_bundled(soname: str) -> bool:
    """A private copy auditwheel put in `<package>.libs/` (libcudart.faf08d9a.so.13)."""
    return re.match(r"^lib[\w+]+?[.-][0-9a-f]{8}\.so", soname) is not None


# --- matching releases ------------------------------------------------------------------------


def _release(version: str) -> tuple[int, ...] | None:
    try:
        return Version(version).release
    except InvalidVersion:
        return None


def matching_version(name: str, torch_version: str) -> str | None:
    """The torchvision / torchaudio release made for this torch (torch 2.1 and later)."""
    release = _release(torch_version)
    if release is None or len(release) < 2 or release[0] != 2 or release[1] < 1:
        return None
    patch = release[2] if len(release) > 2 else 0
    if name == "torchvision":
        return f"0.{release[1] + 15}.{patch}"
    if name == "torchaudio":
        return f"2.{release[1]}.{patch}"
    return None


def pytorch_index(build: TorchBuild) -> str:
    """PyTorch's index for this torch's variant: /whl/cpu, /whl/cu130, /whl/rocm6.4."""
    if build.hip:
        parts = build.hip.split(".")
        return f"https://download.pytorch.org/whl/rocm{'.'.join(parts[:2])}"
    if build.cuda is None:
        return torch_builds.CPU_INDEX_URL
    return f"https://download.pytorch.org/whl/cu{build.cuda.major}{build.cuda.minor}"


def pyg_page(build: TorchBuild) -> str:
    """PyG's wheel page for this torch: https://data.pyg.org/whl/torch-2.5.0+cu124.html."""
    release = _release(build.public_version) or (0, 0)
    variant = "cpu"
    if build.cuda is not None:
        variant = f"cu{build.cuda.major}{build.cuda.minor}"
    major, minor = (*release, 0, 0)[:2]
    return f"https://data.pyg.org/whl/torch-{major}.{minor}.0+{variant}.html"


def bnb_versions(files: Iterable[str], prefix: str = "cuda") -> dict[tuple[int, int], str]:
    """The CUDA (or ROCm) versions bitsandbytes ships a library for, from its file names:
    libbitsandbytes_cuda126.so -> (12, 6), as bitsandbytes' own `_split_cuda_version` reads
    them (CUDA: two-digit major; ROCm: one-digit major)."""
    found: dict[tuple[int, int], str] = {}
    for path in files:
        match = re.search(rf"libbitsandbytes_{prefix}(\d+)\.(so|dylib|dll)$", path)
        if not match:
            continue
        digits = match.group(1)
        split = 1 if prefix == "rocm" else 2
        if len(digits) > split:
            found[(int(digits[:split]), int(digits[split:]))] = path
    return found


def bnb_pick(
    shipped: Iterable[tuple[int, int]], want: tuple[int, int], version: str
) -> tuple[int, int] | None:
    """The library bitsandbytes `version` loads for CUDA `want` (None: it has none): the exact
    one; from 0.50.0 on, else the newest lower minor of the same major, else the oldest higher
    one (never another major)."""
    versions = set(shipped)
    if want in versions:
        return want
    release = _release(version) or (0,)
    if release < (0, 50):
        return None
    lower = [v for v in versions if v[0] == want[0] and v < want]
    if lower:
        return max(lower)
    higher = [v for v in versions if v[0] == want[0] and v > want]
    return min(higher) if higher else None
