"""Reading chatenv's pins (pins.toml beside this file): profiles of packages and version ranges."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from chatenv.names import canonicalize_name
from chatenv.problems import problem
from chatenv.records import dataclass

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

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
    raw = tomllib.loads(Path(__file__).with_name("pins.toml").read_text(encoding="utf-8"))
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
