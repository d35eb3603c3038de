"""The interpreter chatenv installs into, and what it already has.

One short subprocess asks the target interpreter where it looks for packages and how it
evaluates environment markers; everything else is read from the files in those directories
(dist-info metadata, `torch/version.py`) in this process, without importing anything from the
target. That keeps a no-op `chatenv install` well under a second and works for `--python` pointing
at any other interpreter.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from chatenv import torch_builds as tb
from chatenv.errors import UsageError
from chatenv.system import proc
from chatenv.system.nvml import CudaVersion

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
    "purelib": paths.get("purelib"),
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
    purelib: str
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
        raise UsageError(
            f"--python {python} is not a Python interpreter ({why})",
            fix="--python .venv/bin/python (a virtualenv's interpreter) or leave it out",
        )
    return Interpreter(
        executable=info["executable"] or exe,
        version=info["version"],
        prefix=info["prefix"],
        base_prefix=info["base_prefix"],
        conda=bool(info["conda"]),
        externally_managed=bool(info["externally_managed"]),
        purelib=info["purelib"] or "",
        site_dirs=tuple(info["site_dirs"]),
        has_pip=bool(info["has_pip"]),
        platform=info["platform"],
        machine=info["machine"],
        markers=dict(info["markers"]),
    )


# --- installed distributions ------------------------------------------------------------------


@dataclass(frozen=True)
class InstalledDist:
    name: str  # canonical
    version: str
    requires: tuple[str, ...]
    location: str  # the site directory it is in

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "location": self.location}


@dataclass(frozen=True)
class TorchBuild:
    """The installed torch, read from `torch/version.py` without importing it."""

    version: str
    cuda: str | None
    hip: str | None = None

    @property
    def variant(self) -> str | None:
        """ "cpu", a CUDA tag ("cu130"), "rocm" or None for a CUDA version chatenv does not know."""
        if self.hip:
            return "rocm"
        if not self.cuda:
            return "cpu"
        try:
            v = tb.variant_for_cuda(CudaVersion.parse(self.cuda))
        except ValueError:
            return None
        return v.tag if v is not None else None

    @property
    def series(self) -> str | None:
        return tb.release_series(self.version)

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "cuda": self.cuda, "variant": self.variant}


class Installed:
    """The distributions on a list of site directories (the first of a name wins, as on import).

    Listing the directories is cheap; a distribution's METADATA is read only when someone asks
    for that distribution. A no-op install reads the few dozen it needs, not all of them.
    """

    def __init__(self, site_dirs: Iterable[str]) -> None:
        self._where: dict[str, Path] = {}
        for site in site_dirs:
            try:
                entries = sorted(os.scandir(site), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                name = _dist_dir_name(entry.name)
                if name is not None and name not in self._where:
                    self._where[name] = Path(entry.path)
        self._cache: dict[str, InstalledDist | None] = {}
        self._torch: TorchBuild | bool | None = False

    @classmethod
    def from_dists(
        cls, dists: Iterable[InstalledDist], torch: TorchBuild | None = None
    ) -> Installed:
        """An `Installed` that holds exactly these (for code that builds one by hand)."""
        made = cls(())
        made._cache = {d.name: d for d in dists}
        made._torch = torch
        return made

    def names(self) -> list[str]:
        return sorted(set(self._where) | {n for n, d in self._cache.items() if d is not None})

    def get(self, name: str) -> InstalledDist | None:
        key = canonicalize_name(name)
        if key not in self._cache:
            path = self._where.get(key)
            self._cache[key] = _read_dist(key, path) if path is not None else None
        return self._cache[key]

    def version(self, name: str) -> str | None:
        dist = self.get(name)
        return dist.version if dist else None

    @property
    def torch(self) -> TorchBuild | None:
        if self._torch is False:
            path = self._where.get("torch")
            dist = self.get("torch")
            self._torch = (
                read_torch_build(dist.version, path.parent) if dist and path is not None else None
            )
        assert not isinstance(self._torch, bool)
        return self._torch


def read_installed(site_dirs: Iterable[str]) -> Installed:
    return Installed(site_dirs)


def _dist_dir_name(entry: str) -> str | None:
    """ "openai-1.99.0.dist-info" → "openai"; egg-info directories too. Wheel and pip both
    write the name with '-' escaped, so the first '-' ends it."""
    for suffix in (".dist-info", ".egg-info"):
        if entry.endswith(suffix):
            return canonicalize_name(entry[: -len(suffix)].partition("-")[0])
    return None


def _read_dist(name: str, path: Path) -> InstalledDist | None:
    """Name, version and Requires-Dist from the metadata headers (the part before the body)."""
    if path.is_file():  # a single-file .egg-info (old distutils installs)
        meta = path
    else:
        meta = path / ("METADATA" if path.suffix == ".dist-info" else "PKG-INFO")
    try:
        text = meta.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    version = ""
    requires: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        if key == "Version":
            version = value.strip()
        elif key == "Requires-Dist":
            requires.append(value.strip())
    if path.suffix == ".egg-info":
        requires = _egg_requires(path / "requires.txt")
    if not version:
        return None
    return InstalledDist(name, version, tuple(requires), str(path.parent))


def _egg_requires(path: Path) -> list[str]:
    """requires.txt: plain lines, then `[extra]` / `[:marker]` sections."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    out: list[str] = []
    marker = ""
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            extra, _, cond = section.partition(":")
            parts = [f'extra == "{extra}"'] if extra else []
            if cond:
                parts.append(f"({cond})")
            marker = " and ".join(parts)
            continue
        out.append(f"{line}; {marker}" if marker else line)
    return out


_VERSION_PY_FIELD = re.compile(r"^(\w+)\s*(?::\s*[^=]+)?=\s*(.+?)\s*$", re.MULTILINE)


def parse_version_py(text: str) -> dict[str, str | None]:
    """`torch/version.py` is generated as `name: Optional[str] = '12.8'` lines; read the literal
    strings (or None) without executing the file."""
    values: dict[str, str | None] = {}
    for key, raw in _VERSION_PY_FIELD.findall(text):
        if raw == "None":
            values[key] = None
        elif len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
            values[key] = raw[1:-1]
    return values


def read_torch_build(version: str, site_dir: Path) -> TorchBuild:
    try:
        text = (site_dir / "torch" / "version.py").read_text(errors="replace")
    except OSError:
        text = ""
    fields = parse_version_py(text)
    if "cuda" in fields or "hip" in fields:
        return TorchBuild(
            fields.get("__version__") or version, fields.get("cuda"), fields.get("hip")
        )
    # No version.py: fall back to the local version label ("2.13.0+cu130", "+cpu").
    local = version.partition("+")[2]
    if local.startswith("cu") and len(local) >= 4:
        return TorchBuild(version, f"{local[2:-1]}.{local[-1]}")
    return TorchBuild(version, None if local == "cpu" else "unknown")


# --- dependencies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DependencyProblem:
    package: str  # the one whose requirement is not met
    required_by: str
    requirement: str
    installed: str | None

    def describe(self) -> str:
        if self.installed is None:
            return f"{self.package} (needed by {self.required_by}: {self.requirement}) is missing"
        return (
            f"{self.package} {self.installed} does not satisfy {self.requirement}"
            f" (needed by {self.required_by})"
        )


def dependency_problems(
    roots: Iterable[str], installed: Installed, markers: Mapping[str, str]
) -> list[DependencyProblem]:
    """What `pip check` would say about the closure of `roots`: missing or wrong-version
    dependencies, following extras and evaluating markers for the target interpreter."""
    problems: list[DependencyProblem] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    todo: list[tuple[str, frozenset[str]]] = [(canonicalize_name(r), frozenset()) for r in roots]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        dist = installed.get(name)
        if dist is None:
            continue
        for line in dist.requires:
            req = _applicable(line, extras, markers)
            if req is None:
                continue
            dep = canonicalize_name(req.name)
            have = installed.get(dep)
            if have is None:
                problems.append(DependencyProblem(dep, name, str(req), None))
                continue
            if not _satisfies(req, have.version):
                problems.append(DependencyProblem(dep, name, str(req), have.version))
            todo.append((dep, frozenset(canonicalize_name(e) for e in req.extras)))
    return sorted(problems, key=lambda p: (p.package, p.required_by))


def _applicable(
    line: str, extras: frozenset[str], markers: Mapping[str, str]
) -> Requirement | None:
    try:
        req = Requirement(line)
    except InvalidRequirement:
        return None
    if req.marker is None:
        return req
    envs = [{**markers, "extra": e} for e in (extras or {""})]
    try:
        return req if any(req.marker.evaluate(env) for env in envs) else None
    except (InvalidMarker, KeyError, ValueError):
        return req


def _satisfies(req: Requirement, version: str) -> bool:
    try:
        return req.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False
