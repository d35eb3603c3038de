"""What is installed in this interpreter, read from the distributions' metadata files.

Nothing here imports an installed package: names, versions and requirements come from each
distribution's METADATA (or PKG-INFO) through `importlib.metadata`, the way pip and
`importlib.metadata.version()` see them. Only the header block is parsed: the long description
that follows it can be megabytes, and the email parser `Distribution.metadata` uses costs more
than the whole rest of doctor.
"""

from __future__ import annotations

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


def scan(paths: Iterable[str] | None = None) -> Installed:
    """Every distribution visible on `paths` (default: this interpreter's sys.path)."""
    from importlib import metadata

    search = list(sys.path if paths is None else paths)
    dists: dict[str, Dist] = {}
    shadowed: list[Dist] = []
    unreadable: list[str] = []
    for found in metadata.distributions(path=search):
        location = str(getattr(found, "_path", "") or found.locate_file(""))
        try:
            text = found.read_text("METADATA") or found.read_text("PKG-INFO") or ""
        except (OSError, UnicodeDecodeError) as exc:
            unreadable.append(f"{location}: {exc}")
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
        if first is not None:
            # The same directory twice on sys.path finds the same files twice: not news.
            if first.location != dist.location and first.version != dist.version:
                shadowed.append(dist)
        else:
            dists[dist.name] = dist
    return Installed(dists, tuple(shadowed), tuple(unreadable))


def for_run(options: DoctorOptions) -> Installed:
    """The scan every section of one doctor run shares."""
    return options.shared.get("installed", lambda: scan(options.seams.sys_path))
