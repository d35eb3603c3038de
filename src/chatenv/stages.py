"""`chatenv setup`: the order of the four commands as stages, and the only decisions setup
makes itself: which stages to run, which doctor findings stop the run, and the summary.

Plain functions over the other commands' reports (`cli/setup.py` runs the stages); nothing here
observes the machine, so a test can hand it any report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatenv.errors import EXIT_INTERRUPTED
from chatenv.problems import problem
from chatenv.records import dataclass, field
from chatenv.results import CheckResult, CommandError, Report, Status

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

COMMAND = "setup"
STAGES = ("doctor", "install", "configure-key", "smoke-test")

#: doctor's sections whose failures `chatenv install` repairs, so they never stop setup:
#: a profile missing or outside its pins, pre-1.0 openai, broken requirements among the stack,
#: a torch build this driver cannot run or without kernels for a GPU (install picks the build).
REPAIRED_BY_INSTALL: Mapping[str, str] = {
    "packages": "chatenv install installs and repairs the profile's packages",
    "torch": "chatenv install picks the PyTorch build this machine runs",
}
#: doctor's findings about a project that a later stage sees to (by id prefix): install
#: installs what the project declares and the torch build its policy wants, configure-key
#: asks for the variables it lists
REPAIRED_IDS: Mapping[str, str] = {
    "project.packages": "chatenv install installs what the project declares",
    "project.lock.": "chatenv install installs what the project declares",
    "project.torch": "chatenv install picks a torch build the project's policy allows",
    "project.env.": "setup's configure-key stage asks for the project's variables",
}
#: doctor's findings about the OpenAI API: they stop setup only when it sets the API up
API_SECTIONS = ("openai", "dotenv")
API_IDS = ("network.api",)
#: doctor's findings about downloading models from the hub: they stop setup only when it tests
#: local generation
LOCAL_SECTIONS = ("hf",)


@dataclass(frozen=True)
class Triage:
    """doctor's failures, sorted by what setup does about them."""

    #: stop setup: nothing a later stage does fixes them (Python out of range, a disk too full
    #: for a model, a driver that needs a reboot, a .env git tracks, a CA bundle that breaks
    #: HTTPS, a check that crashed or hung, ...)
    blocking: tuple[CheckResult, ...] = ()
    #: left to `chatenv install` (REPAIRED_BY_INSTALL)
    repaired: tuple[CheckResult, ...] = ()
    #: about the API while setup does not set it up (--no-api, or a profile without it), or
    #: about the hub while it does not test local generation (--no-local)
    unused: tuple[CheckResult, ...] = ()

    @property
    def not_blocking(self) -> tuple[str, ...]:
        return tuple(r.id for r in (*self.repaired, *self.unused))


def triage(doctor: Report, *, api: bool, local: bool = True) -> Triage:
    """Which of doctor's failures stop setup. Warnings never do."""
    blocking, repaired, unused = [], [], []
    for result in doctor.results:
        if result.status is not Status.FAIL:
            continue
        if result.section in REPAIRED_BY_INSTALL or result.id.startswith(tuple(REPAIRED_IDS)):
            repaired.append(result)
        elif _unused(result, api=api, local=local):
            unused.append(result)
        else:
            blocking.append(result)
    return Triage(tuple(blocking), tuple(repaired), tuple(unused))


def asked_by_configure_key(result: CheckResult) -> bool:
    """A project variable doctor found missing: setup's configure-key stage asks for it."""
    return result.id.startswith("project.env.")


def _unused(result: CheckResult, *, api: bool, local: bool) -> bool:
    if not api and (result.section in API_SECTIONS or result.id in API_IDS):
        return True
    return not local and result.section in LOCAL_SECTIONS


@dataclass(frozen=True)
class Selection:
    """What setup sets up: the profiles to install and the smoke-test stages to run."""

    profiles: tuple[str, ...]
    local: bool
    api: bool
    #: why the API is not set up, when it is not
    no_api_reason: str | None = None


def select(profiles: Sequence[str], *, local: bool, api: bool) -> Selection:
    """The smoke-test stages follow the profiles (`local` tests local generation, `api` the
    API), narrowed by --no-local / --no-api. The key is configured only when the API is."""
    chosen = tuple(dict.fromkeys(profiles)) or ("all",)
    wants_local = any(p in ("local", "all") for p in chosen)
    wants_api = any(p in ("api", "all") for p in chosen)
    reason = None
    if not wants_api:
        reason = f"the API is not being set up (profile {', '.join(chosen)})"
    elif not api:
        reason = "the API is not being set up (--no-api)"
    return Selection(chosen, local=local and wants_local, api=reason is None, no_api_reason=reason)


def key_stage(selection: Selection, *, key_source: str | None, stdin: str, yes: bool) -> str | None:
    """None: run configure-key; else why it is skipped. `stdin` is "terminal", "pipe" (with
    something in it) or "none"; `key_source` where OPENAI_API_KEY comes from now, if set.
    Skipped for want of a key, the reason carries what to set instead (one line, no waiting)."""
    if not selection.api:
        return selection.no_api_reason or "the API is not being set up"
    if key_source is not None:
        return f"OPENAI_API_KEY is already set ({key_source})"
    if stdin == "pipe":
        return None
    if stdin == "terminal" and not yes:
        return None
    no_prompt = "--yes asks nothing" if stdin == "terminal" else "stdin is not a terminal"
    message, fix = problem("setup.key-not-asked").pair(no_prompt=no_prompt)
    return f"{message}: {fix}"


# -- what happened -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StageRun:
    """One stage as it went: ran (passed, perhaps with warnings), failed, or skipped."""

    name: str
    outcome: str  # "ran", "failed" or "skipped"
    reason: str | None = None
    elapsed_s: float | None = None
    report: Report | None = None
    #: doctor's failures that did not stop setup (Triage.not_blocking)
    not_blocking: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome,
            "reason": self.reason,
            "elapsed_s": None if self.elapsed_s is None else round(self.elapsed_s, 3),
            "exit_code": None if self.report is None else self.report.exit_code,
            "not_blocking": list(self.not_blocking),
            "report": None if self.report is None else self.report.to_json(),
        }


def stage_result(stage: StageRun) -> CheckResult:
    """The line setup's summary shows for a stage, with the fix of the failure that stopped it."""
    rid = f"{COMMAND}.{stage.name}"
    took = f" ({stage.elapsed_s:.1f} s)" if stage.elapsed_s is not None else ""
    data = {"stage": stage.name, "outcome": stage.outcome}
    if stage.report is None:
        make = CheckResult.fail if stage.outcome == "failed" else CheckResult.skip
        return make(rid, f"{stage.name}: {stage.reason or 'not run'}", data=data)
    report = stage.report
    if stage.outcome == "failed":
        failures = [r for r in report.results if r.status is Status.FAIL]
        failures = [r for r in failures if r.id not in stage.not_blocking] or failures
        first = failures[0] if failures else None
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        summary = first.summary if first else stage.reason or "failed"
        return CheckResult.fail(
            rid,
            f"{stage.name}{took}: {summary}{more}",
            fix=first.fix if first else None,
            data=data,
        )
    summary = _ran_summary(report, stage.not_blocking)
    warned = any(r.status in (Status.WARN, Status.FAIL) for r in report.results)
    make = CheckResult.warn if warned else CheckResult.ok
    return make(rid, f"{stage.name}{took}: {summary}", data=data)


def _ran_summary(report: Report, not_blocking: Iterable[str]) -> str:
    c = report.counts()
    counts = f"{c['ok']} ok"
    if c["warn"]:
        counts += f", {c['warn']} warning{'s' if c['warn'] != 1 else ''}"
    if c["fail"]:
        counts += f", {c['fail']} failed"
    if report.command == "install":
        plan = report.data.get("plan") or {}
        what = (
            "nothing to do, everything satisfies the pins"
            if plan.get("nothing_to_do")
            else "installed and verified"
        )
        return f"{what} ({counts})"
    if report.command == "smoke-test":
        stages = report.data.get("stages") or {}
        return ", ".join(f"{name} {status}" for name, status in stages.items()) or counts
    if report.command == "configure-key":
        saved = next((r for r in report.results if r.id == "env-file"), None)
        return saved.summary if saved is not None else counts
    left = list(not_blocking)
    if left:
        counts += f"; not stopping setup: {', '.join(left)}"
    return counts


def build_report(
    stages: Sequence[StageRun],
    *,
    selection: Selection,
    options: Mapping[str, Any],
    elapsed_s: float,
    interrupted: bool = False,
) -> Report:
    """setup's report: one result per stage (so exit 1 when one failed), every stage's own
    report nested in `data["stages"]`."""
    stopped = next((s.name for s in stages if s.outcome == "failed"), None)
    return Report(
        command=COMMAND,
        results=tuple(stage_result(s).in_section(COMMAND) for s in stages),
        data={
            "elapsed_s": round(elapsed_s, 3),
            "profiles": list(selection.profiles),
            "options": dict(options),
            "stopped_at": stopped,
            "stages": list(stages),
        },
        error=CommandError(*problem("cli.interrupted").pair(), EXIT_INTERRUPTED)
        if interrupted
        else None,
    )
