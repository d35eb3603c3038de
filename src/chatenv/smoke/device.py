"""Which torch device the local stage runs on: parsing `--device` and choosing a real device.

Both are pure: `parse_device` reads the user's text, `choose_device` decides from what torch
reports (`Accelerators`), so a test can hand it any machine. A ROCm build of torch drives AMD
GPUs through the same `cuda` device; MPS is Apple silicon's GPU, and when it is missing the
error says why (an x86_64 Python under Rosetta, a torch without MPS, torch's own words).
"""

from __future__ import annotations

import platform
import re
import sys
from typing import Any

from chatenv.errors import ChatenvError
from chatenv.problems import problem
from chatenv.records import dataclass

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
    #: the CUDA version torch was built for; None for a CPU-only or ROCm build
    cuda_build: str | None
    cuda_available: bool
    cuda_count: int
    mps_available: bool = False
    #: the ROCm (HIP) version of a ROCm build: its AMD GPUs are torch's `cuda` devices
    hip_build: str | None = None
    mps_built: bool = False
    system: str = ""  # sys.platform: "darwin", "linux"
    machine: str = ""  # platform.machine() of this Python: x86_64 under Rosetta
    #: torch's own words when MPS is built but not available
    mps_error: str | None = None


class DeviceUnavailable(ChatenvError):
    """The device asked for does not exist on this machine (as torch sees it)."""


def parse_device(text: str) -> DeviceRequest:
    """`auto`, `cpu`, `cuda`, `cuda:N` or `mps`; anything else is a usage error."""
    match = _DEVICE.match(text.strip().lower())
    if not match or (match.group(2) is not None and match.group(1) != "cuda"):
        raise problem("smoke.bad-device").error(device=text, choices=DEVICE_CHOICES)
    index = match.group(2)
    return DeviceRequest(match.group(1), int(index) if index is not None else None)


def observe(torch: Any) -> Accelerators:
    """Ask an imported torch what it can run on."""
    cuda_available = bool(torch.cuda.is_available())
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    mps_available = bool(mps is not None and mps.is_available())
    mps_built = bool(mps is not None and mps.is_built())
    mps_error = None
    if sys.platform == "darwin" and mps_built and not mps_available:
        try:
            torch.ones(1, device="mps")
        except Exception as exc:  # torch says why: "The MPS backend is supported on macOS 14.0+"
            mps_error = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return Accelerators(
        torch_version=str(torch.__version__),
        cuda_build=getattr(torch.version, "cuda", None),
        cuda_available=cuda_available,
        cuda_count=int(torch.cuda.device_count()) if cuda_available else 0,
        mps_available=mps_available,
        hip_build=getattr(torch.version, "hip", None),
        mps_built=mps_built,
        system=sys.platform,
        machine=platform.machine(),
        mps_error=mps_error,
    )


def why_no_mps(found: Accelerators) -> str:
    """Why torch cannot use MPS here, most basic reason first."""
    if found.system != "darwin":
        return "MPS is the GPU of Macs with Apple silicon"
    if found.machine == "x86_64":
        return (
            "this Python is x86_64: an Intel Mac, or Rosetta on Apple silicon (install an arm64 "
            "Python)"
        )
    if not found.mps_built:
        return f"torch {found.torch_version} was built without MPS"
    return found.mps_error or "torch gives no reason (chatenv doctor --deep looks closer)"


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
            raise problem("smoke.no-mps").error(DeviceUnavailable, reason=why_no_mps(found))
        return "mps"
    return _choose_cuda(request, found)


def _choose_cuda(request: DeviceRequest, found: Accelerators) -> str:
    asked = str(request)
    if found.cuda_build is None and found.hip_build is None:
        raise problem("smoke.cpu-only-torch").error(
            DeviceUnavailable, device=asked, version=found.torch_version
        )
    if not found.cuda_available or found.cuda_count == 0:
        if found.cuda_build is None:
            raise problem("smoke.no-usable-amd-gpu").error(
                DeviceUnavailable, device=asked, version=found.torch_version, hip=found.hip_build
            )
        raise problem("smoke.no-usable-gpu").error(
            DeviceUnavailable, device=asked, version=found.torch_version, cuda=found.cuda_build
        )
    index = request.index or 0
    if index >= found.cuda_count:
        visible = ", ".join(f"cuda:{i}" for i in range(found.cuda_count))
        plural = "s" if found.cuda_count != 1 else ""
        raise problem("smoke.gpu-index").error(
            DeviceUnavailable,
            device=asked,
            gpus=f"{found.cuda_count} GPU{plural}",
            visible=visible,
            last=found.cuda_count - 1,
        )
    return f"cuda:{index}"
