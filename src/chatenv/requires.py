"""Requires-Dist lines, read and evaluated without packaging's requirement and marker parser.

doctor reads every installed distribution's requirements (`pip check`'s walk, the extension
and library checks). packaging's `Requirement` parser pulls in its tokenizer, and through it
`dataclasses`, `inspect`, `ast` and `dis`: 30-40 ms of a ~0.15 s doctor run on the 2-core
machine, for ~100 lines that are nearly all `name[extras]>=1,<2; python_version < "3.11"`.

`read` parses that common shape with one regular expression and `applies` evaluates the usual
markers (`var op "literal"` joined by `and`/`or`, with parentheses) with packaging's own
`Specifier` for the comparison, as packaging's marker evaluation does. Anything else (a URL
requirement, a legacy marker name, an odd spacing the pattern does not take) goes to packaging
unchanged, so the answer is always packaging's: tests/test_requires.py checks both readers on
every requirement line of the environment and on generated lines and markers.
"""

from __future__ import annotations

import os
import re
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chatenv.names import canonicalize_name
from chatenv.pep440 import InvalidSpecifier, InvalidVersion, Specifier, SpecifierSet, Version
from chatenv.records import dataclass
from chatenv.system import uname

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from packaging.requirements import Requirement

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_LINE = re.compile(
    rf"""\s*(?P<name>{_NAME})\s*
    (?:\[(?P<extras>[^\]]*)\])?\s*
    (?P<spec>\(\s*[^();@]*\)|[^();@]*?)\s*
    (?:;\s*(?P<marker>[^;]*?))?\s*""",
    re.VERBOSE,
)
_EXTRA = re.compile(rf"\s*({_NAME})\s*")
_TOKEN = re.compile(
    r"""\s*(?:(?P<open>\()|(?P<close>\))|(?P<string>'[^']*'|"[^"]*")
    |(?P<op>===|==|!=|<=|>=|~=|<|>|not\s+in\b|in\b)|(?P<word>and\b|or\b)
    |(?P<var>[a-z_]+))""",
    re.VERBOSE,
)
#: the markers compared as versions (packaging.markers.MARKERS_REQUIRING_VERSION)
_VERSIONS = frozenset(
    {"implementation_version", "platform_release", "python_full_version", "python_version"}
)
_VARIABLES = frozenset(
    {
        "implementation_name",
        "implementation_version",
        "os_name",
        "platform_machine",
        "platform_release",
        "platform_system",
        "platform_version",
        "python_full_version",
        "platform_python_implementation",
        "python_version",
        "sys_platform",
        "extra",
    }
)


@dataclass(frozen=True)
class Required:
    """One requirement line: what the walk needs of it."""

    line: str
    #: as written (packaging's `Requirement.name`)
    name: str
    extras: frozenset[str]
    specifier: SpecifierSet
    #: the marker's text, None without one
    marker: str | None

    def applies(self, extras: frozenset[str], environment: Mapping[str, str] | None) -> bool:
        """Whether the marker holds for any of these extras (none: for no extra) in that
        environment (None: this interpreter's). A marker that cannot be evaluated holds."""
        if self.marker is None:
            return True
        return marker_holds(self.marker, extras, environment)

    def requirement(self) -> Requirement | None:
        """packaging's own object for the line (a broken requirement keeps it, to word it);
        None if packaging refuses a line read here (tests/test_requires.py finds none)."""
        from packaging.requirements import InvalidRequirement, Requirement

        try:
            return Requirement(self.line)
        except InvalidRequirement:
            return None


@lru_cache(maxsize=4096)
def read(line: str) -> Required | None:
    """The requirement on one line; None when it is not a valid requirement."""
    found = _LINE.fullmatch(line)
    if found is not None and "@" not in line.partition(";")[0]:
        extras = _extras(found["extras"])
        spec = found["spec"].strip()
        if spec.startswith("("):
            spec = spec[1:-1]
        marker = found["marker"]
        readable = marker is None or _parse(marker) is not None
        if extras is not None and (not spec or spec[0] in "<>=!~") and readable:
            try:
                specifier = SpecifierSet(spec)
            except InvalidSpecifier:
                pass
            else:
                return Required(line, found["name"], extras, specifier, marker)
    return _read_slowly(line)


def _extras(text: str | None) -> frozenset[str] | None:
    if text is None:
        return frozenset()
    if not text.strip():
        return None
    parts = [_EXTRA.fullmatch(part) for part in text.split(",")]
    return None if None in parts else frozenset(p[1] for p in parts if p is not None)


def _read_slowly(line: str) -> Required | None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(line)
    except InvalidRequirement:
        return None
    marker = str(req.marker) if req.marker is not None else None
    try:  # the same range, as chatenv.pep440 reads it (what the fast path hands out too)
        specifier = SpecifierSet(str(req.specifier))
    except InvalidSpecifier:
        return None
    return Required(line, req.name, frozenset(req.extras), specifier, marker)


def marker_holds(
    marker: str, extras: frozenset[str], environment: Mapping[str, str] | None
) -> bool:
    base = {**default_environment(), **(environment or {})}
    try:
        for extra in extras or {""}:
            held = _evaluate(marker, {**base, "extra": extra})
            if held is None:
                from packaging.markers import Marker

                held = Marker(marker).evaluate({**(environment or {}), "extra": extra})
            if held:
                return True
    except Exception:  # packaging cannot evaluate it either: count it, as the walk promises
        return True
    return False


@lru_cache(maxsize=1)
def default_environment() -> dict[str, str]:
    """packaging.markers.default_environment(), computed the same way."""
    info = sys.implementation.version
    version = f"{info.major}.{info.minor}.{info.micro}"
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": version,
        "os_name": os.name,
        "platform_machine": uname.machine(),
        "platform_release": uname.release(),
        "platform_system": uname.system(),
        "platform_version": uname.version(),
        "python_full_version": uname.python_version(),
        "platform_python_implementation": uname.python_implementation(),
        "python_version": ".".join(uname.python_version().split(".")[:2]),
        "sys_platform": sys.platform,
    }


#: a parsed marker: ("or" | "and", [trees]) or ("compare", key, op, literal, var_on_left)
Tree = tuple[Any, ...]


def _evaluate(marker: str, environment: Mapping[str, str]) -> bool | None:
    """The marker's value, or None when it is not of the shape read here."""
    tree = _parse(marker)
    if tree is None:
        return None
    return _value(tree, environment)


@lru_cache(maxsize=1024)
def _parse(marker: str) -> Tree | None:
    """The marker as a tree, or None when it is not of the shape read here (then packaging
    reads it, and decides whether it is valid at all)."""
    tokens = _tokens(marker)
    if not tokens:
        return None
    position = 0

    def joined(word: str, part: Callable[[], Tree | None]) -> Tree | None:
        nonlocal position
        first = part()
        parts = [first]
        while first is not None and position < len(tokens) and tokens[position] == ("word", word):
            position += 1
            parts.append(part())
        if None in parts:
            return None
        return parts[0] if len(parts) == 1 else (word, tuple(parts))

    def expression() -> Tree | None:
        return joined("or", conjunction)

    def conjunction() -> Tree | None:
        return joined("and", atom)

    def atom() -> Tree | None:
        nonlocal position
        if position < len(tokens) and tokens[position][0] == "open":
            position += 1
            inner = expression()
            if inner is None or position >= len(tokens) or tokens[position][0] != "close":
                return None
            position += 1
            return inner
        if position + 3 > len(tokens):
            return None
        left, op, right = tokens[position : position + 3]
        position += 3
        if op[0] != "op":
            return None
        if left[0] == "var" and right[0] == "string":
            key, literal, var_left = left[1], right[1][1:-1], True
        elif left[0] == "string" and right[0] == "var":
            key, literal, var_left = right[1], left[1][1:-1], False
        else:
            return None
        if key not in _VARIABLES:
            return None
        return ("compare", key, " ".join(op[1].split()), literal, var_left)

    tree = expression()
    return tree if tree is not None and position == len(tokens) else None


def _value(tree: Tree, environment: Mapping[str, str]) -> bool | None:
    if tree[0] in ("or", "and"):
        values = [_value(part, environment) for part in tree[1]]
        if None in values:
            return None
        return any(values) if tree[0] == "or" else all(values)
    _, key, op, literal, var_left = tree
    if key not in environment:
        return None
    value = environment[key]
    lhs, rhs = (value, literal) if var_left else (literal, value)
    return _compare(key, lhs, op, rhs)


def _tokens(marker: str) -> list[tuple[str, str]] | None:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = marker.rstrip()
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None or found.end() == position:
            return None
        kind = found.lastgroup or ""
        tokens.append((kind, found[kind]))
        position = found.end()
    return tokens


def _compare(key: str, lhs: str, op: str, rhs: str) -> bool | None:
    if key == "extra":
        lhs, rhs = canonicalize_name(lhs), canonicalize_name(rhs)
    if op in ("in", "not in"):
        return (lhs in rhs) == (op == "in")
    try:
        spec = Specifier(f"{op}{rhs}")
    except InvalidSpecifier:
        if op == "==":
            return lhs == rhs
        if op == "!=":
            return lhs != rhs
        return None
    if key not in _VERSIONS:  # packaging's releases differ here (a version or a string?)
        return None
    try:
        Version(lhs)
    except InvalidVersion:
        return None
    return spec.contains(lhs, prereleases=True)
