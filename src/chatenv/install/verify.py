"""After installing: doctor's own checks for packages and the torch build, run on the target
interpreter's freshly read metadata, plus what only install knows (the torch build it chose,
`--force`). Each failure carries the fix to paste, naming the target when it is `--python`.

Where install is stricter than doctor, it says so here:
- a package of a profile just installed that is missing fails (doctor warns: it cannot know the
  profile was wanted);
- a broken requirement anywhere in what the pins pull in fails (doctor fails only those that
  touch chatenv's own pins); one elsewhere in the environment warns, as in doctor. Requirements
  are walked as `pip check` does, and also from the pins following the extras they ask for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv import records
from chatenv.doctor import packages
from chatenv.doctor import torch_build as doctor_torch
from chatenv.install.variant import CPU, judge_installed
from chatenv.installed import (
    broken_requirements,
    in_order,
)
from chatenv.problems import problem
from chatenv.results import CheckResult, Status

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chatenv.doctor.fixes import FixTarget
    from chatenv.install.pins import Pins
    from chatenv.install.variant import Machine, TorchChoice
    from chatenv.installed import (
        BrokenRequirement,
        Installed,
        TorchBuild,
    )

SECTION = "verify"


def doctor_profiles(profiles: tuple[str, ...]) -> tuple[str, ...]:
    """The profiles as doctor checks them: "all" is api and local."""
    names: list[str] = []
    for profile in profiles:
        names.extend(packages.PROFILES if profile == "all" else (profile,))
    return tuple(dict.fromkeys(names))


def check_packages(
    profiles: tuple[str, ...],
    pins: Pins,
    installed: Installed,
    markers: Mapping[str, str],
    target: FixTarget,
) -> list[CheckResult]:
    """doctor's package checks for the profiles just installed: each pin installed and inside
    its range, openai not the v0 client, no broken requirements, no shadowed copies."""
    names = doctor_profiles(profiles)
    results: list[CheckResult] = []
    for profile in names:
        results.extend(
            packages.check_profile(profile, pins, installed, required=True, target=target)
        )
    v0 = packages.check_openai_v0(installed, target=target) if "api" in names else None
    if v0 is not None:
        results.append(v0)
    roots = [p.name for profile in names for p in pins.profile(profile).pins]
    everywhere = broken_requirements(installed, markers)
    pulled_in = broken_requirements(installed, markers, roots=roots)
    results.append(
        packages.check_requirements(
            _merged(everywhere.broken, pulled_in.broken),
            everywhere.unparsable,
            len(installed.dists),
            pulled_in.checked | set(roots),
            target=target,
        )
    )
    shadowed = packages.check_shadowed(installed, target=target)
    if shadowed is not None:
        results.append(shadowed)
    return [r.in_section(SECTION) for r in results]


def _merged(*found: tuple[BrokenRequirement, ...]) -> tuple[BrokenRequirement, ...]:
    unique = {(b.requirer, str(b.requirement)): b for group in found for b in group}
    return in_order(unique.values())


def check_torch(
    build: TorchBuild | None,
    choice: TorchChoice,
    machine: Machine,
    profiles: tuple[str, ...],
    target: FixTarget,
    *,
    expect_variant: str | None = None,
) -> list[CheckResult]:
    """doctor's torch checks (can this machine run the build, kernels for every GPU), then
    install's own: is it the build chatenv chose. With --force the user asked for a build this
    machine cannot run, so doctor's failures about that are warnings here."""
    results: list[CheckResult] = []
    if build is not None:
        results = doctor_torch.check_torch(build, machine.gpu, target=target, amd=machine.amd)
    if choice.forced:
        results = [_forced(r, choice.variant) for r in results]
    results.append(
        check_torch_choice(build, choice, machine, profiles, target, expect_variant=expect_variant)
    )
    return [r.in_section(SECTION) for r in results]


def _forced(result: CheckResult, variant: str) -> CheckResult:
    if result.status is not Status.FAIL:
        return result
    why = f"installed anyway: --torch {variant} --force"
    return records.replace(result, status=Status.WARN, details=(*result.details, why))


def check_torch_choice(
    build: TorchBuild | None,
    choice: TorchChoice,
    machine: Machine,
    profiles: tuple[str, ...],
    target: FixTarget,
    *,
    expect_variant: str | None = None,
) -> CheckResult:
    """torch is installed, is the build chatenv chose (or one it keeps), and runs here."""
    rid = "torch.variant"
    names = " ".join(profiles)
    if build is None:
        return problem("install.verify-no-torch").check(
            Status.FAIL,
            rid,
            section=SECTION,
            profiles=names,
            requested=choice.requested,
            python_option=target.option,
        )
    label = f"torch {build.version} ({build.variant or 'unknown build'})"
    data = {"version": build.version, "variant": build.variant, "chosen": choice.variant}
    if expect_variant is not None and build.variant != expect_variant:
        return problem("install.verify-wrong-build").check(
            Status.FAIL,
            rid,
            section=SECTION,
            data=data,
            label=label,
            variant=expect_variant,
            profiles=names,
            requested=choice.requested,
            python_option=target.option,
        )
    verdict = judge_installed(choice.requested, build.variant, build.series, machine)
    if not verdict.keep and not choice.forced:
        return problem("install.verify-cannot-run").check(
            Status.FAIL,
            rid,
            section=SECTION,
            data=data,
            label=label,
            reason=verdict.reason,
            profiles=names,
            requested=choice.requested,
            python_option=target.option,
        )
    if choice.forced:
        return problem("install.verify-forced").check(
            Status.WARN,
            rid,
            section=SECTION,
            data=data,
            label=label,
            profiles=names,
            python_option=target.option,
        )
    if choice.warning and build.variant == CPU:
        return problem("install.verify-cpu-fallback").check(
            Status.WARN,
            rid,
            section=SECTION,
            data=data,
            label=label,
            warning=choice.warning,
            choice_fix=choice.fix or "",
        )
    return CheckResult.ok(rid, f"{label}: {verdict.reason}", section=SECTION, data=data)
