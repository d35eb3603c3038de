"""Installed compiled packages in a temporary site folder, laid out as pip lays them out: a
dist-info (METADATA, WHEEL with its tags, RECORD listing every file, direct_url.json when given)
and the package's shared objects as real ELF files (tests/elf_files.py), so doctor's extension
and loading checks read them as they read real installs. Also a CUDA build of torch with the
libtorch_cuda.so and nvidia-* wheel layout of the real torch 2.14.1+cu130 wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import TYPE_CHECKING

from tests.elf_files import write_elf
from tests.sites import torch_version_py, write_dist

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: what `readelf -d torch/lib/libtorch_cuda.so` shows in torch-2.14.1-cp311-cp311-
#: manylinux_2_28_x86_64.whl (PyPI, the CUDA 13.0 build), CUDA-related entries only, in order
TORCH_CUDA_NEEDED = (
    "libc10_cuda.so",
    "libcudart.so.13",
    "libnccl.so.2",
    "libcublas.so.13",
    "libcublasLt.so.13",
    "libcudnn.so.9",
    "libc10.so",
    "libtorch_cpu.so",
    "libc.so.6",
)
TORCH_CUDA_RPATH = (
    "$ORIGIN/../../nvidia/cudnn/lib:$ORIGIN/../../nvidia/nvshmem/lib:$ORIGIN/../../nvidia/nccl/"
    "lib:$ORIGIN/../../nvidia/cusparselt/lib:$ORIGIN/../../nvidia/cu13/lib:$ORIGIN"
)
#: the same wheel's pins on the libraries above (its METADATA); cuBLAS and the runtime come
#: through `cuda-toolkit[cublas,cudart,...]==13.0.3`, which names the nvidia-* wheels below
TORCH_CUDA_REQUIRES = (
    "filelock",
    'nvidia-cudnn-cu13==9.24.0.43; platform_system == "Linux"',
    'nvidia-nccl-cu13==2.30.7; platform_system == "Linux"',
    'triton~=3.8.0; platform_system == "Linux" and python_version < "3.15"',
)
#: nvidia-* wheel -> (version, the libraries it puts under site-packages); cuDNN's and NCCL's
#: versions are the wheel's pins above, the CUDA 13 wheels' (folder nvidia/cu13/) made up
NVIDIA_WHEELS = {
    "nvidia-cudnn-cu13": ("9.24.0.43", ("nvidia/cudnn/lib/libcudnn.so.9",)),
    "nvidia-nccl-cu13": ("2.30.7", ("nvidia/nccl/lib/libnccl.so.2",)),
    "nvidia-cublas": (
        "13.1.0.3",
        ("nvidia/cu13/lib/libcublas.so.13", "nvidia/cu13/lib/libcublasLt.so.13"),
    ),
    "nvidia-cuda-runtime": ("13.0.96", ("nvidia/cu13/lib/libcudart.so.13",)),
}


def write_extension(
    site: Path,
    name: str,
    version: str,
    *,
    requires: Iterable[str] = (),
    objects: Mapping[str, Mapping[str, object]] | None = None,
    files: Mapping[str, str] | None = None,
    tag: str = "cp311-cp311-manylinux_2_28_x86_64",
    direct_url: Mapping[str, object] | None = None,
) -> Path:
    """A compiled distribution: `objects` maps each shared object's path (relative to the site)
    to what its ELF headers say (elf_files.write_elf's arguments)."""
    folder = write_dist(site, name, version, requires=requires, files=dict(files or {}))
    (folder / "WHEEL").write_text(
        f"Wheel-Version: 1.0\nGenerator: bdist_wheel (0.45.1)\nRoot-Is-Purelib: false\nTag: {tag}\n"
    )
    record = (folder / "RECORD").read_text().splitlines()
    for rel, elf in (objects or {}).items():
        write_elf(site / rel, **elf)
        record.append(f"{rel},sha256=x,1")
    record.append(f"{folder.name}/WHEEL,,")
    if direct_url is not None:
        (folder / "direct_url.json").write_text(json.dumps(direct_url))
        record.append(f"{folder.name}/direct_url.json,,")
    (folder / "RECORD").write_text("\n".join(record) + "\n")
    return folder


def write_cuda_torch(
    site: Path,
    *,
    version: str = "2.14.1+cu130",
    cuda: str = "13.0",
    rpath: str | None = TORCH_CUDA_RPATH,
    runpath: str | None = None,
    wheels: Iterable[str] = tuple(NVIDIA_WHEELS),
) -> Path:
    """A CUDA torch as PyPI's wheel installs it: torch/version.py, torch/lib/libtorch_cuda.so
    and libc10.so (ELF headers as the real ones), its dist-info with the real pins, and the
    nvidia-* wheels named in `wheels` with their libraries."""
    folder = write_dist(
        site,
        "torch",
        version,
        requires=TORCH_CUDA_REQUIRES,
        files={"torch/__init__.py": "raise ImportError('read, never imported')\n",
               "torch/version.py": torch_version_py(version, cuda)},
    )  # fmt: skip
    write_elf(
        site / "torch" / "lib" / "libtorch_cuda.so",
        soname="libtorch_cuda.so",
        needed=TORCH_CUDA_NEEDED,
        rpath=rpath,
        runpath=runpath,
        versions={"libc.so.6": ["GLIBC_2.2.5", "GLIBC_2.27"]},
    )
    write_elf(
        site / "torch" / "lib" / "libc10.so",
        soname="libc10.so",
        needed=["libstdc++.so.6"],
        rpath=rpath,
        runpath=runpath,
    )
    for wheel in wheels:
        wheel_version, libs = NVIDIA_WHEELS[wheel]
        write_extension(
            site,
            wheel,
            wheel_version,
            objects={
                lib: {
                    "soname": lib.rsplit("/", 1)[-1],
                    "needed": ["libc.so.6"],
                    "runpath": "$ORIGIN",
                }
                for lib in libs
            },
            tag="py3-none-manylinux_2_27_x86_64",
        )
    return folder


def overlay_venv(path: Path) -> Path:
    """A venv without pip that sees this test environment's packages (torch 2.13.0, chatenv
    itself) after its own, through a .pth file: what is installed into it comes first, as in a
    real environment. Returns its interpreter. (~0.1 s; `python -m chatenv` runs doctor there.)"""
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run(
        [base, "-m", "venv", "--without-pip", str(path)], check=True, capture_output=True
    )
    site = next(path.glob("lib/python3*/site-packages"))
    ours = sysconfig.get_paths()["purelib"]
    src = Path(__file__).resolve().parents[1] / "src"
    (site / "_chatenv_tests.pth").write_text(f"{ours}\n{src}\n")
    return path / "bin" / "python"


def site_of(python: Path) -> Path:
    return next(python.parent.parent.glob("lib/python3*/site-packages"))
