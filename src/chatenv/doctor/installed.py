"""What is installed in this interpreter, read from the distributions' metadata files.

Nothing here imports an installed package: names, versions and requirements come from each
distribution's METADATA (or PKG-INFO), found the way `importlib.metadata.distributions()` finds
them: `*.dist-info` and `*.egg-info` entries of each folder on the path, the first of a name
winning. Only the header block of each file is parsed: the long description after it can be
megabytes, and the email parser `Distribution.metadata` uses is slow.

Why not `importlib.metadata` itself: importing it pulls in email, zipfile, csv and pathlib
machinery, 60-75 ms on a 2-core machine, a fifth of all of `chatenv doctor`. This reader does
the same job for what pip installs (a test compares the two on the real environment); it does
not look inside zip files on sys.path, which pip never installs to.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from packaging.utils import canonicalize_name

from chatenv.doctor.runner import DoctorOptions


@dataclass(frozen=True)
class Dist:
    name: str  # canonical: "python-dotenv"
    display_name: str  # as its metadata spells it: "python_dotenv"
    version: str
    requires: tuple[str, ...] = ()  # raw Requires-Dist lines
    location: str = ""  # the path entry it was found under


@dataclass(frozen=True)
class Installed:
    """Distributions by canonical name; the first one on the path wins, as for imports."""

    dists: Mapping[str, Dist]
    #: later distributions of a name already seen, in another version (stale copies further
    #: down the path)
    shadowed: tuple[Dist, ...] = ()
    #: metadata that could not be read: "location: reason"
    unreadable: tuple[str, ...] = field(default_factory=tuple)

    def get(self, name: str) -> Dist | None:
        return self.dists.get(canonicalize_name(name))

    def version(self, name: str) -> str | None:
        dist = self.get(name)
        return dist.version if dist else None


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


def scan(paths: Iterable[str] | None = None) -> Installed:
    """Every distribution visible on `paths` (default: this interpreter's sys.path)."""
    search = list(sys.path if paths is None else paths)
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
                with open(metadata_file, encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except OSError as exc:
                unreadable.append(f"{location}: {exc.strerror or exc}")
                continue
            headers = parse_headers(text)
            name = (headers.get("name") or [""])[0]
            version = (headers.get("version") or [""])[0]
            if not name or not version:
                unreadable.append(f"{location}: no Name or Version in its metadata")
                continue
            dist = Dist(
                name=canonicalize_name(name),
                display_name=name,
                version=version,
                requires=tuple(headers.get("requires-dist", ())),
                location=location,
            )
            first = dists.get(dist.name)
            if first is None:
                dists[dist.name] = dist
            elif first.version != dist.version:
                shadowed.append(dist)
    return Installed(dists, tuple(shadowed), tuple(unreadable))


def for_run(options: DoctorOptions) -> Installed:
    """The scan every section of one doctor run shares."""
    return options.shared.get("installed", lambda: scan(options.seams.sys_path))
