"""Which line of a TOML file a key (or an array's element) is written on, so a finding about the
project file can point at it: `pyproject.toml:14` in the text report, `file=…,line=14` in a
GitHub annotation.

`tomllib` gives values, not positions, so this reads the text once, line by line: table headers
(`[a.b]`, `[[a.b]]`, counted per array of tables), `key = value` lines (dotted and quoted keys
too), the elements of an array value (one line each when it spans lines), and the keys of an
inline table. It is not a TOML parser: it only has to agree with one on where the keys are in
files `tomllib` has already accepted. A path it cannot place falls back to the nearest enclosing
key or table it has seen (`line_of`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

#: a key path: table and key names, and the index of an array element or of an array table
KeyPath = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=\s*(.*)$"""
)
_PART = re.compile(r"""[A-Za-z0-9_-]+|"([^"]*)"|'([^']*)'""")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')
_INLINE_KEY = re.compile(r"""[{,]\s*([A-Za-z0-9_-]+|"[^"]*"|'[^']*')\s*=""")


def _parts(dotted: str) -> tuple[str, ...]:
    found = []
    for match in _PART.finditer(dotted):
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        found.append(quoted if quoted is not None else match.group(0))
    return tuple(found)


def _strip_strings(text: str) -> str:
    """The line with its string literals emptied, so brackets inside strings do not count."""
    return _STRING.sub('""', text)


def _without_comment(text: str) -> str:
    bare = _strip_strings(text)
    cut = bare.find("#")
    return bare if cut < 0 else bare[:cut]


def key_lines(text: str) -> dict[KeyPath, int]:
    """Every key path the text writes, with its 1-based line (the first line for a path written
    more than once, as TOML allows only for array tables)."""
    found: dict[KeyPath, int] = {}
    counts: dict[KeyPath, int] = {}
    current: KeyPath = ()
    array: KeyPath | None = None  # inside a multi-line array value: its key path
    depth = index = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if array is not None:
            for _ in _STRING.finditer(line):
                found.setdefault((*array, index), number)
                index += 1
            depth += _without_comment(line).count("[") - _without_comment(line).count("]")
            if depth <= 0:
                array = None
            continue
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            names = _parts(header.group(2))
            for end in range(1, len(names)):  # the tables a header implies
                found.setdefault(_within_arrays(names[:end], counts), number)
            if header.group(1) == "[[":
                found.setdefault(_within_arrays(names, counts), number)
                position = counts.get(names, 0)
                counts[names] = position + 1
                current = (*names, position)
            else:
                current = _within_arrays(names, counts)
            found.setdefault(current, number)
            continue
        key = _KEY.match(line)
        if not key:
            continue
        parts = _parts(key.group(1))
        for end in range(1, len(parts) + 1):  # a dotted key writes each table on its way
            found.setdefault((*current, *parts[:end]), number)
        path: KeyPath = (*current, *parts)
        value = key.group(2)
        bare = _without_comment(value)
        if bare.lstrip().startswith("["):
            elements = list(_STRING.finditer(value))
            for position, _ in enumerate(elements):
                found.setdefault((*path, position), number)
            depth = bare.count("[") - bare.count("]")
            if depth > 0:
                array, index = path, len(elements)
        elif bare.lstrip().startswith("{"):
            for match in _INLINE_KEY.finditer(value):
                found.setdefault((*path, *_parts(match.group(1))), number)
    return found


def _within_arrays(path: tuple[str, ...], counts: Mapping[KeyPath, int]) -> KeyPath:
    """`[a.b.c]` after `[[a.b]]` is a table inside the last element of the array a.b."""
    out: list[str | int] = []
    for i, part in enumerate(path):
        out.append(part)
        prefix = tuple(path[: i + 1])
        if prefix in counts and i < len(path) - 1:
            out.append(counts[prefix] - 1)
    return tuple(out)


def line_of(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    """The line of `path`, or of the nearest enclosing key or table written in the file."""
    for end in range(len(path), 0, -1):
        found = lines.get(path[:end])
        if found is not None:
            return found
    return None
