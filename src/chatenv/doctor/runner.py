"""Run doctor's sections concurrently, each within a time budget, and never let one crash or
hang the report: a section that raises or runs out of time becomes one failed result."""

from __future__ import annotations

import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chatenv.results import CheckResult, Report


@dataclass(frozen=True)
class DoctorOptions:
    env_file: Path = Path(".env")
    offline: bool = False
    deep: bool = False
    strict: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=Path.cwd)


Collector = Callable[[DoctorOptions], list[CheckResult]]


@dataclass(frozen=True)
class Section:
    """One area of the report. `collect` observes the machine and returns its results."""

    name: str
    collect: Collector
    budget_s: float = 5.0


def run_sections(sections: Sequence[Section], options: DoctorOptions) -> list[CheckResult]:
    """Start every section at once; gather results in the sections' order."""
    done: queue.Queue[tuple[int, list[CheckResult]]] = queue.Queue()
    started = time.monotonic()
    for index, section in enumerate(sections):
        # Daemon threads: a section stuck in a system call must not keep the process alive.
        thread = threading.Thread(
            target=_run_one,
            args=(index, section, options, done),
            daemon=True,
            name=f"doctor-{section.name}",
        )
        thread.start()

    results: dict[int, list[CheckResult]] = {}
    deadline = started + max(s.budget_s for s in sections) if sections else started
    while len(results) < len(sections):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            index, found = done.get(timeout=remaining)
        except queue.Empty:
            break
        results[index] = found
        # A section must also finish within its own budget, measured from the common start.
        if time.monotonic() - started > sections[index].budget_s:
            results[index] = [_timed_out(sections[index])]

    ordered: list[CheckResult] = []
    for index, section in enumerate(sections):
        found = results.get(index) or [_timed_out(section)]
        ordered.extend(r.in_section(section.name) for r in found)
    return ordered


def _run_one(
    index: int,
    section: Section,
    options: DoctorOptions,
    done: queue.Queue[tuple[int, list[CheckResult]]],
) -> None:
    try:
        found = section.collect(options)
    except Exception as exc:
        found = [_crashed(section, exc)]
    done.put((index, found))


def _crashed(section: Section, exc: BaseException) -> CheckResult:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    summary = f"the {section.name} check crashed: {type(exc).__name__}"
    return CheckResult.fail(
        f"{section.name}.crashed",
        f"{summary}: {first}" if first else summary,
        section=section.name,
        details=tuple(traceback.format_exception(exc)[-6:]),
        fix="run `chatenv doctor --verbose` and report the details",
    )


def _timed_out(section: Section) -> CheckResult:
    return CheckResult.fail(
        f"{section.name}.timeout",
        f"the {section.name} check did not finish within {section.budget_s:g}s",
        section=section.name,
        fix="run `chatenv doctor --verbose` again; if it hangs each time, report it",
    )


def build_report(sections: Sequence[Section], options: DoctorOptions) -> Report:
    return Report(
        command="doctor", results=tuple(run_sections(sections, options)), strict=options.strict
    )
