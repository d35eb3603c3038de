"""Run doctor's sections concurrently, each within a time budget, and never let one crash or
hang the report: a section that raises becomes one failed result; one still running when its
budget is spent becomes one warning that its results are incomplete, with the last step it
reported (`Context.step`).

A budget guards against hangs (a stuck network mount, an NVML call that never returns, a DNS
lookup), not against slow machines: CPU-bound work is kept linear and cheap so that it finishes
far inside its budget at any load (benchmarks/bench_doctor_scaling.py)."""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from chatenv.doctor.context import Context
from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.results import CheckResult, Report, Status

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chatenv.doctor.context import DoctorOptions

#: a section: what it observes, through the run's context, becomes its results
Collector = Callable[[Context], list[CheckResult]]


@dataclass(frozen=True)
class Section:
    """One area of the report. `collect` observes the machine and returns its results."""

    name: str
    collect: Collector
    budget_s: float = 5.0
    #: the budget under --deep, when the section then does more (None: the same)
    deep_budget_s: float | None = None
    #: the results when the options leave the section nothing to do (then `collect` never
    #: runs, and its module is never imported), else None
    unless: Callable[[DoctorOptions], list[CheckResult] | None] | None = None
    #: whether, with these options, it mostly waits (on the network, a child process): then
    #: it starts with the first section, beside the others, instead of in turn
    waits: Callable[[DoctorOptions], bool] | None = None

    def budget_for(self, options: DoctorOptions) -> float:
        if options.deep and self.deep_budget_s is not None:
            return self.deep_budget_s
        return self.budget_s


@dataclass(frozen=True)
class SectionTiming:
    name: str
    budget_s: float
    elapsed_s: float | None  # None: still running when the report was made
    outcome: str  # "done", "crashed" or "timeout"


#: how long a section runs alone before the next one starts beside it. Started all at once,
#: the sections' imports and CPU work contend for the GIL and the import lock: doctor took
#: 0.167-0.193 s that way against 0.137-0.142 s one after another (benchmarks/bench_doctor.py).
#: A section still running after this slice (a slow disk, a loaded machine) no longer holds
#: up the others.
SLICE_S = 0.05


def run_sections(
    sections: Sequence[Section],
    ctx: Context,
    timings: list[SectionTiming] | None = None,
) -> list[CheckResult]:
    """Run the sections, each in its own thread; gather results in the sections' order.

    Sections that wait on the network or a child process (`Section.waits`) start at once;
    the others one after another, the next as soon as the last one started finishes or has
    run for SLICE_S. A section that raises becomes one failed result; one still running after
    its budget (counted from its start, or its last sign of life) becomes a warning."""
    done: queue.Queue[tuple[int, list[CheckResult], float, bool]] = queue.Queue()
    began: dict[int, float] = {}
    results: dict[int, list[CheckResult]] = {}
    outcomes: dict[int, tuple[float | None, str]] = {}
    queued: list[int] = []
    for index, section in enumerate(sections):
        skipped = section.unless(ctx.options) if section.unless else None
        if skipped is not None:
            results[index] = skipped
            outcomes[index] = (0.0, "done")
        elif section.waits is not None and section.waits(ctx.options):
            began[index] = _start(index, section, ctx, done)
        else:
            queued.append(index)

    cut_off: set[int] = set()
    last: int | None = None
    while len(results) + len(cut_off) < len(sections):
        now = time.monotonic()
        if queued and (last is None or last in results or now - began[last] >= SLICE_S):
            last = queued.pop(0)
            began[last] = _start(last, sections[last], ctx, done)
            now = began[last]
        # A section's budget counts from its last sign of life (Context.step), so CPU-bound
        # work on a loaded machine goes on while a hung system call is cut off.
        deadlines = {
            i: max(began[i], ctx.alive_at(sections[i].name) or began[i])
            + sections[i].budget_for(ctx.options)
            for i in began
            if i not in results and i not in cut_off
        }
        cut_off.update(i for i, deadline in deadlines.items() if deadline <= now)
        waiting = [d for i, d in deadlines.items() if i not in cut_off]
        if queued and last is not None:
            waiting.append(began[last] + SLICE_S)
        if not waiting:
            break
        try:
            index, found, elapsed, crashed = done.get(timeout=max(0.0, min(waiting) - now))
        except queue.Empty:
            continue
        if index in cut_off:  # it answered after all: too late for the report
            continue
        results[index] = found
        outcomes[index] = (elapsed, "crashed" if crashed else "done")

    ordered: list[CheckResult] = []
    for index, section in enumerate(sections):
        found = results[index] if index in results else [_timed_out(section, ctx)]
        ordered.extend(r.in_section(section.name) for r in found)
        if timings is not None:
            took, outcome = outcomes.get(index, (None, "timeout"))
            budget = section.budget_for(ctx.options)
            timings.append(SectionTiming(section.name, budget, took, outcome))
    return ordered


def _start(
    index: int,
    section: Section,
    ctx: Context,
    done: queue.Queue[tuple[int, list[CheckResult], float, bool]],
) -> float:
    """Start one section in a daemon thread (a section stuck in a system call must not keep
    the process alive), in a copy of this thread's context (the command line fixes are
    fitted to). Returns when it started."""
    began = time.monotonic()
    thread = threading.Thread(
        target=contextvars.copy_context().run,
        args=(_run_one, index, section, ctx, done, began),
        daemon=True,
        name=f"doctor-{section.name}",
    )
    thread.start()
    return began


def _run_one(
    index: int,
    section: Section,
    ctx: Context,
    done: queue.Queue[tuple[int, list[CheckResult], float, bool]],
    started: float,
) -> None:
    crashed = False
    try:
        found = section.collect(ctx)
    except Exception as exc:
        found, crashed = [_crashed(section, exc)], True
    done.put((index, found, time.monotonic() - started, crashed))


def _crashed(section: Section, exc: BaseException) -> CheckResult:
    import traceback

    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    error = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return problem("doctor.section-crashed").check(
        Status.FAIL,
        f"{section.name}.crashed",
        section=section.name,
        details=tuple(traceback.format_exception(exc)[-6:]),
        name=section.name,
        error=error,
    )


def _timed_out(section: Section, ctx: Context) -> CheckResult:
    last = ctx.last_step(section.name)
    return problem("doctor.section-timeout").check(
        Status.WARN,
        f"{section.name}.timeout",
        section=section.name,
        data={"budget_s": section.budget_for(ctx.options), "last_step": last, "complete": False},
        name=section.name,
        budget=section.budget_for(ctx.options),
        last=f" (last step: {last})" if last else "",
    )


def build_report(sections: Sequence[Section], options: DoctorOptions) -> Report:
    started = time.monotonic()
    timings: list[SectionTiming] = []
    results = run_sections(sections, Context(options), timings)
    return Report(
        command="doctor",
        results=tuple(results),
        strict=options.strict,
        data={
            "elapsed_s": round(time.monotonic() - started, 3),
            "options": {
                "offline": options.offline,
                "deep": options.deep,
                "strict": options.strict,
                "env_file": str(options.env_file),
                "env_file_found": options.env_choice.to_json() if options.env_choice else None,
                "model": options.model,
            },
            "sections": [
                {
                    "name": t.name,
                    "budget_s": t.budget_s,
                    "elapsed_s": None if t.elapsed_s is None else round(t.elapsed_s, 3),
                    "outcome": t.outcome,
                }
                for t in timings
            ],
        },
    )
