"""Linux machines as files under a root: WSL 2 and WSL 1, a Linux NVIDIA driver installed inside
WSL, containers of each runtime, the NVIDIA container toolkit's variables. Nothing here runs in
WSL or a container; every value says where it came from.

- WSL 2: the kernel is Microsoft's ("5.15.153.1-microsoft-standard-WSL2"; WSL 2 kernels are
  named `<version>-microsoft-standard-WSL2`, the older ones `...-microsoft-standard`); the
  Windows NVIDIA driver's Linux half is mounted at /usr/lib/wsl/lib with libcuda.so,
  libcuda.so.1 and libcuda.so.1.1 as plain files (microsoft/WSL#5663: "libcuda.so.1 is not a
  symbolic link"), libnvidia-ml.so.1 and nvidia-smi beside them (NVIDIA's CUDA on WSL user
  guide), and the GPU is /dev/dxg.
- WSL 1 reports a Windows build as its kernel: "4.4.0-19041-Microsoft".
- A Linux driver inside WSL: Ubuntu's `nvidia-driver-535` pulls `libnvidia-compute-535`,
  which installs /usr/lib/x86_64-linux-gnu/libcuda.so.1 -> libcuda.so.535.183.01 and
  libnvidia-ml.so.1 -> libnvidia-ml.so.535.183.01; dpkg keeps a `<package>:<arch>.list` per
  package in /var/lib/dpkg/info.
- Containers: Docker creates /.dockerenv, Podman /run/.containerenv, Kubernetes sets
  KUBERNETES_SERVICE_HOST. CUDA images (nvidia/cuda's Dockerfiles) set
  NVIDIA_VISIBLE_DEVICES=all, NVIDIA_DRIVER_CAPABILITIES=compute,utility, CUDA_VERSION and
  NVIDIA_REQUIRE_CUDA; a host GPU's PCI device (vendor 0x10de, class 0x030200) is visible in
  /sys/bus/pci inside the container.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

WSL2_KERNEL = "5.15.153.1-microsoft-standard-WSL2"
WSL1_KERNEL = "4.4.0-19041-Microsoft"
WSL_LIB_FILES = (
    "libcuda.so",
    "libcuda.so.1",
    "libcuda.so.1.1",
    "libd3d12.so",
    "libd3d12core.so",
    "libdxcore.so",
    "libnvidia-ml.so.1",
    "libnvwgf2umx.so",
    "nvidia-smi",
)

#: nvidia/cuda:12.4.1-runtime-ubuntu22.04's environment (its Dockerfile's ENV lines)
CUDA_12_4_IMAGE = {
    "NVIDIA_VISIBLE_DEVICES": "all",
    "NVIDIA_DRIVER_CAPABILITIES": "compute,utility",
    "CUDA_VERSION": "12.4.1",
    "NVIDIA_REQUIRE_CUDA": "cuda>=12.4 brand=tesla,driver>=470,driver<471",
}
CUDA_13_0_IMAGE = {
    **CUDA_12_4_IMAGE,
    "CUDA_VERSION": "13.0.1",
    "NVIDIA_REQUIRE_CUDA": "cuda>=13.0",
}


def write(root: Path, rel: str, text: str = "") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def wsl2(root: Path, windows_driver: bool = True) -> Path:
    write(root, "proc/sys/kernel/osrelease", WSL2_KERNEL + "\n")
    write(root, "dev/dxg")
    if windows_driver:
        for name in WSL_LIB_FILES:
            write(root, f"usr/lib/wsl/lib/{name}")
    return root


def wsl1(root: Path) -> Path:
    write(root, "proc/sys/kernel/osrelease", WSL1_KERNEL + "\n")
    return root


def linux_driver_inside_wsl(root: Path) -> Path:
    """Ubuntu's nvidia-driver-535 installed inside WSL 2 (the mistake)."""
    lib = "usr/lib/x86_64-linux-gnu"
    for name in ("libcuda.so", "libnvidia-ml.so"):
        write(root, f"{lib}/{name}.535.183.01", "ELF")
        os.symlink(f"{name}.535.183.01", root / lib / f"{name}.1")
    for package in ("nvidia-driver-535", "libnvidia-compute-535:amd64", "libc6:amd64"):
        write(root, f"var/lib/dpkg/info/{package}.list")
    return root


def host_gpu_on_pci(root: Path, slot: str = "0000:01:00.0") -> Path:
    write(root, f"sys/bus/pci/devices/{slot}/vendor", "0x10de\n")
    write(root, f"sys/bus/pci/devices/{slot}/class", "0x030200\n")
    return root


def docker(root: Path) -> Path:
    write(root, ".dockerenv")
    return root


def podman(root: Path) -> Path:
    write(root, "run/.containerenv")
    return root


def nvidia_device_files(root: Path) -> Path:
    for name in ("nvidia0", "nvidiactl", "nvidia-uvm"):
        write(root, f"dev/{name}")
    return root
