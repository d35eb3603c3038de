"""Which torch device the local stage runs on: parsing `--device` and choosing a real device.

Both are pure: `parse_device` reads the user's text, `choose_device` decides from what torch
reports (`Accelerators`), so a test can hand it any machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chatenv.errors import ChatenvError, UsageError

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda)(?::(\d+))?$")


@dataclass(frozen=True)
class DeviceRequest:
    """What the user asked for. `index` only for cuda ("cuda:1")."""

    kind: str  # "auto", "cpu", "cuda" or "mps"
    index: int | None = None

    def __str__(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"


@dataclass(frozen=True)
class Accelerators:
    """What the installed torch can run on."""

    torch_version: str
    #: the CUDA version torch was built for; None for a CPU-only (or ROCm-less) build
    cuda_build: str | None
    cuda_available: bool
    cuda_count: int
    mps_available: bool = False


class DeviceUnavailable(ChatenvError):
    """The device asked for does not exist on this machine (as torch sees it)."""


def parse_device(text: str) -> DeviceRequest:
    """`auto`, `cpu`, `cuda`, `cuda:N` or `mps`; anything else is a usage error."""
    match = _DEVICE.match(text.strip().lower())
    if not match or (match.group(2) is not None and match.group(1) != "cuda"):
        raise UsageError(
            f"--device {text!r} is not a device (expected {DEVICE_CHOICES})",
            fix="chatenv smoke-test --device auto",
        )
    index = match.group(2)
    return DeviceRequest(match.group(1), int(index) if index is not None else None)


def observe(torch: Any) -> Accelerators:
    """Ask an imported torch what it can run on."""
    cuda_available = bool(torch.cuda.is_available())
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    return Accelerators(
        torch_version=str(torch.__version__),
        cuda_build=getattr(torch.version, "cuda", None),
        cuda_available=cuda_available,
        cuda_count=int(torch.cuda.device_count()) if cuda_available else 0,
        mps_available=bool(mps is not None and mps.is_available()),
    )


def choose_device(request: DeviceRequest, found: Accelerators) -> str:
    """The torch device string to use, or DeviceUnavailable with the one line that says why."""
    if request.kind == "cpu":
        return "cpu"
    if request.kind == "auto":
        if found.cuda_available and found.cuda_count:
            return "cuda:0"
        return "mps" if found.mps_available else "cpu"
    if request.kind == "mps":
        if not found.mps_available:
            raise DeviceUnavailable(
                "--device mps: torch sees no Apple GPU (MPS) on this machine",
                fix="chatenv smoke-test --device auto",
            )
        return "mps"
    return _choose_cuda(request, found)


def _choose_cuda(request: DeviceRequest, found: Accelerators) -> str:
    asked = str(request)
    if found.cuda_build is None:
        raise DeviceUnavailable(
            f"--device {asked}: torch {found.torch_version} is a CPU-only build",
            fix="chatenv install local   (installs the CUDA build of torch this machine can run)",
        )
    if not found.cuda_available or found.cuda_count == 0:
        raise DeviceUnavailable(
            f"--device {asked}: torch {found.torch_version} (CUDA {found.cuda_build}) sees no "
            "usable GPU: no NVIDIA driver, a driver too old for this build, or "
            "CUDA_VISIBLE_DEVICES hides them",
            fix="chatenv doctor   (says which, and the fix)",
        )
    index = request.index or 0
    if index >= found.cuda_count:
        visible = ", ".join(f"cuda:{i}" for i in range(found.cuda_count))
        plural = "s" if found.cuda_count != 1 else ""
        raise DeviceUnavailable(
            f"--device {asked}: torch sees {found.cuda_count} GPU{plural} ({visible})",
            fix=f"chatenv smoke-test --device cuda:{found.cuda_count - 1}",
        )
    return f"cuda:{index}"
