"""Which CUDA builds of torch exist for one platform, read from the PyTorch index itself.

The PyTorch index (download.pytorch.org/whl, or a mirror of it) serves PEP 503 "simple" pages:
`<base>/torch/` lists every torch wheel of every variant, `<base>/<variant>/torch/` those of
one variant. A wheel's file name says everything needed (PEP 427):
`torch-2.14.0+cu130-cp312-cp312-manylinux_2_28_aarch64.whl` is the cu130 build of torch 2.14.0
for CPython 3.12 on Linux aarch64. So `install` learns which variants of a release exist for
the target interpreter's platform, CPU architecture and Python from the index when it can
reach it, and falls back to chatenv's table (`chatenv.torch_builds.cuda_wheels`) when it
cannot. The page is fetched through a seam (`fetch`: GET a URL, return its text, raise
OSError) from a base URL given as a parameter, so a mirror (`--torch-index`) is only another
base URL.
"""

from __future__ import annotations

import re
import urllib.error
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from packaging.version import InvalidVersion, Version

from chatenv import torch_builds as tb
from chatenv.records import dataclass, field

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

DEFAULT_INDEX = "https://download.pytorch.org/whl"
#: seconds to wait for the index: `install` goes on with the table when it does not answer
TIMEOUT = 10.0

_WHEEL = re.compile(
    r"^torch-(?P<version>[^-]+)-(?P<python>[^-]+)-(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl$"
)


@dataclass(frozen=True)
class WheelTarget:
    """The interpreter a wheel must fit: `sys.platform`, `platform.machine()`, Python version."""

    platform: str  # "linux", "win32", "darwin"
    machine: str  # "x86_64", "aarch64", "AMD64", "arm64"
    python: str  # "3.12.3"

    @property
    def python_tag(self) -> str:
        major, minor, *_ = self.python.split(".")
        return f"cp{major}{minor}"

    @property
    def describe(self) -> str:
        system = {"linux": "Linux", "win32": "Windows", "darwin": "macOS"}.get(
            self.platform, self.platform
        )
        return f"{system} {self.machine}"

    def fits(self, python: str, abi: str, platform: str) -> bool:
        """Does a wheel with these tags install here? (compressed tag sets: "cp312.cp313")"""
        if self.python_tag not in python.split(".") or self.python_tag not in abi.split("."):
            return False
        machine = self.machine.lower()
        for tag in platform.split("."):
            if self.platform.startswith("linux") and tag.startswith(("manylinux", "linux")):
                arch = "aarch64" if machine in ("aarch64", "arm64") else "x86_64"
                if tag.endswith("_" + arch):
                    return True
            if self.platform.startswith("win"):
                arch = "arm64" if machine in ("arm64", "aarch64") else "amd64"
                if tag == "win_" + arch:
                    return True
        return False


@dataclass(frozen=True)
class Offered:
    """The CUDA variants of each torch release that have a wheel for one target."""

    #: "index" (read from the PyTorch index) or "table" (chatenv's table: offline fallback)
    source: str
    #: the page read, or "chatenv's table"
    where: str
    by_series: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: why the table was used (the index did not answer: ...)
    note: str | None = None

    def variants(self, series: str) -> tuple[str, ...]:
        """The CUDA tags of one release, newest CUDA first; () when it has none here."""
        return self.by_series.get(series, ())

    def series(self) -> list[str]:
        return sorted(self.by_series, key=tb.series_key, reverse=True)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "where": self.where,
            "note": self.note,
            "variants": {s: list(self.by_series[s]) for s in self.series()},
        }


class _Links(HTMLParser):
    """The file names of a PEP 503 page: each anchor's text (its href as a fallback)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            text = "".join(self._text).strip()
            path = urlsplit(self._href).path
            self.names.append(text or unquote(path.rsplit("/", 1)[-1]))
            self._href = None


def wheel_names(page: str) -> list[str]:
    parser = _Links()
    parser.feed(page)
    return parser.names


def _sort_tags(tags: Iterable[str]) -> tuple[str, ...]:
    def key(tag: str) -> tuple[int, int]:
        cuda = tb.tag_cuda(tag)
        return (cuda.major, cuda.minor) if cuda else (0, 0)

    return tuple(sorted(set(tags), key=key, reverse=True))


def offered_in(names: Iterable[str], target: WheelTarget) -> dict[str, tuple[str, ...]]:
    """Release -> CUDA tags with a wheel for `target`, from wheel file names."""
    found: dict[str, set[str]] = {}
    for name in names:
        wheel = _WHEEL.match(unquote(name))
        if wheel is None or not target.fits(wheel["python"], wheel["abi"], wheel["platform"]):
            continue
        try:
            version = Version(wheel["version"])
        except InvalidVersion:
            continue
        local = version.local or ""
        if version.is_prerelease or tb.tag_cuda(local) is None:
            continue
        found.setdefault(f"{version.major}.{version.minor}", set()).add(local)
    return {series: _sort_tags(tags) for series, tags in found.items()}


def from_table(target: WheelTarget, note: str | None = None) -> Offered:
    """chatenv's own table, for when the index cannot be read."""
    by_series = {
        series: tuple(tb.cuda_wheels(series, target.platform, target.machine))
        for series in tb.known_series()
    }
    return Offered("table", "chatenv's table", by_series, note)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def read_offered(
    base_url: str,
    target: WheelTarget,
    fetch: Callable[[str], str] | None = None,
    *,
    tags: Iterable[str] = (),
) -> Offered:
    """The variants the index at `base_url` has for `target`; chatenv's table (with a note
    saying why) when the index cannot be read.

    One page lists them all: `<base>/torch/`. A mirror that only has the per-variant pages
    (`<base>/<tag>/torch/`) is read page by page, for `tags` (default: every variant the table
    knows)."""
    if fetch is None:
        from chatenv.system.seams import http_get

        fetch = http_get
    base = base_url.rstrip("/")
    url = f"{base}/torch/"
    try:
        names = wheel_names(fetch(url))
    except (OSError, ValueError) as exc:
        if not (isinstance(exc, urllib.error.HTTPError) and exc.code == 404):
            return from_table(target, f"{url} did not answer ({_reason(exc)})")
        return _per_variant(base, target, fetch, tuple(tags) or tuple(v.tag for v in tb.VARIANTS))
    if not any(_WHEEL.match(unquote(n)) for n in names):
        return from_table(target, f"{url} lists no torch wheels")
    return Offered("index", url, offered_in(names, target))


def _per_variant(
    base: str, target: WheelTarget, fetch: Callable[[str], str], tags: tuple[str, ...]
) -> Offered:
    names: list[str] = []
    read = 0
    for tag in tags:
        try:
            names.extend(wheel_names(fetch(f"{base}/{tag}/torch/")))
            read += 1
        except (OSError, ValueError):
            continue
    if not read:
        return from_table(target, f"{base} has neither /torch/ nor /<variant>/torch/ pages")
    return Offered("index", f"{base}/<variant>/torch/", offered_in(names, target))


# --- which index torch comes from ---------------------------------------------------------------

#: `--torch-index configured`: no index of torch's own; the installer's configured package
#: index (PIP_INDEX_URL, pip.conf, uv.toml) supplies torch like every other package
CONFIGURED = "configured"
#: the environment variable that names a mirror of the PyTorch index (as --torch-index does)
ENV_VAR = "CHATENV_TORCH_INDEX"


@dataclass(frozen=True)
class TorchIndex:
    """Where torch's wheels come from: the PyTorch index, a mirror of it (Artifactory, Nexus,
    devpi: any URL laid out as download.pytorch.org/whl is, `<base>/<variant>/torch/`), or the
    installer's own configured package index."""

    #: the base URL in place of https://download.pytorch.org/whl (None: the installer's
    #: configured index, `--torch-index configured`)
    base: str | None = DEFAULT_INDEX
    #: "default", "--torch-index" or "CHATENV_TORCH_INDEX"
    source: str = "default"

    @classmethod
    def chosen(cls, option: str | None, environ: Mapping[str, str]) -> TorchIndex:
        """The option, else the environment variable, else download.pytorch.org."""
        for given, source in ((option, "--torch-index"), (environ.get(ENV_VAR), ENV_VAR)):
            value = (given or "").strip()
            if not value:
                continue
            if value.lower() == CONFIGURED:
                return cls(None, source)
            if not value.startswith(("http://", "https://", "file://")):
                from chatenv.problems import problem

                raise problem("install.torch-index-not-a-url").error(value=value, source=source)
            return cls(value.rstrip("/"), source)
        return cls()

    @property
    def mirrored(self) -> bool:
        return self.base != DEFAULT_INDEX

    def url_for(self, url: str | None) -> str | None:
        """A download.pytorch.org variant URL (`.../whl/cu126`) as this index serves it."""
        if url is None or not url.startswith(DEFAULT_INDEX):
            return url
        if self.base is None:
            return None
        return self.base + url[len(DEFAULT_INDEX) :]

    def to_json(self) -> dict[str, Any]:
        return {"base": self.base, "source": self.source, "configured": self.base is None}
