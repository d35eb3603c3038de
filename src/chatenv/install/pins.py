"""Reading chatenv's pins (pins.toml beside this file): profiles of packages and version ranges."""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from chatenv.names import canonicalize_name
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
    lines = text.split("\n")
    for number, raw in enumerate(lines, 1):
        crlf = raw.endswith("\r") and number < len(lines)  # a lone CR is no line break
        line = (raw[:-1] if crlf else raw).strip(" \t")  # TOML's whitespace, nothing else
        if not line or line.startswith("#"):
            continue
        header = _TABLE.fullmatch(line)
        if header is not None:
            if header[1] in tables:
                return _tomllib(text)
            tables.add(header[1])
            table = root
            for part in header[1].split("."):
                table = table.setdefault(part, {})
                if not isinstance(table, dict):
                    return _tomllib(text)
            continue
        pair = _PAIR.fullmatch(line)
        value = _value(pair[2]) if pair is not None else None
        if pair is None or value is None or pair[1] in table:
            return _tomllib(text)
        table[pair[1]] = value
    return root


def _value(text: str) -> object:
    """A basic string, an inline table of basic strings or an array of them; None for any
    other value (then tomllib reads the file)."""
    if _STRING.fullmatch(text):
        return text[1:-1]
    if _INLINE_TABLE.fullmatch(text):
        found: dict[str, str] = {}
        for key, value in _INLINE_PAIR.findall(text):
            if key in found:
                return None
            found[key] = value
        return found
    if _ARRAY.fullmatch(text):
        return _ARRAY_ITEM.findall(text)
    return None


def _tomllib(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    parsed: dict[str, Any] = tomllib.loads(text)
    return parsed


_KEY = r"[A-Za-z0-9_-]+"
#: a basic string without escapes (or anything TOML forbids in one: control characters)
_STR = r'"[^"\\\x00-\x1f\x7f]*"'
_TABLE = re.compile(rf"\[({_KEY}(?:\.{_KEY})*)\]")
_PAIR = re.compile(rf"({_KEY}) *= *(.+)")
_STRING = re.compile(_STR)
_INLINE_PAIR = re.compile(rf"({_KEY}) *= *\"([^\"]*)\"")
_INLINE_TABLE = re.compile(rf"\{{ *(?:{_KEY} *= *{_STR}(?: *, *{_KEY} *= *{_STR})*)? *\}}")
_ARRAY_ITEM = re.compile(r'"([^"]*)"')
_ARRAY = re.compile(rf"\[ *(?:{_STR}(?: *, *{_STR})* *,?)? *\]")
