"""How far chatenv's torch knowledge lags behind the indexes (run by scripts/torch_lag.py).

Three things can fall behind: the pins (pins.toml: the tested range), the build table
(`chatenv.torch_builds`: releases, variants, architectures) and, per platform, the variants the
table says exist against the wheels the PyTorch index lists. `lag()` compares them and returns
one line per thing to do; none when they agree.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from chatenv import torch_builds as tb
from chatenv.install import torch_index
from chatenv.install.pins import load_pins
from chatenv.records import dataclass, field
from chatenv.system.seams import http_get

if TYPE_CHECKING:
    from collections.abc import Callable

PYPI_JSON = "https://pypi.org/pypi/torch/json"

#: the platforms chatenv installs CUDA torch on, checked with one Python each
TARGETS = (
    torch_index.WheelTarget("linux", "x86_64", "3.12.0"),
    torch_index.WheelTarget("linux", "aarch64", "3.12.0"),
    torch_index.WheelTarget("win32", "AMD64", "3.12.0"),
)


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    #: what to do: empty when the table and pins agree with the indexes
    todo: list[str] = field(default_factory=list)
    #: an index that could not be read
    unreadable: list[str] = field(default_factory=list)


def newest_on_pypi(page: str) -> Version | None:
    """The newest final release in PyPI's JSON API answer for torch (yanked files skipped)."""
    data = json.loads(page)
    versions = []
    for text, files in data.get("releases", {}).items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if version.is_prerelease or (files and all(f.get("yanked") for f in files)):
            continue
        versions.append(version)
    return max(versions, default=None)


def _series(version: Version) -> str:
    return f"{version.major}.{version.minor}"


def _pins_line(report: Report, newest: Version) -> None:
    pin = next(p for p in load_pins().profile("local").pins if p.name == "torch")
    allowed = tb.newest_series(pin.spec)
    report.lines.append(f"pins: torch{pin.spec} (newest release allowed: {allowed})")
    if not pin.allows(f"{_series(newest)}.0"):
        report.todo.append(
            f"pins: torch {newest} is out, the pins ({pin.spec}) stop at {allowed}; raise the "
            "cap once CI tests it and its facts are in the table (README, 'Adding a PyTorch "
            "release')"
        )


def _table_line(report: Report, newest: Version) -> None:
    known = tb.newest_known()
    assumed = sorted(tb.ASSUMED_ARCHES, key=tb.series_key)
    note = f"; arch lists assumed for {', '.join(assumed)}" if assumed else ""
    report.lines.append(f"table: torch {tb.known_series()[-1]} .. {known}{note}")
    if tb.series_key(_series(newest)) > tb.series_key(known):
        report.todo.append(
            f"table: torch {_series(newest)} is out, the table ends at {known}; add it to "
            "RELEASES in src/chatenv/torch_builds.py"
        )
    for series in assumed:
        report.todo.append(
            f"table: torch {series}'s arch lists are assumed; replace them with the release's "
            "TORCH_CUDA_ARCH_LIST once published, and drop it from ASSUMED_ARCHES"
        )


def _variants_lines(
    report: Report,
    offered: torch_index.Offered,
    target: torch_index.WheelTarget,
    releases: list[str],
) -> None:
    """Per release the index lists (for any platform): variants missing on either side."""
    where = f"{target.describe} cp{target.python_tag[2:]}"
    agree = []
    for series in releases:
        if series not in tb.RELEASES and not tb.newer_than_table(series):
            continue  # older than the table: out of scope
        index = set(offered.variants(series))
        table = set(tb.cuda_wheels(series, target.platform, target.machine))
        if index == table:
            agree.append(series)
            continue
        if index - table:
            report.todo.append(
                f"{where}: torch {series} has {', '.join(sorted(index - table))} on the index, "
                "not in the table"
            )
        if table - index:
            report.todo.append(
                f"{where}: the table lists {', '.join(sorted(table - index))} for torch {series}, "
                "the index has no such wheel"
            )
    report.lines.append(f"{where}: table and index agree for {', '.join(agree) or 'no release'}")


def lag(
    fetch: Callable[[str], str] = http_get,
    *,
    pypi: str = PYPI_JSON,
    index: str = torch_index.DEFAULT_INDEX,
) -> Report:
    report = Report()
    try:
        newest = newest_on_pypi(fetch(pypi))
    except (OSError, ValueError) as exc:
        report.unreadable.append(f"{pypi}: {exc}")
        newest = None
    if newest is not None:
        report.lines.append(f"torch on PyPI: {newest}")
        _pins_line(report, newest)
        _table_line(report, newest)
    read = []
    for target in TARGETS:
        offered = torch_index.read_offered(index, target, fetch)
        if offered.source != "index":
            report.unreadable.append(offered.note or index)
            continue
        read.append((target, offered))
    releases = sorted(
        {s for _, offered in read for s in offered.series()}, key=tb.series_key, reverse=True
    )
    for target, offered in read:
        _variants_lines(report, offered, target, releases)
    return report


def render(report: Report) -> str:
    out = list(report.lines)
    out.extend(f"could not read: {u}" for u in dict.fromkeys(report.unreadable))
    if report.todo:
        out.append(f"{len(report.todo)} thing(s) to do:")
        out.extend(f"  - {t}" for t in report.todo)
    elif not report.unreadable:
        out.append("nothing to do: the table and the pins agree with the indexes")
    return "\n".join(out)


def exit_code(report: Report) -> int:
    """0: nothing to do; 1: something lags; 2: an index could not be read."""
    if report.todo:
        return 1
    return 2 if report.unreadable else 0
