"""A Mac's answers, recorded: what `sysctl` prints for the names chatenv asks, what `platform`
says, and what torch replies in `doctor --deep`. Nothing here runs macOS.

Sources:
- The M2 Pro's `sysctl` lines (`machdep.cpu.brand_string: Apple M2 Pro`, `hw.model: Mac14,9`,
  `hw.memsize: 17179869184`, `hw.perflevel0.physicalcpu: 8`, `hw.perflevel1.physicalcpu: 4`,
  `hw.optional.arm64: 1`) are those of public captures of a real 16 GB M2 Pro; sysctl prints
  `name: value`, and `sysctl: unknown oid '...'` on stderr for a name the kernel lacks.
- `kern.osproductversion` is the real macOS version even where Python is told another one.
- `sysctl.proc_translated` is 1 in a process Rosetta translates, 0 in a native one, unknown on
  an Intel Mac (Apple, "About the Rosetta translation environment"; Homebrew's installer
  checks it). Under Rosetta an old-SDK x86_64 Python reports macOS 10.16
  (pytorch/pytorch#146236: "Python platform: macOS-10.16-x86_64-i386-64bit", on an M2 Pro).
- Apple's Virtualization framework reports `hw.model: VirtualMac2,1` inside a macOS VM.
- torch's replies: `torch.backends.mps.get_name()` is the chip's name and the M2 Pro has 19
  GPU cores; the refusal on an old macOS is torch's own message, quoted from
  pytorch/pytorch#164943 ("The MPS backend is supported on MacOS 13.0+.Current OS version can be
  queried using `sw_vers`") and #177819 ("... on macOS 14.0+. ...").
"""

from __future__ import annotations

from typing import Any

from chatenv.system.host import Uname
from chatenv.system.proc import ProcResult

M2_PRO = """\
machdep.cpu.brand_string: Apple M2 Pro
hw.model: Mac14,9
hw.memsize: 17179869184
hw.optional.arm64: 1
sysctl.proc_translated: 0
kern.osproductversion: 14.4.1
hw.perflevel0.physicalcpu: 8
hw.perflevel1.physicalcpu: 4
"""
M2_PRO_UNDER_ROSETTA = M2_PRO.replace("sysctl.proc_translated: 0", "sysctl.proc_translated: 1")
M2_PRO_ON_VENTURA = M2_PRO.replace("kern.osproductversion: 14.4.1", "kern.osproductversion: 13.6.7")
VIRTUAL_MAC = M2_PRO.replace("hw.model: Mac14,9", "hw.model: VirtualMac2,1")
INTEL_MAC = """\
machdep.cpu.brand_string: Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz
hw.model: MacBookPro16,1
hw.memsize: 17179869184
kern.osproductversion: 14.5
"""
INTEL_MAC_STDERR = (
    "sysctl: unknown oid 'hw.optional.arm64'\n"
    "sysctl: unknown oid 'sysctl.proc_translated'\n"
    "sysctl: unknown oid 'hw.perflevel0.physicalcpu'\n"
    "sysctl: unknown oid 'hw.perflevel1.physicalcpu'\n"
)

NATIVE = Uname("Darwin", "23.4.0", "arm64", "14.4.1")
ROSETTA = Uname("Darwin", "23.4.0", "x86_64", "10.16")
INTEL = Uname("Darwin", "23.5.0", "x86_64", "14.5")


class SysctlRunner:
    """Answers `/usr/sbin/sysctl NAME...` with a recorded output; records the calls."""

    def __init__(self, stdout: str, stderr: str = "", returncode: int = 0) -> None:
        self.stdout, self.stderr, self.returncode = stdout, stderr, returncode
        self.calls: list[tuple[str, ...]] = []

    def __call__(
        self, args: Any, *, timeout: float, env: Any = None, cwd: Any = None
    ) -> ProcResult:
        argv = tuple(str(a) for a in args)
        self.calls.append(argv)
        assert argv[0] == "/usr/sbin/sysctl", argv
        return ProcResult(argv, self.returncode, self.stdout, self.stderr)


#: what the --deep child prints on the native M2 Pro, torch 2.13.0 (the macOS arm64 wheel)
DEEP_NATIVE: dict[str, Any] = {
    "python": "3.12.4",
    "platform": "darwin",
    "machine": "arm64",
    "mac_ver": "14.4.1",
    "import_s": 1.9,
    "version": "2.13.0",
    "cuda": None,
    "hip": None,
    "cpu_op": True,
    "available": False,
    "device_count": 0,
    "warnings": [],
    "arch_list": [],
    "mps": True,
    "mps_built": True,
    "mps_device": {"name": "Apple M2 Pro", "cores": 19, "op_s": 0.0021, "op_ok": True},
    "devices": [],
}
#: torch 2.10 on macOS 13.6: built, refused
DEEP_OLD_MACOS: dict[str, Any] = {
    **DEEP_NATIVE,
    "mac_ver": "13.6.7",
    "version": "2.10.0",
    "mps": False,
    "mps_device": {},
    "mps_error": "RuntimeError: The MPS backend is supported on MacOS 13.0+.Current OS version "
    "can be queried using `sw_vers`",
}
#: the last x86_64 torch (2.2.2) in an x86_64 Python under Rosetta
DEEP_ROSETTA: dict[str, Any] = {
    **DEEP_NATIVE,
    "machine": "x86_64",
    "mac_ver": "10.16",
    "version": "2.2.2",
    "mps": False,
    "mps_device": {},
    "mps_error": "RuntimeError: The MPS backend is supported on MacOS 12.3+.Current OS version "
    "can be queried using `sw_vers`",
}
#: a macOS VM (CI runner): built, available False, torch's reason
DEEP_VM: dict[str, Any] = {
    **DEEP_NATIVE,
    "mps": False,
    "mps_device": {},
    "mps_error": "RuntimeError: The MPS backend is supported on macOS 14.0+. Current OS version "
    "can be queried using `sw_vers`",
}
