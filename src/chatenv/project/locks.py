"""The versions a project's lock file fixes for this environment: `uv.lock` (uv's own format)
or `pylock.toml` (PEP 751).

- uv.lock is universal: it holds every package for every platform, extra and group. The
  packages that apply here are those reached from the project's own entry (the package whose
  source is the project folder, `{ virtual = "." }` or `{ editable = "." }`) through its
  dependencies, the extras and groups the project file names, and `dev` (uv sync installs that
  group by default), following each edge whose marker holds on this interpreter.
- pylock.toml lists what to install: every package whose `marker` holds (or that has none).

A marker chatenv cannot evaluate (a newer marker syntax) keeps the edge: the lock judges a
package too many rather than miss one. Format facts: uv's documentation (docs.astral.sh/uv,
"Lockfile"), PEP 751, and lock files written by uv 0.13 (tests/project/test_locks.py makes them
with the real uv).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName

from chatenv.names import canonicalize_name
from chatenv.records import dataclass

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

LOCK_NAMES = ("uv.lock", "pylock.toml")


@dataclass(frozen=True)
class Lock:
    path: Path
    kind: str  # "uv.lock" or "pylock.toml"
    #: canonical name -> the versions the lock allows here (more than one: a forked resolution)
    versions: Mapping[str, frozenset[str]]
    #: why the lock could not be read, if it could not
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "packages": len(self.versions),
            "error": self.error,
        }


def _holds(marker: str | None, env: Mapping[str, str]) -> bool:
    if not marker:
        return True
    try:
        return bool(Marker(marker).evaluate(dict(env)))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName, TypeError, ValueError):
        return True


def read_lock(
    path: Path, env: Mapping[str, str], *, extras: Iterable[str] = (), groups: Iterable[str] = ()
) -> Lock:
    kind = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Lock(path, kind, {}, error=reason)
    if kind == "pylock.toml":
        return Lock(path, kind, _pylock(data, env))
    return Lock(path, kind, _uv_lock(data, env, tuple(extras), tuple(groups)))


def _pylock(data: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for package in data.get("packages") or []:
        name, version = package.get("name"), package.get("version")
        if (
            isinstance(name, str)
            and isinstance(version, str)
            and _holds(package.get("marker"), env)
        ):
            found.setdefault(canonicalize_name(name), set()).add(version)
    return {k: frozenset(v) for k, v in found.items()}


def _uv_lock(
    data: Mapping[str, Any],
    env: Mapping[str, str],
    extras: tuple[str, ...],
    groups: tuple[str, ...],
) -> dict[str, frozenset[str]]:
    packages = [p for p in data.get("package") or [] if isinstance(p.get("name"), str)]
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for package in packages:
        by_name.setdefault(canonicalize_name(package["name"]), []).append(package)
    roots = [p for p in packages if _is_project(p)]
    found: dict[str, set[str]] = {}
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    pending: list[Any] = []
    for root in roots:
        edges = list(root.get("dependencies") or [])
        optional = root.get("optional-dependencies") or {}
        wanted = set(optional) if "*" in extras else {canonicalize_name(e) for e in extras}
        for extra, deps in optional.items():
            if canonicalize_name(extra) in wanted:
                edges += deps
        dev = root.get("dev-dependencies") or {}
        chosen = {"dev", *(canonicalize_name(g) for g in groups)}
        for group, deps in dev.items():
            if canonicalize_name(group) in chosen:
                edges += deps
        pending += edges
    while pending:
        edge = pending.pop()
        if not isinstance(edge, dict) or not _holds(edge.get("marker"), env):
            continue
        name = canonicalize_name(str(edge.get("name", "")))
        candidates = by_name.get(name, [])
        if "version" in edge:
            candidates = [c for c in candidates if c.get("version") == edge["version"]]
        for package in candidates:
            version = package.get("version")
            key = (name, str(version), tuple(sorted(edge.get("extra") or [])))
            if key in seen or _is_project(package):
                continue
            seen.add(key)
            if isinstance(version, str):
                found.setdefault(name, set()).add(version)
            deps = list(package.get("dependencies") or [])
            optional = package.get("optional-dependencies") or {}
            for extra in edge.get("extra") or []:
                deps += optional.get(extra, [])
            pending += deps
    return {k: frozenset(v) for k, v in found.items()}


def _is_project(package: Mapping[str, Any]) -> bool:
    source = package.get("source") or {}
    return source.get("virtual") == "." or source.get("editable") == "."


def find_locks(folder: Path, sources: tuple[str, ...] | None) -> list[Path]:
    """The lock files beside the project file that its settings let chatenv read."""
    names = [n for n in LOCK_NAMES if sources is None or n in sources]
    return [folder / n for n in names if (folder / n).is_file()]
