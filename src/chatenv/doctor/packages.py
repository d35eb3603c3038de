"""The packages section: the chatenv stack against its pins, and broken requirements.

Versions come from installed metadata (`chatenv.installed.scan`), never from importing a package.

Decisions:
- A profile with none of its own packages installed is a warning with the `chatenv install`
  fix, not a failure: chatenv alone in a fresh virtualenv, then `chatenv doctor`, exits 0.
  A profile installed in part is a warning too (the missing packages are named).
- An installed package outside its pin is a failure: chatenv has not tested it, and the
  failures it causes (removed APIs, a torch with other CUDA builds) are hard to trace. One
  exception: a torch *newer* than the pins is a warning. The pins are the tested range (the
  torch CI installs), and `pip install torch` brings the newest release the day it is out;
  doctor checks it with its build table's facts (for a release newer than the table: the
  newest known release's facts for the same CUDA variant, `chatenv.torch_builds.build_facts`)
  and says so.
- Broken requirements are computed in-process the way `pip check` does
  (`chatenv.installed.broken_requirements`: requirements without markers or whose markers hold
  with no extra, prereleases allowed, first distribution of a name on the path wins). One
  difference: newer pip also reports wheels whose platform tags do not match this interpreter;
  that needs every WHEEL file read, and such a wheel cannot have been installed by pip on this
  machine in the first place. A broken requirement that touches the chatenv stack fails; one
  between unrelated packages warns.
- `chatenv install` verifies with these same functions (`install/verify.py`), passing the
  interpreter it installed into (`doctor/fixes.py`) so that every fix names it.
- With a project file (`ctx.project`), the project's requirements judge every package it
  declares (the project section reports them) and chatenv's pins judge the rest: chatenv's own
  base, and the packages of the profiles the project uses that it does not declare
  (`judged_by_chatenv`). A team on torch 2.7 gets no "outside chatenv's pin".
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from chatenv.doctor.fixes import HERE
from chatenv.install.pins import load_pins
from chatenv.installed import broken_requirements
from chatenv.pep440 import InvalidVersion, Version
from chatenv.problems import problem
from chatenv.records import dataclass, replace
from chatenv.results import CheckResult, Status

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence, Set

    from chatenv.doctor.context import Context
    from chatenv.doctor.fixes import FixTarget
    from chatenv.install.pins import Pin, Pins
    from chatenv.installed import BrokenRequirement, Installed
    from chatenv.project.file import Project

PROFILES = ("api", "local")

OPENAI_V0 = (
    "openai 1.0 removed the module-level v0 API: code such as "
    'openai.Completion.create(engine="text-davinci-002", prompt=...) raises APIRemovedInV1, '
    "and text-davinci-002 itself is retired. The v1 client is "
    "client = OpenAI(); client.chat.completions.create(model=..., messages=[...]); "
    "`openai migrate` rewrites old code."
)


def quote(requirement: str) -> str:
    """A requirement as one shell word: 'rich>=13.7', 'chatenv-cli[local]'."""
    return shlex.quote(requirement)


@dataclass(frozen=True)
class PinState:
    pin: Pin
    version: str | None  # None: not installed
    #: "ok", "missing", "outside" (installed outside the pin) or "invalid" (unparsable version)
    state: str

    def to_json(self) -> dict[str, str | None]:
        return {
            "name": self.pin.name,
            "version": self.version,
            "spec": str(self.pin.spec),
            "state": self.state,
        }


def pin_state(pin: Pin, installed: Installed) -> PinState:
    version = installed.version(pin.name)
    if version is None:
        return PinState(pin, None, "missing")
    inside = pin.allows(version)
    if inside is None:
        return PinState(pin, version, "invalid")
    return PinState(pin, version, "ok" if inside else "outside")


def _listing(states: list[PinState]) -> str:
    return ", ".join(f"{s.pin.name} {s.version}" for s in states if s.version is not None)


def check_profile(
    profile: str,
    pins: Pins,
    installed: Installed,
    *,
    required: bool = False,
    target: FixTarget = HERE,
) -> list[CheckResult]:
    """One line for the profile (installed, partly, or not at all), plus one failure for each
    package outside its pin.

    `required`: the profile was just installed (`chatenv install` verifying), so every one of
    its packages must be there, its share of chatenv's own ones included, and a missing one
    fails instead of warning."""
    states = [pin_state(p, installed) for p in pins.profile(profile).pins]
    own = (
        states
        if profile == "base"
        else [s for s in states if s.pin.name not in {p.name for p in pins.profile("base").pins}]
    )
    data = {"profile": profile, "packages": [s.to_json() for s in states]}
    results: list[CheckResult] = []
    label = "chatenv's own packages" if profile == "base" else f"{profile} profile"
    status = Status.FAIL if required else Status.WARN
    if profile != "base" and not own:  # a project file declares them all: the project judges them
        return [
            CheckResult.ok(
                f"packages.{profile}",
                f"{label}: the project file's requirements judge its packages",
                data=data,
            )
        ]
    missing = [s for s in (states if required else own) if s.state == "missing"]
    if profile != "base" and all(s.state == "missing" for s in own):
        results.append(
            problem("packages.profile-missing").check(
                status,
                f"packages.{profile}",
                details=[f"{s.pin.requirement}: not installed" for s in states],
                data=data,
                description=pins.profile(profile).description,
                profile=profile,
                python_option=target.option,
            )
        )
        return results
    if missing:
        details = [f"{s.pin.requirement}: {s.version or 'not installed'}" for s in states]
        names = ", ".join(s.pin.name for s in missing)
        if profile == "base":
            partial = problem("packages.base-partial").check(
                status,
                f"packages.{profile}",
                details=details,
                data=data,
                missing=names,
                python_command=target.command,
                requirements=_requirements(missing),
            )
        else:
            partial = problem("packages.profile-partial").check(
                status,
                f"packages.{profile}",
                details=details,
                data=data,
                missing=names,
                profile=profile,
                python_option=target.option,
            )
        results.append(partial)
    else:
        results.append(
            CheckResult.ok(
                f"packages.{profile}",
                f"{label}: {_listing(states)}",
                details=[f"{s.pin.requirement}: {s.version}" for s in states],
                data=data,
            )
        )
    for s in states:
        if s.state not in ("outside", "invalid"):
            continue
        if s.pin.name == "openai" and _is_v0(s.version):
            continue  # check_openai_v0 explains this one
        if s.pin.name == "torch" and s.version and s.pin.newer_than_tested(s.version):
            results.append(_torch_newer_than_tested(s))
            continue
        why = "is outside" if s.state == "outside" else "has a version packaging cannot read for"
        if profile == "base":
            outside = problem("packages.base-outside-pin").check(
                Status.FAIL,
                f"packages.pin.{s.pin.name}",
                data=s.to_json(),
                name=s.pin.name,
                version=s.version,
                why=why,
                spec=s.pin.spec,
                python_command=target.command,
                requirements=_requirements([s]),
            )
        else:
            outside = problem("packages.outside-pin").check(
                Status.FAIL,
                f"packages.pin.{s.pin.name}",
                data=s.to_json(),
                name=s.pin.name,
                version=s.version,
                why=why,
                spec=s.pin.spec,
                profile=profile,
                python_option=target.option,
            )
        results.append(outside)
    return results


def _torch_newer_than_tested(state: PinState) -> CheckResult:
    from chatenv import torch_builds

    version = state.version or ""
    series = torch_builds.release_series(version)
    if series in torch_builds.RELEASES:
        facts = f"its table's entry for torch {series}"
        if series in torch_builds.ASSUMED_ARCHES:
            facts += " (whose architecture lists are assumed)"
    else:
        facts = (
            f"the newest known release's (torch {torch_builds.newest_known()}) facts for the "
            "same CUDA variant"
        )
    return problem("packages.torch-newer-than-tested").check(
        Status.WARN,
        "packages.pin.torch",
        data={**state.to_json(), "state": "newer"},
        version=version,
        spec=state.pin.spec,
        facts=facts,
    )


def _requirements(states: list[PinState]) -> str:
    """The pins of `states` as shell words for a pip line: 'rich>=13.7' 'typer>=0.12'."""
    return " ".join(quote(s.pin.requirement) for s in states)


def _is_v0(version: str | None) -> bool:
    try:
        return version is not None and Version(version) < Version("1.0")
    except InvalidVersion:
        return False


def check_openai_v0(installed: Installed, *, target: FixTarget = HERE) -> CheckResult | None:
    version = installed.version("openai")
    if not _is_v0(version):
        return None
    return problem("packages.openai-v0").check(
        Status.FAIL,
        "packages.openai-v0",
        details=[OPENAI_V0],
        data={"version": version},
        version=version,
        python_option=target.option,
    )


def stack_names(pins: Pins) -> set[str]:
    names = {"chatenv", "chatenv-cli"}
    for profile in pins.profiles.values():
        names.update(p.name for p in profile.pins)
    return names


def check_requirements(
    broken: Sequence[BrokenRequirement],
    unparsable: Sequence[str],
    total: int,
    stack: Set[str],
    *,
    target: FixTarget = HERE,
) -> CheckResult:
    details = [b.describe() for b in broken] + [f"unparsable requirement: {u}" for u in unparsable]
    data = {
        "distributions": total,
        "broken": [b.to_json() for b in broken],
        "unparsable": list(unparsable),
    }
    if not broken:
        return CheckResult.ok(
            "packages.requirements",
            f"no broken requirements among {total} installed distributions",
            details=details,
            data=data,
        )
    touches_stack = any(b.names & stack for b in broken)
    first = broken[0].describe()
    more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
    wanted = " ".join(dict.fromkeys(quote(b.pip_requirement()) for b in broken))
    return problem("packages.broken-requirements").check(
        Status.FAIL if touches_stack else Status.WARN,
        "packages.requirements",
        details=details,
        data=data,
        count=f"{len(broken)} broken requirement{'s' if len(broken) != 1 else ''}",
        first=first,
        more=more,
        python_command=target.command,
        requirements=wanted,
    )


def check_shadowed(installed: Installed, *, target: FixTarget = HERE) -> CheckResult | None:
    """Two copies of one distribution: the one imported may not be the one pip upgrades."""
    if not installed.shadowed:
        return None
    lines = []
    for extra in installed.shadowed:
        first = installed.dists[extra.name]
        lines.append(
            f"{first.display_name} {first.version} ({first.location}) hides "
            f"{extra.version} ({extra.location})"
        )
    names = " ".join(dict.fromkeys(d.name for d in installed.shadowed))
    return problem("packages.duplicates").check(
        Status.WARN,
        "packages.duplicates",
        details=lines,
        data={"duplicates": lines},
        count=f"{len(lines)} distribution{'s are' if len(lines) != 1 else ' is'}",
        first=lines[0],
        python_command=target.command,
        names=names,
    )


def judged_by_chatenv(pins: Pins, project: Project) -> tuple[Pins, tuple[str, ...]]:
    """The pins and profiles doctor judges the machine by when a project file says what the
    project needs: chatenv's base always (chatenv itself needs it), and of the profiles the
    project uses, the packages it does not declare itself. The packages it declares are the
    project's to judge."""
    declared = {d.name for d in project.declarations.requirements if d.name}
    profiles = {
        name: profile
        if name == "base"
        else replace(profile, pins=tuple(p for p in profile.pins if p.name not in declared))
        for name, profile in pins.profiles.items()
    }
    used = [p for name in project.profiles for p in (PROFILES if name == "all" else (name,))]
    return replace(pins, profiles=profiles), tuple(dict.fromkeys(used))


def check_packages(
    installed: Installed,
    pins: Pins,
    progress: Callable[[int], None] | None = None,
    *,
    profiles: Sequence[str] = PROFILES,
    also_stack: Set[str] = frozenset(),
) -> list[CheckResult]:
    results: list[CheckResult] = []
    for profile in ("base", *profiles):
        results.extend(check_profile(profile, pins, installed))
    v0 = check_openai_v0(installed) if "openai" in stack_names(pins) else None
    if v0:
        results.append(v0)
    found = broken_requirements(installed, progress=progress)
    stack = stack_names(pins) | set(also_stack)
    results.append(check_requirements(found.broken, found.unparsable, len(installed.dists), stack))
    shadowed = check_shadowed(installed)
    if shadowed:
        results.append(shadowed)
    return results


def collect(ctx: Context) -> list[CheckResult]:
    pins, profiles = load_pins(), tuple(PROFILES)
    project = ctx.project.project
    declared: set[str] = set()
    if project is not None:
        pins, profiles = judged_by_chatenv(pins, project)
        declared = {d.name for d in project.declarations.requirements if d.name}
    return check_packages(
        ctx.installed,
        pins,
        lambda n: ctx.step(f"checked the requirements of {n} distributions"),
        profiles=profiles,
        also_stack=declared,
    )
