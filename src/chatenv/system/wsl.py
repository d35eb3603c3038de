"""How an NVIDIA GPU reaches Linux under WSL 2, read from files under a root.

The GPU belongs to the Windows NVIDIA driver. WSL 2 mounts the driver's Linux half into every
distribution as /usr/lib/wsl/lib (libcuda.so, libcuda.so.1, libcuda.so.1.1, libnvidia-ml.so.1,
nvidia-smi; plain files, hence ldconfig's "is not a symbolic link", microsoft/WSL#5663) and
exposes the GPU as /dev/dxg, not /dev/nvidia*. A Linux NVIDIA driver installed inside the
distribution puts its own libcuda.so.1 and libnvidia-ml.so.1 in the system library folders,
where the loader finds them first: nvidia-smi says "Driver Not Loaded" and CUDA finds no GPU
(microsoft/WSL#8587, #9092, #9134; #9099 is the same shadowing through LD_LIBRARY_PATH).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from chatenv.records import dataclass

if TYPE_CHECKING:
    from pathlib import Path

WSL_LIB = "usr/lib/wsl/lib"
#: where a Linux driver's libraries land (Debian/Ubuntu multiarch, Fedora/RHEL, the .run installer)
SYSTEM_LIB_DIRS = ("usr/lib/x86_64-linux-gnu", "usr/lib/aarch64-linux-gnu", "usr/lib64", "usr/lib")
DRIVER_LIBS = ("libcuda.so.1", "libnvidia-ml.so.1")
#: the Debian/Ubuntu packages that carry a Linux driver's user-space libraries
_DRIVER_PACKAGE = re.compile(
    r"^(nvidia-driver-[0-9][\w.-]*|libnvidia-compute-[0-9][\w.-]*|cuda-drivers(-[0-9][\w.-]*)?|"
    r"nvidia-utils-[0-9][\w.-]*)$"
)
DPKG_INFO = "var/lib/dpkg/info"
RUN_UNINSTALLER = "usr/bin/nvidia-uninstall"


@dataclass(frozen=True)
class WslGpu:
    #: /usr/lib/wsl/lib/libcuda.so* files (the Windows driver's CUDA library)
    libcuda: tuple[str, ...]
    dxg: bool  # /dev/dxg: WSL 2's GPU device
    #: Linux-driver libraries in the system library folders that do not lead to /usr/lib/wsl
    linux_driver_files: tuple[str, ...] = ()
    #: the packages that installed them (dpkg), when there are any
    linux_driver_packages: tuple[str, ...] = ()
    #: NVIDIA's .run installer left its uninstaller behind
    run_installer: bool = False

    @property
    def windows_driver(self) -> bool:
        return bool(self.libcuda)

    @property
    def linux_driver(self) -> bool:
        return bool(self.linux_driver_files or self.linux_driver_packages)

    def to_json(self) -> dict[str, Any]:
        return {
            "libcuda": list(self.libcuda),
            "dxg": self.dxg,
            "linux_driver_files": list(self.linux_driver_files),
            "linux_driver_packages": list(self.linux_driver_packages),
            "run_installer": self.run_installer,
        }


def _listdir(path: Path) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _shadowing(root: Path) -> list[str]:
    """Linux-driver libraries the loader would find before /usr/lib/wsl/lib."""
    found = []
    for folder in SYSTEM_LIB_DIRS:
        for name in DRIVER_LIBS:
            path = root / folder / name
            if not os.path.lexists(path):
                continue
            try:
                target = os.readlink(path)
            except OSError:  # a plain file: the Linux driver's own library
                target = ""
            if "/wsl/" not in target:
                found.append(f"/{folder}/{name}")
    return found


def _packages(root: Path) -> list[str]:
    names = []
    for entry in _listdir(root / DPKG_INFO):
        if not entry.endswith(".list"):
            continue
        package = entry.removesuffix(".list").partition(":")[0]
        if _DRIVER_PACKAGE.match(package):
            names.append(package)
    return sorted(set(names))


def observe(root: Path) -> WslGpu:
    libcuda = tuple(
        f"/{WSL_LIB}/{n}" for n in _listdir(root / WSL_LIB) if n.startswith("libcuda.so")
    )
    return WslGpu(
        libcuda=libcuda,
        dxg=os.path.exists(root / "dev/dxg"),
        linux_driver_files=tuple(_shadowing(root)),
        linux_driver_packages=tuple(_packages(root)),
        run_installer=os.path.exists(root / RUN_UNINSTALLER),
    )
