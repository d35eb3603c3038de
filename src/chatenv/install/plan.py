"""The plan: what is installed, what will change and why. Pure functions of observations.

`decide_torch` and `plan_steps` say which installer runs are needed at all; when none is, the
install is a no-op and no resolver runs. `changes` turns the installers' dry-run answers into
install / upgrade / downgrade / replace / keep rows.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

from chatenv.install.installer import Step
from chatenv.install.variant import judge_installed
from chatenv.names import canonicalize_name
from chatenv.records import dataclass, field, replace

if TYPE_CHECKING:
    from chatenv.install.installer import Installer
    from chatenv.install.pins import Pin
    from chatenv.install.resolve import Resolution, Resolved
    from chatenv.install.target import Interpreter
    from chatenv.install.variant import Machine, TorchChoice
    from chatenv.installed import BrokenRequirement, Installed, TorchBuild
    from chatenv.pep440 import SpecifierSet


class Action(str, Enum):
    INSTALL = "install"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    REPLACE = "replace"  # same version, another build (torch cpu -> cu130)
    REMOVE = "remove"
    KEEP = "keep"


@dataclass(frozen=True)
class PinStatus:
    pin: Pin
    installed: str | None

    @property
    def satisfied(self) -> bool:
        return self.installed is not None and bool(self.pin.allows(self.installed))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.pin.name,
            "spec": str(self.pin.spec),
            "installed": self.installed,
            "satisfied": self.satisfied,
        }


@dataclass(frozen=True)
class TorchPlan:
    choice: TorchChoice
    installed: TorchBuild | None
    keep: bool
    reason: str
    requirement: str | None = None  # what the torch step asks for when torch changes

    def to_json(self) -> dict[str, Any]:
        return {
            "choice": self.choice.to_json(),
            "installed": self.installed.to_json() if self.installed else None,
            "keep": self.keep,
            "reason": self.reason,
            "requirement": self.requirement,
        }


@dataclass(frozen=True)
class Change:
    name: str
    action: Action
    installed: str | None
    target: str | None
    pinned: bool
    spec: str | None = None
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "action": self.action.value,
            "installed": self.installed,
            "target": self.target,
            "pinned": self.pinned,
            "spec": self.spec,
            "source": self.source,
        }


@dataclass(frozen=True)
class Plan:
    profiles: tuple[str, ...]
    python: Interpreter
    installer: Installer | None
    pins: tuple[PinStatus, ...]
    torch: TorchPlan | None
    dependency_problems: tuple[BrokenRequirement, ...]
    steps: tuple[Step, ...]
    upgrade: bool
    resolutions: tuple[Resolution, ...] = ()
    changes: tuple[Change, ...] = ()
    notes: tuple[str, ...] = field(default=())
    #: what the installer's configured package index would give for the torch step, asked
    #: when torch's own index (or its mirror) did not answer
    configured_torch: Resolution | None = None

    @property
    def nothing_to_do(self) -> bool:
        return not self.steps or (
            all(r.ok for r in self.resolutions)
            and len(self.resolutions) == len(self.steps)
            and all(c.action is Action.KEEP for c in self.changes)
        )

    @property
    def failed_resolution(self) -> Resolution | None:
        return next((r for r in self.resolutions if not r.ok), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "profiles": list(self.profiles),
            "python": self.python.to_json(),
            "installer": self.installer.to_json() if self.installer else None,
            "nothing_to_do": self.nothing_to_do,
            "upgrade": self.upgrade,
            "torch": self.torch.to_json() if self.torch else None,
            "packages": [c.to_json() for c in self.changes],
            "pins": [p.to_json() for p in self.pins],
            "dependency_problems": [p.describe() for p in self.dependency_problems],
            "steps": [s.to_json() for s in self.steps],
            "resolutions": [r.to_json() for r in self.resolutions],
            "notes": list(self.notes),
        }


def pin_statuses(pins: tuple[Pin, ...], installed: Installed) -> tuple[PinStatus, ...]:
    return tuple(PinStatus(p, installed.version(p.name)) for p in pins)


def torch_requirement(spec: SpecifierSet, series: str, exclude: str | None = None) -> str:
    """`torch` limited to one release (the one the variant was chosen for) within the pins; an
    installed build of the wrong variant is excluded so the resolver cannot settle for it."""
    parts = [*sorted(str(s) for s in spec), f"=={series}.*"]
    if exclude:
        parts.append(f"!={exclude}")
    return "torch" + ",".join(dict.fromkeys(parts))


def decide_torch(
    pin: Pin,
    installed: Installed,
    request: str,
    machine: Machine,
    choice: TorchChoice,
    *,
    upgrade: bool,
) -> TorchPlan:
    """Keep the installed torch when it satisfies the pin and its build fits (see
    `judge_installed`); otherwise install the chosen build from `choice.series`."""
    build = installed.torch
    version = installed.version("torch")
    if build is not None and version is not None and pin.allows(version):
        verdict = judge_installed(request, build.variant, build.series, machine)
        if verdict.keep and not upgrade:
            return TorchPlan(choice, build, True, verdict.reason)
        if verdict.keep:
            # --upgrade: the newest release and the chosen variant, replacing a build that
            # differs from the choice (a same-variant build only moves to a newer version).
            exclude = version if build.variant != choice.variant else None
            reason = f"{verdict.reason}; --upgrade moves to the newest torch {choice.series}"
            return TorchPlan(
                choice, build, False, reason, torch_requirement(pin.spec, choice.series, exclude)
            )
        return TorchPlan(
            choice,
            build,
            False,
            verdict.reason,
            torch_requirement(pin.spec, choice.series, version),
        )
    if version is None:
        reason = "torch is not installed"
    elif pin.newer_than_tested(version):
        reason = (
            f"torch {version} is newer than chatenv's tested range ({pin.spec}); install puts "
            f"the newest tested release, torch {choice.series}, in its place"
        )
    else:
        reason = f"torch {version} is installed, the pins want {pin.spec}"
    return TorchPlan(choice, build, False, reason, torch_requirement(pin.spec, choice.series))


def plan_steps(
    statuses: tuple[PinStatus, ...],
    torch: TorchPlan | None,
    problems: tuple[BrokenRequirement, ...],
    installed: Installed,
    *,
    upgrade: bool,
    also: tuple[str, ...] = (),
    also_met: bool = True,
) -> tuple[Step, ...]:
    """The installer runs needed: none when every pin is satisfied, the dependencies are
    complete and the torch build is the right one (the no-op path: no resolver runs). `also`:
    requirements passed as written (a project's, with extras or a URL); `also_met`: whether
    they are satisfied already."""
    steps: list[Step] = []
    torch_changes = torch is not None and not torch.keep
    if torch is not None and torch_changes and torch.requirement:
        steps.append(
            Step(
                "torch",
                (torch.requirement,),
                index_url=torch.choice.index_url,
                upgrade=("torch",) if upgrade else (),
            )
        )
    others = tuple(s for s in statuses if s.pin.name != "torch")
    unmet = not all(s.satisfied for s in others) or not also_met
    if (others or also) and (upgrade or problems or unmet):
        constraints: tuple[str, ...] = ()
        extra: tuple[str, ...] = ()
        installed_torch = installed.version("torch")
        if torch_changes:
            # the exact version is filled in from the torch step's resolution
            constraints = ("torch",)
            assert torch is not None
            extra = (torch.choice.index_url,) if torch.choice.index_url else ()
        elif installed_torch is not None:
            constraints = (f"torch=={installed_torch}",)
        steps.append(
            Step(
                "packages",
                (*(s.pin.requirement for s in others), *also),
                plan_extra_index_urls=extra,
                constraints=constraints,
                upgrade=tuple(s.pin.name for s in others) if upgrade else (),
            )
        )
    return tuple(steps)


def pin_torch(step: Step, version: str) -> Step:
    """The packages step's constraint, once the torch version is known."""
    constraints = tuple(f"torch=={version}" if c == "torch" else c for c in step.constraints)
    return replace(step, constraints=constraints)


def exact_torch_step(step: Step, version: str) -> Step:
    """Apply installs exactly the torch the dry run resolved, so what runs is what was shown."""
    return replace(step, requirements=(f"torch=={version}",))


def exact_step(step: Step, installs: tuple[Resolved, ...]) -> Step:
    """The packages step with each pinned requirement the dry run resolved turned into
    `name==version`, so apply installs the versions the plan showed."""
    resolved = {r.name: r.version for r in installs if r.version}
    requirements = []
    for text in step.requirements:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name not in resolved or req.url:  # a URL requirement installs what it names
            requirements.append(text)
            continue
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        requirements.append(f"{name}{extras}=={resolved[name]}")
    return replace(step, requirements=tuple(requirements))


def _action(installed: str | None, target: str) -> Action:
    if installed is None:
        return Action.INSTALL
    try:
        old, new = Version(installed), Version(target)
    except InvalidVersion:
        return Action.REPLACE
    if new > old and new.public != old.public:
        return Action.UPGRADE
    if new < old and new.public != old.public:
        return Action.DOWNGRADE
    return Action.REPLACE


def changes(
    statuses: tuple[PinStatus, ...], installed: Installed, resolutions: tuple[Resolution, ...]
) -> tuple[Change, ...]:
    """One row per pinned package (keep when no resolution touches it) and per dependency the
    resolver would install, upgrade or remove."""
    specs = {s.pin.name: str(s.pin.spec) for s in statuses}
    rows: dict[str, Change] = {}
    for res in resolutions:
        for item in res.installs:
            have = installed.version(item.name)
            rows[item.name] = Change(
                item.name,
                _action(have, item.version),
                have,
                item.version,
                item.name in specs,
                specs.get(item.name),
                item.source,
            )
    for res in resolutions:
        for item in res.removes:
            if item.name not in rows:
                rows[item.name] = Change(
                    item.name, Action.REMOVE, installed.version(item.name), None, False
                )
    for s in statuses:
        if s.pin.name in rows:
            continue
        action = (
            Action.KEEP
            if s.satisfied
            else (Action.INSTALL if s.installed is None else Action.UPGRADE)
        )
        rows[s.pin.name] = Change(
            s.pin.name,
            action,
            s.installed,
            s.installed if s.satisfied else None,
            True,
            specs[s.pin.name],
        )
    pinned = [rows[s.pin.name] for s in statuses]
    deps = sorted((c for c in rows.values() if not c.pinned), key=lambda c: c.name)
    return (*pinned, *deps)
