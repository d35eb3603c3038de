"""Reading chatenv's pins (pins.toml beside this file): profiles of packages and version ranges."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv.names import canonicalize_name
from chatenv.pep440 import InvalidVersion, SpecifierSet, Version
from chatenv.problems import problem
from chatenv.records import dataclass

if TYPE_CHECKING:
    from typing import Any

#: profiles a user can name on the command line (base comes with chatenv itself)
USER_PROFILES = ("api", "local", "all")


@dataclass(frozen=True)
class Pin:
    name: str  # canonical distribution name, e.g. "python-dotenv"
    spec: SpecifierSet

    @property
    def requirement(self) -> str:
        return f"{self.name}{self.spec}"

    def allows(self, version: str) -> bool | None:
        """Is an installed `version` inside the pin? Prereleases count (as in pip check); None
        when packaging cannot read the version. doctor and install both judge pins by this."""
        try:
            return self.spec.contains(Version(version), prereleases=True)
        except InvalidVersion:
            return None

    def newer_than_tested(self, version: str) -> bool:
        """Above the pin's upper bound (the newest release chatenv tested) and inside the rest
        of it: torch 2.15.0 against >=2.4,<2.15. Such a release is a warning, not a failure."""
        try:
            v = Version(version)
        except InvalidVersion:
            return False
        upper = [s for s in self.spec if s.operator in ("<", "<=")]
        rest = [s for s in self.spec if s.operator not in ("<", "<=")]
        return (
            bool(upper)
            and not all(s.contains(v, prereleases=True) for s in upper)
            and all(s.contains(v, prereleases=True) for s in rest)
        )


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    pins: tuple[Pin, ...]


@dataclass(frozen=True)
class Pins:
    profiles: dict[str, Profile]

    def profile(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except KeyError:
            from chatenv.problems.invocation import did_you_mean

            known = ", ".join(USER_PROFILES)
            hint, retyped = did_you_mean(name, USER_PROFILES, "all", "chatenv install {choice}")
            raise problem("install.unknown-profile").error(
                name=name,
                known=known,
                hint=hint,
                retyped=retyped,
            ) from None

    def pins_for(self, names: list[str] | tuple[str, ...]) -> tuple[Pin, ...]:
        """The pins of several profiles, each package once, in a stable order."""
        seen: dict[str, Pin] = {}
        for name in names:
            for pin in self.profile(name).pins:
                seen.setdefault(pin.name, pin)
        return tuple(seen.values())

    def profile_of(self, package: str) -> str:
        """The user profile that installs a package ("api" or "local"), for fix lines."""
        wanted = canonicalize_name(package)
        for name in ("api", "local"):
            if any(p.name == wanted for p in self.profiles[name].pins):
                return name
        return "all"


@functools.cache
def load_pins() -> Pins:
    # a plain file read: importlib.resources (and the zipfile support it imports) costs ~3 ms of
    # every doctor run, and pip never installs chatenv zipped
    raw = read_toml(Path(__file__).with_name("pins.toml").read_text(encoding="utf-8"))
    sections = raw["profiles"]
    profiles: dict[str, Profile] = {}
    for name, section in sections.items():
        pins = [
            Pin(canonicalize_name(pkg), SpecifierSet(spec))
            for pkg, spec in section.get("packages", {}).items()
        ]
        for included in section.get("includes", []):
            pins.extend(
                Pin(canonicalize_name(pkg), SpecifierSet(spec))
                for pkg, spec in sections[included]["packages"].items()
            )
        unique = {p.name: p for p in pins}
        profiles[name] = Profile(name, section["description"], tuple(unique.values()))
    return Pins(profiles)


def read_toml(text: str) -> dict[str, Any]:
    """pins.toml, parsed. Its lines are of four kinds (`[profiles.api]`, `key = "text"`,
    `key = { name = "range", ... }`, `key = ["name", ...]`, besides comments): read line by
    line, those cost nothing, where `tomllib` (with the `datetime` and `typing` it imports and
    the expressions it compiles) is ~3 ms of every doctor run. A file with any other line goes
    to tomllib. tests/install/test_pins.py holds the two readings equal."""
    root: dict[str, Any] = {}
    table = root
    tables: set[str] = set()
    inline: set[int] = set()  # the inline tables: a [header] may not add to one
    lines = text.split("\n")
    for number, raw in enumerate(lines, 1):
        crlf = raw.endswith("\r") and number < len(lines)  # a lone CR is no line break
        line = (raw[:-1] if crlf else raw).strip(" \t")  # TOML's whitespace, nothing else
        if not line or (line.startswith("#") and _CONTROL.isdisjoint(line)):
            continue
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1]
            if name in tables or not all(_key(part) for part in name.split(".")):
                return _tomllib(text)
            tables.add(name)
            table = root
            for part in name.split("."):
                table = table.setdefault(part, {})
                if not isinstance(table, dict) or id(table) in inline:  # no table to extend
                    return _tomllib(text)
            continue
        key, equals, rest = line.partition("=")
        key = key.rstrip(" ")
        value = _value(rest.lstrip(" ")) if equals and _key(key) else None
        if value is None or key in table:
            return _tomllib(text)
        table[key] = value
        if isinstance(value, dict):
            inline.add(id(value))
    return root


_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
#: what TOML allows in no string or comment: control characters other than tab
_CONTROL = frozenset([*map(chr, range(9)), *map(chr, range(10, 32)), "\x7f"])


def _key(text: str) -> bool:
    """A bare key: letters, digits, `_` and `-`."""
    return bool(text) and _KEY_CHARS.issuperset(text)


def _value(text: str) -> object:
    """A basic string, an inline table of basic strings or an array of them; None for any
    other value (then tomllib reads the file)."""
    if text.startswith('"'):
        found = _string(text, 0)
        return found[0] if found is not None and found[1] == len(text) else None
    if text.startswith("{"):
        table: dict[str, str] = {}
        at = _skip(text, 1)
        if text[at : at + 1] == "}":
            return table if at + 1 == len(text) else None
        while True:
            end = at
            while end < len(text) and text[end] in _KEY_CHARS:
                end += 1
            key, at = text[at:end], _skip(text, end)
            if not key or key in table or text[at : at + 1] != "=":
                return None
            found = _string(text, _skip(text, at + 1))
            if found is None:
                return None
            table[key], at = found[0], _skip(text, found[1])
            if text[at : at + 1] == "}":
                return table if at + 1 == len(text) else None
            if text[at : at + 1] != ",":
                return None
            at = _skip(text, at + 1)
    if text.startswith("["):
        items: list[str] = []
        at = _skip(text, 1)
        while text[at : at + 1] == '"':
            found = _string(text, at)
            if found is None:
                return None
            items.append(found[0])
            at = _skip(text, found[1])
            if text[at : at + 1] != ",":
                break
            at = _skip(text, at + 1)
        return items if text[at:] == "]" else None
    return None


def _string(text: str, at: int) -> tuple[str, int] | None:
    """The basic string (no escapes) that starts at `at`: its value and the index after it."""
    if text[at : at + 1] != '"':
        return None
    end = text.find('"', at + 1)
    inner = text[at + 1 : end]
    if end < 0 or "\\" in inner or not _CONTROL.isdisjoint(inner):
        return None
    return inner, end + 1


def _skip(text: str, at: int) -> int:
    while text[at : at + 1] == " ":
        at += 1
    return at


def _tomllib(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    parsed: dict[str, Any] = tomllib.loads(text)
    return parsed
