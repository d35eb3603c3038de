"""The interpreter chatenv installs into, and what it already has.

One short subprocess asks the target interpreter where it looks for packages and how it
evaluates environment markers; everything else is read from the files in those directories
(dist-info metadata, `torch/version.py`) in this process by `chatenv.installed`, without
importing anything from the target. That keeps a no-op `chatenv install` well under a second and
works for `--python` pointing at any other interpreter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatenv.problems import problem
from chatenv.records import dataclass, field
from chatenv.system import proc

if TYPE_CHECKING:
    from collections.abc import Mapping

# Runs inside the target interpreter (any Python >= 3.8): standard library only.
_PROBE = r"""
import importlib.util, json, os, platform, sys, sysconfig
paths = sysconfig.get_paths()
stdlib = {os.path.realpath(paths[k]) for k in ("stdlib", "platstdlib") if k in paths}
sites = []
for entry in sys.path[1:]:
    real = os.path.realpath(entry) if entry else ""
    if entry and os.path.isdir(entry) and real not in stdlib and not real.endswith("lib-dynload"):
        sites.append(entry)
impl = sys.implementation
iv = impl.version
impl_version = "%d.%d.%d" % (iv.major, iv.minor, iv.micro)
if iv.releaselevel != "final":
    impl_version += iv.releaselevel[0] + str(iv.serial)
markers = {
    "implementation_name": impl.name,
    "implementation_version": impl_version,
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}
print(json.dumps({
    "executable": sys.executable,
    "version": platform.python_version(),
    "prefix": sys.prefix,
    "base_prefix": getattr(sys, "base_prefix", sys.prefix),
    "conda": os.path.isdir(os.path.join(sys.prefix, "conda-meta")),
    "externally_managed": os.path.isfile(
        os.path.join(paths.get("stdlib", ""), "EXTERNALLY-MANAGED")
    ),
    "site_dirs": sites,
    "has_pip": importlib.util.find_spec("pip") is not None,
    "platform": sys.platform,
    "machine": platform.machine(),
    "markers": markers,
}))
"""


@dataclass(frozen=True)
class Interpreter:
    executable: str
    version: str
    prefix: str
    base_prefix: str
    conda: bool
    externally_managed: bool
    site_dirs: tuple[str, ...]
    has_pip: bool
    platform: str
    machine: str
    markers: Mapping[str, str] = field(default_factory=dict)

    @property
    def in_venv(self) -> bool:
        return self.prefix != self.base_prefix

    @property
    def kind(self) -> str:
        if self.in_venv:
            return "virtualenv"
        return "conda environment" if self.conda else "system interpreter"

    @property
    def is_system(self) -> bool:
        """Outside any environment a user made for this project: installing here changes the
        Python every other program on the machine uses."""
        return not self.in_venv and not self.conda

    def to_json(self) -> dict[str, Any]:
        return {
            "executable": self.executable,
            "version": self.version,
            "kind": self.kind,
            "prefix": self.prefix,
            "externally_managed": self.externally_managed,
            "has_pip": self.has_pip,
        }


def resolve_python(path: str) -> str:
    """`--python` accepts an interpreter or a virtualenv directory (`.venv`)."""
    p = Path(path).expanduser()
    if p.is_dir():
        for candidate in (p / "bin" / "python", p / "Scripts" / "python.exe"):
            if candidate.exists():
                return str(candidate)
    return str(p)


def probe_interpreter(python: str, runner: proc.Runner = proc.run) -> Interpreter:
    """Ask `python` about itself. A path that is not a working Python interpreter is a usage
    error: one line, exit 2."""
    exe = resolve_python(python)
    result = runner([exe, "-c", _PROBE], timeout=60, env=proc.child_env(PYTHONIOENCODING="utf-8"))
    why = None
    if result.not_found:
        why = "no such file or not executable" if not Path(exe).exists() else "cannot run it"
    elif result.timed_out:
        why = "it did not answer within 60 s"
    elif not result.ok:
        last = (result.stderr.strip().splitlines() or ["exit status " + str(result.returncode)])[-1]
        why = last.strip()
    info: dict[str, Any] = {}
    if why is None:
        try:
            info = json.loads(result.stdout.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            why = "it did not answer like a Python interpreter"
    if why is not None:
        raise problem("install.not-an-interpreter").error(python=python, why=why)
    return Interpreter(
        executable=info["executable"] or exe,
        version=info["version"],
        prefix=info["prefix"],
        base_prefix=info["base_prefix"],
        conda=bool(info["conda"]),
        externally_managed=bool(info["externally_managed"]),
        site_dirs=tuple(info["site_dirs"]),
        has_pip=bool(info["has_pip"]),
        platform=info["platform"],
        machine=info["machine"],
        markers=dict(info["markers"]),
    )
