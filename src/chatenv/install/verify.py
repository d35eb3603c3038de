"""After installing: the same kind of checks `doctor` runs for packages and the torch build,
on freshly read metadata. Each failure carries the fix to paste.

These read what `chatenv.install.pins` and `chatenv.torch_builds` say, so install and doctor
agree on what "right" means; when doctor's own check functions land, these can delegate.
"""

from __future__ import annotations

from collections.abc import Sequence

from chatenv.install.pins import Pin
from chatenv.install.plan import satisfies
from chatenv.install.variant import CPU, Machine, TorchChoice, judge_installed
from chatenv.installed import BrokenRequirement, TorchBuild
from chatenv.results import CheckResult

SECTION = "verify"


def _fix(profiles: tuple[str, ...], extra: str = "") -> str:
    return f"chatenv install {' '.join(profiles)}{extra}"


def check_pins(
    pins: tuple[Pin, ...], versions: dict[str, str | None], profiles: tuple[str, ...]
) -> list[CheckResult]:
    """One result per pinned package: installed, and inside the pinned range."""
    results = []
    for pin in pins:
        have = versions.get(pin.name)
        rid = f"package:{pin.name}"
        if have is None:
            results.append(
                CheckResult.fail(
                    rid, f"{pin.name} is not installed", section=SECTION, fix=_fix(profiles)
                )
            )
        elif not satisfies(pin.spec, have):
            results.append(
                CheckResult.fail(
                    rid,
                    f"{pin.name} {have} is outside the pins ({pin.spec})",
                    section=SECTION,
                    fix=_fix(profiles, " --upgrade"),
                    data={"installed": have, "spec": str(pin.spec)},
                )
            )
        else:
            results.append(
                CheckResult.ok(
                    rid,
                    f"{pin.name} {have}",
                    section=SECTION,
                    data={"installed": have, "spec": str(pin.spec)},
                )
            )
    return results


def check_dependencies(
    problems: Sequence[BrokenRequirement], profiles: tuple[str, ...]
) -> CheckResult:
    if not problems:
        return CheckResult.ok(
            "dependencies", "every dependency is installed and compatible", section=SECTION
        )
    first = problems[0].describe()
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return CheckResult.fail(
        "dependencies",
        first + more,
        section=SECTION,
        details=[p.describe() for p in problems],
        fix=_fix(profiles),
    )


def check_torch_build(
    build: TorchBuild | None,
    choice: TorchChoice,
    machine: Machine,
    profiles: tuple[str, ...],
    *,
    expect_variant: str | None = None,
) -> CheckResult:
    """torch is installed, is the build chatenv chose (or one it keeps), and runs here."""
    rid = "torch-build"
    torch_fix = _fix(profiles, f" --torch {choice.requested}")
    if build is None:
        return CheckResult.fail(rid, "torch is not installed", section=SECTION, fix=torch_fix)
    label = f"torch {build.version} ({build.variant or 'unknown build'})"
    data = {"version": build.version, "variant": build.variant, "chosen": choice.variant}
    if expect_variant is not None and build.variant != expect_variant:
        return CheckResult.fail(
            rid,
            f"{label} is installed, but chatenv chose {expect_variant}",
            section=SECTION,
            fix=torch_fix,
            data=data,
        )
    verdict = judge_installed(choice.requested, build.variant, build.series, machine)
    if not verdict.keep and not choice.forced:
        return CheckResult.fail(
            rid, f"{label}: {verdict.reason}", section=SECTION, fix=torch_fix, data=data
        )
    if choice.forced:
        return CheckResult.warn(
            rid,
            f"{label} installed with --force; it may not run on this machine",
            section=SECTION,
            fix=_fix(profiles, " --torch auto"),
            data=data,
        )
    if choice.warning and build.variant == CPU:
        return CheckResult.warn(
            rid, f"{label}: {choice.warning}", section=SECTION, fix=choice.fix, data=data
        )
    return CheckResult.ok(rid, f"{label}: {verdict.reason}", section=SECTION, data=data)
