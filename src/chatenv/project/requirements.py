"""The packages a project declares, read from where it already declares them instead of restating
them: `[project] dependencies` and the extras a developer installs, `[dependency-groups]`
(PEP 735), `requirements*.txt` files, and `also` in the project file for the rest.

Each requirement keeps where it was written (file and line), so a finding about it points
there. Lines pip understands but a PEP 508 parser does not (`-e .`, a path, a wheel URL) are
kept as they are, unjudged: doctor can say nothing about their version, and setup leaves them
to the developer's own `pip install` (it says which).

Pure over the files: nothing is installed, imported or fetched.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement

from chatenv.names import canonicalize_name
from chatenv.project.lines import line_of
from chatenv.records import dataclass
from chatenv.system.files import names_like

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from chatenv.project.lines import KeyPath
    from chatenv.project.settings import PackageSettings

#: `-r` nesting deeper than this is a loop or a mistake
MAX_INCLUDE_DEPTH = 10
#: pip options that take a value, whose value is not a requirement
_VALUE_OPTIONS = {
    "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host",
    "--no-binary", "--only-binary", "--use-feature", "--config-settings", "-C",
}  # fmt: skip
_FLAG_OPTIONS = {"--pre", "--prefer-binary", "--require-hashes", "--no-index"}
_INDEX_OPTIONS = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--no-index"}
#: a requirement line's own options (`pkg==1 --hash=sha256:...`): cut before installing
_LINE_OPTIONS = re.compile(r"\s+--?(hash|config-settings|global-option|install-option|C)\b.*$")


@dataclass(frozen=True)
class Declared:
    """One requirement as the project wrote it."""

    text: str
    #: None: a line pip takes that is not a PEP 508 requirement (`-e .`, `./pkg`, a URL)
    requirement: Requirement | None
    #: the file it is written in, and its line there
    path: Path
    line: int | None
    #: where in that file, in words: "dependencies", "extra gpu", "group dev", "also"
    origin: str

    @property
    def name(self) -> str | None:
        return canonicalize_name(self.requirement.name) if self.requirement else None

    def to_json(self) -> dict[str, Any]:
        return {
            "requirement": self.text,
            "name": self.name,
            "path": str(self.path),
            "line": self.line,
            "origin": self.origin,
        }


@dataclass(frozen=True)
class Declarations:
    requirements: tuple[Declared, ...]
    #: the files read, in order
    files: tuple[Path, ...]
    #: things worth saying about what was read: index options, extras that do not exist
    notes: tuple[str, ...] = ()
    #: `--index-url` / `--extra-index-url` / `--find-links` lines of the requirements files
    index_options: tuple[str, ...] = ()


def _parse(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def from_pyproject(
    pyproject: Mapping[str, Any],
    path: Path,
    lines: Mapping[KeyPath, int],
    *,
    extras: Iterable[str] = (),
    groups: Iterable[str] = (),
) -> tuple[list[Declared], list[str]]:
    """`[project] dependencies`, the chosen extras ("*": all) and dependency groups. An extra
    that names the project itself (`all = ["demo[gpu,dev]"]`) brings in those extras."""
    project = pyproject.get("project") or {}
    own = canonicalize_name(str(project.get("name", ""))) if project.get("name") else None
    found: list[Declared] = []
    notes: list[str] = []
    deps = project.get("dependencies") or []
    for index, text in enumerate(deps if isinstance(deps, list) else []):
        if isinstance(text, str):
            line = line_of(lines, ("project", "dependencies", index))
            found.append(Declared(text, _parse(text), path, line, "dependencies"))
    optional = project.get("optional-dependencies") or {}
    wanted = list(extras)
    if "*" in wanted:
        wanted = [*dict.fromkeys([*(w for w in wanted if w != "*"), *optional])]
    seen: set[str] = set()
    while wanted:
        extra = wanted.pop(0)
        key = canonicalize_name(extra)
        if key in seen:
            continue
        seen.add(key)
        entries = next((v for k, v in optional.items() if canonicalize_name(k) == key), None)
        if entries is None:
            notes.append(f"{path.name} has no extra {extra!r} ([project.optional-dependencies])")
            continue
        name = next(k for k in optional if canonicalize_name(k) == key)
        for index, text in enumerate(entries):
            req = _parse(text)
            if req is not None and own and canonicalize_name(req.name) == own:
                wanted.extend(sorted(req.extras))
                continue
            line = line_of(lines, ("project", "optional-dependencies", name, index))
            found.append(Declared(text, req, path, line, f"extra {name}"))
    found.extend(_groups(pyproject, path, lines, groups, notes))
    return found, notes


def _groups(
    pyproject: Mapping[str, Any],
    path: Path,
    lines: Mapping[KeyPath, int],
    groups: Iterable[str],
    notes: list[str],
) -> list[Declared]:
    table = pyproject.get("dependency-groups") or {}
    found: list[Declared] = []
    pending = list(groups)
    seen: set[str] = set()
    while pending:
        group = pending.pop(0)
        key = canonicalize_name(group)
        if key in seen:
            continue
        seen.add(key)
        name = next((k for k in table if canonicalize_name(k) == key), None)
        if name is None:
            notes.append(f"{path.name} has no dependency group {group!r} ([dependency-groups])")
            continue
        for index, entry in enumerate(table[name]):
            if isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
                pending.append(entry["include-group"])
            elif isinstance(entry, str):
                line = line_of(lines, ("dependency-groups", name, index))
                found.append(Declared(entry, _parse(entry), path, line, f"group {name}"))
    return found


@dataclass(frozen=True)
class _FileRead:
    requirements: list[Declared]
    files: list[Path]
    notes: list[str]
    index_options: list[str]


def from_requirements_files(paths: Iterable[Path], root: Path) -> _FileRead:
    """pip requirements files, following `-r` (within `root`, cycles and depth bounded), each
    file read once however many name it. `-c` constraint files only limit versions and are not
    requirements: they are not read."""
    out = _FileRead([], [], [], [])
    for path in paths:
        _read_file(path, root, out, depth=0)
    return out


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Lines with comments removed and `\\` continuations joined, each with its first line."""
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, (pending + line).strip()
        pending = ""
    if pending.strip():
        yield start, pending.strip()


def _read_file(path: Path, root: Path, out: _FileRead, *, depth: int) -> None:
    resolved = path.resolve()
    if resolved in {p.resolve() for p in out.files}:
        return
    if depth > MAX_INCLUDE_DEPTH:
        out.notes.append(f"{path}: -r nested deeper than {MAX_INCLUDE_DEPTH} files, not followed")
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        out.notes.append(f"cannot read {path}: {reason}")
        return
    out.files.append(path)
    origin = path.name
    for number, line in _logical_lines(text):
        if not line:
            continue
        word, _, rest = line.partition(" ")
        name, eq, value = word.partition("=")
        if name in ("-r", "--requirement", "-c", "--constraint"):
            target = (value if eq else rest).strip()
            if name in ("-c", "--constraint") or not target:
                continue
            included = (path.parent / target).resolve()
            if not included.is_relative_to(root.resolve()):
                out.notes.append(f"{path.name}:{number}: -r {target} is outside the project")
                continue
            _read_file(included, root, out, depth=depth + 1)
        elif name in _VALUE_OPTIONS or name in _FLAG_OPTIONS:
            if name in _INDEX_OPTIONS:
                out.index_options.append(line)
        elif word in ("-e", "--editable") or word.startswith("--editable="):
            out.requirements.append(Declared(line, None, path, number, origin))
        elif word.startswith("-"):
            out.notes.append(f"{path.name}:{number}: option {word} is not read by chatenv")
        else:
            text_req = _LINE_OPTIONS.sub("", line).strip()
            out.requirements.append(Declared(text_req, _parse(text_req), path, number, origin))


def requirement_files(folder: Path, named: tuple[str, ...] | None) -> list[Path]:
    """The requirements files to read: the ones named, else every requirements*.txt in the
    folder (requirements.txt first)."""
    if named is not None:
        return [folder / name for name in named]
    names = names_like(folder, "requirements", ".txt")
    found = [folder / n for n in sorted(names, key=lambda n: (n != "requirements.txt", n))]
    return [p for p in found if p.is_file()]


def declarations(
    folder: Path,
    settings: PackageSettings,
    *,
    pyproject: Mapping[str, Any] | None,
    pyproject_path: Path,
    pyproject_lines: Mapping[KeyPath, int],
    project_file: Path,
    project_lines: Mapping[KeyPath, int],
    prefix: KeyPath,
) -> Declarations:
    """Everything the project declares, from the sources its settings allow (by default every
    one found beside the project file)."""
    sources = settings.sources
    found: list[Declared] = []
    files: list[Path] = []
    notes: list[str] = []
    index_options: list[str] = []
    if pyproject is not None and (sources is None or "pyproject" in sources):
        from_project, more = from_pyproject(
            pyproject,
            pyproject_path,
            pyproject_lines,
            extras=settings.extras,
            groups=settings.groups,
        )
        found += from_project
        notes += more
        files.append(pyproject_path)
    if sources is None or "requirements" in sources:
        paths = requirement_files(folder, settings.requirements)
        notes += [
            f"{p.name} is named in the project file but does not exist"
            for p in paths
            if not p.is_file()
        ]
        read = from_requirements_files([p for p in paths if p.is_file()], folder)
        found += read.requirements
        files += read.files
        notes += read.notes
        index_options += read.index_options
    for index, text in enumerate(settings.also):
        line = line_of(project_lines, (*prefix, "packages", "also", index))
        found.append(Declared(text, _parse(text), project_file, line, "also"))
    return Declarations(tuple(found), tuple(files), tuple(notes), tuple(index_options))
