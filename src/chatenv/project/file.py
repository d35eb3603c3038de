"""Finding and reading the project file.

The project file is the nearest `chatenv.toml`, or `pyproject.toml` with a `[tool.chatenv]`
table, at or above the current folder and no higher than the project root
(`chatenv.system.project`: the nearest folder with `.git`, `pyproject.toml`, `setup.py` or
`setup.cfg`), found the way the `.env` is. A `chatenv.toml` beside a `pyproject.toml` wins (a
team that keeps tool settings out of pyproject.toml); its packages are still read from that
pyproject.toml's `[project]` table.

A pyproject.toml without a `[tool.chatenv]` table is not a project file: doctor then judges the
machine by chatenv's own pins, as it always has.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any

from chatenv.names import canonicalize_name
from chatenv.records import dataclass, field
from chatenv.system.project import find_upward

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from chatenv.project.lines import KeyPath
    from chatenv.project.locks import Lock
    from chatenv.project.requirements import Declarations
    from chatenv.project.settings import ProjectFileError, ProjectSettings, UnknownKey

PYPROJECT = "pyproject.toml"
CHATENV_TOML = "chatenv.toml"
#: `[tool.chatenv]`, `[tool.chatenv.gpus]`, `[[tool.chatenv.models]]` or a `tool.chatenv.` key
_TABLE = re.compile(r"^\s*(\[\[?\s*tool\s*\.\s*chatenv\s*[\].]|tool\s*\.\s*chatenv\s*[.=])", re.M)
#: names that mean a project uses a chatenv profile, when its file does not say which
_API_NAMES = {"openai"}
_LOCAL_NAMES = {"torch", "transformers"}


@dataclass(frozen=True)
class Location:
    """A place in a file: what a finding points at."""

    path: Path
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path.name}:{self.line}" if self.line else self.path.name

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "line": self.line}


@dataclass(frozen=True)
class Project:
    """A project file, read: its settings and what it declares."""

    path: Path
    #: the folder its sources are read from (the project file's own)
    folder: Path
    settings: ProjectSettings
    declarations: Declarations
    locks: tuple[Lock, ...]
    #: the [project] name of the pyproject.toml beside it, if any
    name: str | None = None
    unknown: tuple[UnknownKey, ...] = ()
    #: key path -> line, of the project file
    lines: Mapping[KeyPath, int] = field(default_factory=dict)
    #: the key path of the settings table in the file: ("tool", "chatenv") or ()
    prefix: KeyPath = ()

    @property
    def kind(self) -> str:
        return "[tool.chatenv] in pyproject.toml" if self.path.name == PYPROJECT else CHATENV_TOML

    def at(self, *keys: str | int) -> Location:
        """Where a setting is written (or the nearest table that holds it)."""
        from chatenv.project.lines import line_of

        return Location(self.path, line_of(self.lines, (*self.prefix, *keys)))

    @property
    def profiles(self) -> tuple[str, ...]:
        """The chatenv profiles the project uses: as the file says, else taken from what it
        declares (openai: api; torch or transformers: local), else all."""
        if self.settings.profiles is not None:
            return self.settings.profiles
        names = {d.name for d in self.declarations.requirements if d.name}
        found = tuple(
            p for p, wanted in (("api", _API_NAMES), ("local", _LOCAL_NAMES)) if names & wanted
        )
        return found or ("all",)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "name": self.name,
            "profiles": list(self.profiles),
            "sources": [str(p) for p in self.declarations.files],
            "locks": [lock.to_json() for lock in self.locks],
            "requirements": len(self.declarations.requirements),
        }


def has_table(path: Path) -> bool:
    """Does this pyproject.toml hold a [tool.chatenv] table? (A text search: cheap enough for
    every doctor run; the parse that follows is the judge.)"""
    try:
        return bool(_TABLE.search(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def find(start: Path, home: Path | None = None) -> Path | None:
    """The project file for a folder, or None."""
    toml = find_upward(CHATENV_TOML, start, home).path
    pyproject = find_upward(PYPROJECT, start, home).path
    if pyproject is not None and not has_table(pyproject):
        pyproject = None
    if toml is None or pyproject is None:
        return toml or pyproject
    # the nearer one; beside each other, chatenv.toml
    return toml if len(toml.parent.parts) >= len(pyproject.parent.parts) else pyproject


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed file and its text; ProjectFileError (with the line) when it is not TOML."""
    from chatenv.problems import problem
    from chatenv.project.settings import ProjectFileError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        message, fix = problem("project.unreadable").pair(path=path, reason=reason)
        raise ProjectFileError(message, fix=fix, path=path) from None
    if sys.version_info >= (3, 11):  # imported here: most doctor runs find no project file
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        message, fix = problem("project.not-toml").pair(
            where=f"{path.name}:{line}" if line else path.name, reason=str(exc)
        )
        raise ProjectFileError(message, fix=fix, path=path, line=line) from None


def load(path: Path, markers: Mapping[str, str] | None = None) -> Project:
    """Read a project file and what its project declares. `markers`: the environment locks are
    evaluated for (default: this interpreter's). Raises ProjectFileError for a file that cannot
    be used."""
    from chatenv.project.lines import key_lines
    from chatenv.project.locks import find_locks, read_lock
    from chatenv.project.requirements import declarations
    from chatenv.project.settings import parse_settings

    path = path.absolute()
    data, text = read_toml(path)
    lines = key_lines(text)
    folder = path.parent
    prefix: KeyPath = ()
    if path.name == PYPROJECT:
        table, prefix = data.get("tool", {}).get("chatenv", {}), ("tool", "chatenv")
        pyproject, pyproject_lines = data, lines
    else:
        table = data
        pyproject, pyproject_lines = None, {}
        beside = folder / PYPROJECT
        if beside.is_file():
            pyproject, pyproject_text = read_toml(beside)
            pyproject_lines = key_lines(pyproject_text)
    settings, unknown = parse_settings(table, path=path, lines=lines, prefix=prefix)
    declared = declarations(
        folder,
        settings.packages,
        pyproject=pyproject,
        pyproject_path=folder / PYPROJECT,
        pyproject_lines=pyproject_lines,
        project_file=path,
        project_lines=lines,
        prefix=prefix,
    )
    env = dict(markers) if markers is not None else _default_markers()
    locks = tuple(
        read_lock(p, env, extras=settings.packages.extras, groups=settings.packages.groups)
        for p in find_locks(folder, settings.packages.sources)
    )
    name = (pyproject or {}).get("project", {}).get("name")
    return Project(
        path=path,
        folder=folder,
        settings=settings,
        declarations=declared,
        locks=locks,
        name=canonicalize_name(name) if isinstance(name, str) else None,
        unknown=unknown,
        lines=lines,
        prefix=prefix,
    )


@dataclass(frozen=True)
class Lookup:
    """The project file of a folder, as doctor sees it: none, read, or unusable."""

    #: the project file found (None: there is none, and chatenv's pins judge the machine)
    path: Path | None = None
    project: Project | None = None
    error: ProjectFileError | None = None


def lookup(
    start: Path, home: Path | None = None, markers: Mapping[str, str] | None = None
) -> Lookup:
    """Find and read the project file for `start`; a file that cannot be used is an error in
    the answer, not an exception."""
    path = find(start, home)
    if path is None:
        return Lookup()  # without importing the reader: most runs have no project file
    from chatenv.project.settings import ProjectFileError

    try:
        return Lookup(path, load(path, markers))
    except ProjectFileError as exc:
        return Lookup(path, error=exc)


def _default_markers() -> dict[str, str]:
    from chatenv.requires import default_environment

    return {**default_environment(), "extra": ""}
