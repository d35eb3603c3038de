"""What is installed on a list of folders, read from files: each distribution's metadata, which
build torch is, and which requirements among them are broken. Nothing installed is ever
imported.

Both commands read through here: `doctor` the interpreter it runs in (`sys.path`), `install`
its target interpreter (the site directories that interpreter reported), so what "installed"
means cannot differ between them.

Distributions are found the way `importlib.metadata.distributions()` finds them: `*.dist-info`
and `*.egg-info` entries of each folder, in directory order, the first of a name winning. Only
the header block of each metadata file is read and parsed: the long description after it can
be megabytes, and the email parser `Distribution.metadata` uses is slow. Why not
`importlib.metadata` itself: importing it pulls in email, zipfile, csv and pathlib machinery,
60-75 ms on a 2-core machine, a fifth of all of `chatenv doctor`. This reader does the same job
for what pip installs (a test compares the two on the real environment); it does not look
inside zip files on sys.path, which pip never installs to.

Torch's build is read from `torch/version.py` (located with `PathFinder.find_spec`, which finds
the package without running its `__init__`, and parsed with `ast`, never executed), so it works
even when `import torch` would crash.
"""

from __future__ import annotations

import os
import re
import sys
from functools import cached_property
from importlib.machinery import PathFinder
from keyword import iskeyword
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatenv import requires, torch_builds
from chatenv.names import canonicalize_name
from chatenv.pep440 import InvalidVersion, SpecifierSet, Version
from chatenv.records import dataclass, field
from chatenv.system.nvml import CudaVersion

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from packaging.requirements import Requirement

# --- distributions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dist:
    name: str  # canonical: "python-dotenv"
    display_name: str  # as its metadata spells it: "python_dotenv"
    version: str
    requires: tuple[str, ...] = ()  # raw Requires-Dist lines (or an egg's requires.txt)
    location: str = ""  # its .dist-info / .egg-info path


@dataclass(frozen=True)
class Installed:
    """Distributions by canonical name; the first one on the path wins, as for imports."""

    dists: Mapping[str, Dist]
    #: later distributions of a name already seen, in another version (stale copies further
    #: down the path)
    shadowed: tuple[Dist, ...] = ()
    #: metadata that could not be read: "location: reason"
    unreadable: tuple[str, ...] = field(default_factory=tuple)
    #: the folders that were read; torch's files are looked for on them
    paths: tuple[str, ...] = ()

    def get(self, name: str) -> Dist | None:
        return self.dists.get(canonicalize_name(name))

    def version(self, name: str) -> str | None:
        dist = self.get(name)
        return dist.version if dist else None

    @cached_property
    def torch(self) -> TorchBuild | None:
        """The installed torch build (None: torch is not installed), read once."""
        return read_torch_build(self.paths, self.version("torch"))


def parse_headers(text: str) -> dict[str, list[str]]:
    """The header block of a core-metadata file (RFC 822 style), continuation lines joined."""
    headers: dict[str, list[str]] = {}
    last: str | None = None
    for line in text.splitlines():
        if not line.strip():
            break  # the description body starts here
        if line[0] in " \t" and last is not None:
            headers[last][-1] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        last = key.strip().lower()
        headers.setdefault(last, []).append(value.strip())
    return headers


_CHUNK = 16384


def _read_head(path: str) -> str:
    """A metadata file up to the blank line that ends its headers (or all of it, if none)."""
    with open(path, "rb") as f:
        data = f.read(_CHUNK)
        while b"\n\n" not in data and b"\n\r\n" not in data:
            more = f.read(_CHUNK)
            if not more:
                break
            data += more
    return data.decode("utf-8", errors="replace")


def _metadata_files(folder: str) -> list[tuple[str, str]]:
    """(metadata file, distribution folder) for each distribution directly in `folder`, in
    directory order (as importlib.metadata lists them)."""
    found: list[tuple[str, str]] = []
    try:
        entries = list(os.scandir(folder or "."))
    except OSError:  # not a folder (a zip, a missing entry): nothing installed here
        return found
    for entry in entries:
        name = entry.name
        if name.endswith(".dist-info"):
            found.append((os.path.join(entry.path, "METADATA"), entry.path))
        elif name.endswith(".egg-info"):
            inner = os.path.join(entry.path, "PKG-INFO")
            found.append((inner if entry.is_dir() else entry.path, entry.path))
    return found


def _egg_requires(egg_info: str) -> list[str]:
    """An egg-info folder's requires.txt as requirement lines: plain lines, then `[extra]` /
    `[:marker]` / `[extra:marker]` sections turned into markers (as pip reads them when the
    metadata has no Requires-Dist)."""
    try:
        with open(os.path.join(egg_info, "requires.txt"), encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    out: list[str] = []
    marker = ""
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            extra, _, cond = line.strip("[]").partition(":")
            parts = [f'extra == "{extra}"'] if extra else []
            if cond:
                parts.append(f"({cond})")
            marker = " and ".join(parts)
            continue
        out.append(f"{line}; {marker}" if marker else line)
    return out


def scan(
    paths: Iterable[str] | None = None, progress: Callable[[int], None] | None = None
) -> Installed:
    """Every distribution visible on `paths` (default: this interpreter's sys.path).
    `progress` hears the count read so far, every 256 (doctor's sign of life)."""
    search = tuple(sys.path if paths is None else paths)
    dists: dict[str, Dist] = {}
    shadowed: list[Dist] = []
    unreadable: list[str] = []
    seen_folders: set[str] = set()
    for folder in search:
        key = os.path.abspath(folder or ".")
        if key in seen_folders:  # the same folder twice on sys.path: the same files
            continue
        seen_folders.add(key)
        for metadata_file, location in _metadata_files(folder):
            try:
                headers = parse_headers(_read_head(metadata_file))
            except OSError as exc:
                unreadable.append(f"{location}: {exc.strerror or exc}")
                continue
            name = (headers.get("name") or [""])[0]
            version = (headers.get("version") or [""])[0]
            if not name or not version:
                unreadable.append(f"{location}: no Name or Version in its metadata")
                continue
            requires = headers.get("requires-dist", [])
            if not requires and location.endswith(".egg-info") and os.path.isdir(location):
                requires = _egg_requires(location)
            dist = Dist(
                name=canonicalize_name(name),
                display_name=name,
                version=version,
                requires=tuple(requires),
                location=location,
            )
            first = dists.get(dist.name)
            if first is None:
                dists[dist.name] = dist
            elif first.version != dist.version:
                shadowed.append(dist)
            if progress is not None and len(dists) % 256 == 0:
                progress(len(dists))
    return Installed(dists, tuple(shadowed), tuple(unreadable), search)


# --- torch's build ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TorchBuild:
    version: str  # torch.__version__, e.g. "2.13.0+cu128"
    cuda: CudaVersion | None  # torch.version.cuda; None for CPU and ROCm builds
    hip: str | None = None  # torch.version.hip: a ROCm build
    path: str = ""  # the version.py it was read from ("" when there is none)
    #: the version its installed metadata (dist-info) gives, when there is one
    dist_version: str | None = None
    #: why the build could not be read, when it could not
    error: str | None = None
    #: nothing says whether it is a CPU or which CUDA build (`error` says why)
    unknown: bool = False

    @property
    def public_version(self) -> str:
        return self.version.partition("+")[0]

    @property
    def kind(self) -> str:
        if self.hip:
            return f"ROCm {self.hip}"
        if self.cuda:
            return f"CUDA {self.cuda}"
        return "unknown" if self.unknown else "CPU-only"

    @property
    def variant(self) -> str | None:
        """ "cpu", a CUDA tag ("cu130"), a ROCm tag ("rocm7.2", from the version's label;
        "rocm" when it has none), or None for a build chatenv cannot name."""
        if self.hip:
            label = self.version.partition("+")[2]
            return label if label.startswith("rocm") else "rocm"
        if self.unknown:
            return None
        if self.cuda is None:
            return "cpu"
        known = torch_builds.variant_for_cuda(self.cuda)
        return known.tag if known is not None else None

    @property
    def series(self) -> str | None:
        """The minor release: "2.13"."""
        return torch_builds.release_series(self.version)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "cuda": str(self.cuda) if self.cuda else None,
            "hip": self.hip,
            "variant": self.variant,
            "path": self.path,
            "dist_version": self.dist_version,
            "error": self.error,
        }


def find_version_file(paths: Iterable[str] | None = None) -> Path | None:
    """torch/version.py on `paths` (default sys.path), without importing torch."""
    spec = PathFinder.find_spec("torch", None if paths is None else list(paths))
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "version.py"


def parse_version_file(text: str) -> dict[str, object]:
    """Top-level constant assignments (`__version__ = '2.13.0+cpu'`, `cuda: Optional[str] =
    '12.8'`), read so that nothing in the file runs. Every torch release writes version.py in
    the same few kinds of line (tools/generate_torch_version.py): those are read line by line;
    a file with any other line is read with `ast` (importing it costs ~2 ms, and a wheel's
    version.py never needs it). tests/test_installed.py holds the two readings equal."""
    values: dict[str, object] = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or _is_import(line) or _is_all(line):
            continue
        found = _constant(line)
        if found is None:
            return parse_version_file_with_ast(text)
        values[found[0]] = found[1]
    return values


_WORDS: dict[str, object] = {"None": None, "True": True, "False": False}
_DIGITS = frozenset("0123456789")


def _name(text: str) -> bool:
    return text.isascii() and text.isidentifier() and not iskeyword(text)


def _dotted(text: str) -> bool:
    return all(_name(part) for part in text.split("."))


def _annotation(text: str) -> bool:
    """`str`, `typing.Optional`, `Optional[str]`, `Dict[str, int]`: the annotations torch
    writes (anything else: ast decides)."""
    head, bracket, inner = text.partition("[")
    if not bracket:
        return _dotted(text)
    return _dotted(head) and inner.endswith("]") and all(_dotted(n) for n in inner[:-1].split(", "))


def _is_import(line: str) -> bool:
    """`import a.b`, `import a as b, c`, `from typing import Optional`, `from . import x`."""
    if line.startswith("import "):
        names = line[7:].split(", ")
    elif line.startswith("from ") and " import " in line:
        module, _, rest = line[5:].partition(" import ")
        if module.strip(".") and not (module[0] != " " and _dotted(module.lstrip("."))):
            return False
        names = rest.split(", ")
        if any("." in name for name in names):
            return False
    else:
        return False
    for name in names:
        dotted, has_as, alias = name.partition(" as ")
        if not _dotted(dotted) or (has_as and not _name(alias)):
            return False
    return True


def _is_all(line: str) -> bool:
    """`__all__ = ['__version__', 'debug', ...]`: a list, which `ast` does not read as a
    constant either."""
    if not (line.startswith("__all__ = [") and line.endswith("]")):
        return False
    inner = line[11:-1]
    return inner == "" or all(
        len(item) > 2 and item[0] == item[-1] and item[0] in "'\"" and _name(item[1:-1])
        for item in inner.split(", ")
    )


def _constant(line: str) -> tuple[str, object] | None:
    """`name = <literal>` or `name: <annotation> = <literal>`, maybe then a comment, where the
    literal is a string without escapes, None, True, False or a decimal integer (what `ast`
    reads as a Constant: `-1` is not one). None for any other line."""
    target, equals, right = line.partition("=")
    name, colon, annotation = target.partition(":")
    name = name.rstrip(" ")
    if not equals or not _name(name) or right.startswith("="):
        return None
    if colon and not _annotation(annotation.strip(" ")):
        return None
    right = right.lstrip(" ")
    if right[:1] in ("'", '"'):
        end = right.find(right[0], 1)
        literal = right[1:end]
        rest = right[end + 1 :].lstrip(" ")
        if end < 0 or "\\" in literal or (rest and not rest.startswith("#")):
            return None
        return name, literal
    word = right.partition("#")[0].rstrip(" ")
    if word in _WORDS:
        return name, _WORDS[word]
    if word and _DIGITS.issuperset(word) and (word == "0" or word[0] != "0"):
        return name, int(word)
    return None


def parse_version_file_with_ast(text: str) -> dict[str, object]:
    """`parse_version_file` for a file of any shape: every top-level `name = <constant>`."""
    import ast

    values: dict[str, object] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values[target.id] = node.value.value
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(node.value, ast.Constant)
        ):
            values[node.target.id] = node.value.value
    return values


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _from_label(version: str) -> tuple[CudaVersion | None, bool]:
    """(cuda, unknown) from the local version label ("2.13.0+cu130", "+cpu"), for when
    version.py cannot say."""
    local = version.partition("+")[2]
    if local == "cpu":
        return None, False
    if local.startswith("cu") and len(local) >= 4 and local[2:].isdigit():
        return CudaVersion(int(local[2:-1]), int(local[-1])), False
    return None, True


def read_torch_build(
    paths: Iterable[str] | None = None, dist_version: str | None = None
) -> TorchBuild | None:
    """The installed torch build, or None when torch is not installed. Never imports torch.
    `dist_version` is the version torch's dist-info gives (to notice a half-replaced torch, and
    to name the build by its version label when its files are gone)."""
    version_file = find_version_file(None if paths is None else list(paths))
    if version_file is None:
        if dist_version is None:
            return None
        cuda, unknown = _from_label(dist_version)
        missing = "torch's metadata is installed but not it"
        return TorchBuild(dist_version, cuda, None, "", dist_version, missing, unknown)
    path = str(version_file)
    try:
        values = parse_version_file(version_file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError) as exc:
        cuda, unknown = _from_label(dist_version or "unknown")
        unreadable = f"cannot read {version_file}: {exc}"
        return TorchBuild(
            dist_version or "unknown", cuda, None, path, dist_version, unreadable, unknown
        )
    version = str(values.get("__version__") or dist_version or "unknown")
    cuda_text, hip = values.get("cuda"), values.get("hip")
    error: str | None = None
    if "cuda" not in values and "hip" not in values:  # not as torch writes it: ask the label
        cuda, unknown = _from_label(version)
        error = f"{version_file} names no CUDA or ROCm version" if unknown else None
    else:
        cuda, unknown = None, False
        if isinstance(cuda_text, str) and cuda_text:
            try:
                cuda = CudaVersion.parse(cuda_text)
            except ValueError:
                error = f"unreadable CUDA version {cuda_text!r} in {version_file}"
                unknown = True
    if dist_version is not None and not _same_version(dist_version, version):
        error = (
            f"torch's files say {version} but its metadata says {dist_version}: "
            "a half-replaced install"
        )
    return TorchBuild(
        version=version,
        cuda=cuda,
        hip=str(hip) if isinstance(hip, str) and hip else None,
        path=path,
        dist_version=dist_version,
        error=error,
        unknown=unknown,
    )


# --- broken requirements ----------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenRequirement:
    requirer: str  # display name
    requirer_version: str
    requirement: Requirement
    #: the installed version of the required distribution; None when it is missing
    installed: str | None

    @property
    def names(self) -> set[str]:
        return {canonicalize_name(self.requirer), canonicalize_name(self.requirement.name)}

    def describe(self) -> str:
        """As pip check words it."""
        head = f"{self.requirer} {self.requirer_version} requires"
        if self.installed is None:
            return f"{head} {self.requirement.name}, which is not installed"
        return f"{head} {self.requirement}, but {self.installed} is installed"

    def pip_requirement(self) -> str:
        """What to install to satisfy it: name, extras and version range, no marker."""
        extras = f"[{','.join(sorted(self.requirement.extras))}]" if self.requirement.extras else ""
        return f"{self.requirement.name}{extras}{self.requirement.specifier}"

    def to_json(self) -> dict[str, str | None]:
        return {
            "package": self.requirer,
            "version": self.requirer_version,
            "requires": str(self.requirement),
            "installed": self.installed,
        }


@dataclass(frozen=True)
class Requirements:
    """What a walk over installed requirements found."""

    broken: tuple[BrokenRequirement, ...]
    #: requirement lines that could not be parsed: "requirer version: line"
    unparsable: tuple[str, ...]
    #: the distributions whose requirements were checked (canonical names)
    checked: frozenset[str]


def broken_requirements(
    installed: Installed,
    environment: Mapping[str, str] | None = None,
    *,
    roots: Iterable[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Requirements:
    """Requirements of installed distributions that the installed versions do not meet.

    `environment` is the marker environment of the interpreter the distributions belong to
    (install's target reports its own); None means this interpreter's. Without `roots`, every
    distribution is checked with no extras, which is what `pip check` reports. With `roots`,
    only those and what they require, following the extras each requirement asks for
    (`lib[fast]` brings lib's `extra == "fast"` requirements): what installing them needs.
    Prereleases satisfy a range, as pip's check allows; a marker that cannot be evaluated
    counts as holding, so its requirement is checked rather than silently dropped.
    """
    follow_extras = roots is not None
    names = installed.dists if roots is None else [canonicalize_name(r) for r in roots]
    todo: list[tuple[str, frozenset[str]]] = [(name, frozenset()) for name in names]
    seen: set[tuple[str, frozenset[str]]] = set()
    checked: set[str] = set()
    broken: dict[tuple[str, str], BrokenRequirement] = {}
    unparsable: dict[str, None] = {}
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        if progress is not None and len(seen) % 256 == 0:
            progress(len(seen))
        dist = installed.get(name)
        if dist is None:
            continue
        checked.add(dist.name)
        for line in dist.requires:
            if not extras and _only_with_an_extra(line):
                continue
            req = requires.read(line)
            if req is None:
                unparsable[f"{dist.display_name} {dist.version}: {line}"] = None
                continue
            if not req.applies(extras, environment):
                continue
            other = installed.get(req.name)
            if other is None or not _fits(req.specifier, other.version):
                requirement = req.requirement()
                if requirement is None:  # read quickly, refused by packaging: never seen so far
                    unparsable[f"{dist.display_name} {dist.version}: {line}"] = None
                    continue
                found = BrokenRequirement(
                    dist.display_name,
                    dist.version,
                    requirement,
                    other.version if other else None,
                )
                broken.setdefault((dist.name, line), found)
            if follow_extras and other is not None:
                todo.append((other.name, frozenset(canonicalize_name(e) for e in req.extras)))
    return Requirements(in_order(broken.values()), tuple(unparsable), frozenset(checked))


def in_order(broken: Iterable[BrokenRequirement]) -> tuple[BrokenRequirement, ...]:
    """By requirer, then by what it requires (case-insensitive), as `pip check` lists them."""
    return tuple(sorted(broken, key=lambda b: (b.requirer.lower(), b.requirement.name.lower())))


_EXTRA_TERM = re.compile(r"""\bextra\s*==\s*["'][^"']+["']""")


def _only_with_an_extra(line: str) -> bool:
    """`dev-tool>=1; extra == "dev"` (possibly and-ed with more terms): with no extra asked for,
    it cannot apply. Most lines of a large environment's metadata are such (854 of 960 in a
    venv with torch, transformers and the test tools): skipping them unparsed cuts doctor's
    walk there from 55 ms to 8 ms. A marker with `or` is parsed and evaluated as usual."""
    marker = line.partition(";")[2]
    return " or " not in marker and _EXTRA_TERM.search(marker) is not None


def _fits(specifier: SpecifierSet, version: str) -> bool:
    try:
        return specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return SpecifierSet() == specifier  # no range asked: any version will do
