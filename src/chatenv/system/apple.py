"""A Mac's chip, memory and macOS version, from one `sysctl` call (through the runner seam), and
whether this Python runs natively or under Rosetta.

An x86_64 Python on an Apple silicon Mac (an Intel Homebrew or Anaconda, a terminal opened
"using Rosetta") runs translated: `platform.machine()` says x86_64, an old-SDK build even says
macOS 10.16 (pytorch/pytorch#146236), PyTorch has shipped no x86_64 macOS wheels since 2.2, and
MPS is not available to it. The hardware is told by `hw.optional.arm64` (1 on Apple silicon,
translated or not) and the translation by `sysctl.proc_translated`, as Homebrew's installer
checks it; `kern.osproductversion` gives the real macOS version whatever the Python believes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatenv.records import dataclass

if TYPE_CHECKING:
    from chatenv.system.host import Uname
    from chatenv.system.proc import Runner

SYSCTL = "/usr/sbin/sysctl"
#: asked by name: an unknown one (sysctl.proc_translated on an Intel Mac) costs one stderr line
#: and the exit status, not the others
NAMES = (
    "machdep.cpu.brand_string",
    "hw.model",
    "hw.memsize",
    "hw.optional.arm64",
    "sysctl.proc_translated",
    "kern.osproductversion",
    "hw.perflevel0.physicalcpu",
    "hw.perflevel1.physicalcpu",
)
TIMEOUT_S = 3.0


@dataclass(frozen=True)
class AppleFacts:
    chip: str | None  # "Apple M2 Pro"; an Intel Mac: "Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz"
    model: str | None  # "Mac14,9"; a macOS virtual machine: "VirtualMac2,1"
    memory_bytes: int | None  # unified memory on Apple silicon: CPU and GPU share it
    apple_silicon: bool | None  # None: sysctl did not say
    translated: bool | None  # this process (and its children) run under Rosetta
    macos: str | None  # the real macOS version ("14.4.1")
    performance_cores: int | None
    efficiency_cores: int | None
    python_machine: str  # platform.machine() of this Python
    python_macos: str  # what this Python believes the macOS version is
    error: str | None = None  # why sysctl gave nothing

    @property
    def rosetta(self) -> bool:
        """An x86_64 Python on Apple silicon."""
        return self.python_machine == "x86_64" and bool(self.apple_silicon or self.translated)

    @property
    def virtual_machine(self) -> bool:
        return (self.model or "").startswith("VirtualMac")

    def to_json(self) -> dict[str, Any]:
        return {
            "chip": self.chip,
            "model": self.model,
            "memory_bytes": self.memory_bytes,
            "apple_silicon": self.apple_silicon,
            "translated": self.translated,
            "rosetta": self.rosetta,
            "macos": self.macos,
            "python_macos": self.python_macos,
            "python_machine": self.python_machine,
            "performance_cores": self.performance_cores,
            "efficiency_cores": self.efficiency_cores,
            "error": self.error,
        }


def parse_sysctl(text: str) -> dict[str, str]:
    """`sysctl name ...` prints `name: value` lines."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if sep and name.strip() in NAMES:
            values[name.strip()] = value.strip()
    return values


def _int(values: dict[str, str], name: str) -> int | None:
    try:
        return int(values[name])
    except (KeyError, ValueError):
        return None


def _flag(values: dict[str, str], name: str) -> bool | None:
    number = _int(values, name)
    return None if number is None else number == 1


def facts_from(values: dict[str, str], uname: Uname, error: str | None = None) -> AppleFacts:
    return AppleFacts(
        chip=values.get("machdep.cpu.brand_string") or None,
        model=values.get("hw.model") or None,
        memory_bytes=_int(values, "hw.memsize"),
        apple_silicon=_flag(values, "hw.optional.arm64"),
        translated=_flag(values, "sysctl.proc_translated"),
        macos=values.get("kern.osproductversion") or None,
        performance_cores=_int(values, "hw.perflevel0.physicalcpu"),
        efficiency_cores=_int(values, "hw.perflevel1.physicalcpu"),
        python_machine=uname.machine,
        python_macos=uname.mac_version,
        error=error,
    )


def observe(runner: Runner, uname: Uname) -> AppleFacts | None:
    """The Mac's facts; None on any other OS (no subprocess is started there)."""
    if uname.system != "Darwin":
        return None
    done = runner([SYSCTL, *NAMES], timeout=TIMEOUT_S)
    values = parse_sysctl(done.stdout)
    error = None
    if not values:
        error = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        if done.not_found:
            error = f"{SYSCTL} not found"
        elif done.timed_out:
            error = f"{SYSCTL} did not answer within {TIMEOUT_S:g}s"
    return facts_from(values, uname, error)


# -- MPS: which macOS each torch release needs -------------------------------------------------

#: The oldest macOS on which each torch release enables MPS, from the error torch raises when
#: it is older ("The MPS backend is supported on MacOS 12.3+", later "13.0+", "macOS 14.0+"):
#: 12.3 up to 2.4 (pytorch/pytorch#78343: built but not available on 12.2.1), 13.0 from 2.5
#: (#139425: 2.5.1 refuses 12.7.6), 14.0 from 2.10 (#164943: 2.10 refuses 13.7.4; RELEASE.md:
#: "MPS support is enabled on macOS 14 (Sonoma) or later").
MPS_MIN_MACOS: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = (
    ((2, 10), (14, 0)),
    ((2, 5), (13, 0)),
    ((1, 12), (12, 3)),
)


def mps_min_macos(series: str | None) -> tuple[int, int] | None:
    """The oldest macOS on which this torch release (\"2.13\") runs MPS; None before 1.12 (no
    MPS) or for an unreadable release."""
    try:
        key = tuple(int(p) for p in (series or "").split(".")[:2])
    except ValueError:
        return None
    for first, macos in MPS_MIN_MACOS:
        if key >= first:
            return macos
    return None


def version_tuple(text: str | None) -> tuple[int, int] | None:
    """ "14.4.1" → (14, 4)."""
    parts = (text or "").split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None
