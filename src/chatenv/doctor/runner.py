"""Run doctor's sections concurrently, each within a time budget, and never let one crash or
hang the report: a section that raises or runs out of time becomes one failed result."""

from __future__ import annotations

import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from chatenv.problems import problem
from chatenv.results import CheckResult, Report, Status

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from chatenv.doctor.network import Connector
    from chatenv.system.nvml import NvmlLibrary
    from chatenv.system.proc import Runner

T = TypeVar("T")


@dataclass(frozen=True)
class Seams:
    """Where doctor touches the machine beyond `environ` and files. None means the real thing;
    tests hand in a fake NVML, a recording process runner, a path list of fake installs."""

    nvml: NvmlLibrary | None = None
    run: Runner | None = None
    #: where installed distributions are looked up (None: this interpreter's sys.path)
    sys_path: tuple[str, ...] | None = None
    connector: Connector | None = None
    #: the filesystem root that /proc, /sys and /etc are read from
    root: Path = Path("/")

    def runner(self) -> Runner:
        if self.run is not None:
            return self.run
        from chatenv.system import proc

        return proc.run


class Shared:
    """Observations more than one section reads (the NVML probe, the installed distributions),
    made once per run however many sections ask, from whichever thread asks first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._values: dict[str, Any] = {}

    def get(self, key: str, make: Callable[[], T]) -> T:
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self._values[key] = make()
            value: T = self._values[key]
            return value


@dataclass(frozen=True)
class DoctorOptions:
    env_file: Path = Path(".env")
    offline: bool = False
    deep: bool = False
    strict: bool = False
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=Path.cwd)
    seams: Seams = field(default_factory=Seams)
    shared: Shared = field(default_factory=Shared, compare=False, repr=False)

    @property
    def env_path(self) -> Path:
        """The .env file, relative paths taken from `cwd`."""
        return self.env_file if self.env_file.is_absolute() else self.cwd / self.env_file


Collector = Callable[[DoctorOptions], list[CheckResult]]


@dataclass(frozen=True)
class Section:
    """One area of the report. `collect` observes the machine and returns its results."""

    name: str
    collect: Collector
    budget_s: float = 5.0


@dataclass(frozen=True)
class SectionTiming:
    name: str
    budget_s: float
    elapsed_s: float | None  # None: still running when the report was made
    outcome: str  # "done", "crashed" or "timeout"


def run_sections(
    sections: Sequence[Section],
    options: DoctorOptions,
    timings: list[SectionTiming] | None = None,
) -> list[CheckResult]:
    """Start every section at once; gather results in the sections' order. A section that
    raises becomes one failed result; one still running after its budget becomes another."""
    done: queue.Queue[tuple[int, list[CheckResult], float, bool]] = queue.Queue()
    started = time.monotonic()
    for index, section in enumerate(sections):
        # Daemon threads: a section stuck in a system call must not keep the process alive.
        thread = threading.Thread(
            target=_run_one,
            args=(index, section, options, done, started),
            daemon=True,
            name=f"doctor-{section.name}",
        )
        thread.start()

    results: dict[int, list[CheckResult]] = {}
    outcomes: dict[int, tuple[float | None, str]] = {}
    while len(results) < len(sections):
        # Wait only as long as the longest budget among the sections still running.
        pending = [s.budget_s for i, s in enumerate(sections) if i not in results]
        remaining = started + max(pending) - time.monotonic()
        if remaining <= 0:
            break
        try:
            index, found, elapsed, crashed = done.get(timeout=remaining)
        except queue.Empty:
            break
        results[index] = found
        outcomes[index] = (elapsed, "crashed" if crashed else "done")
        # A section must also finish within its own budget, measured from the common start.
        if elapsed > sections[index].budget_s:
            results[index] = [_timed_out(sections[index])]
            outcomes[index] = (elapsed, "timeout")

    ordered: list[CheckResult] = []
    for index, section in enumerate(sections):
        found = results[index] if index in results else [_timed_out(section)]
        ordered.extend(r.in_section(section.name) for r in found)
        if timings is not None:
            took, outcome = outcomes.get(index, (None, "timeout"))
            timings.append(SectionTiming(section.name, section.budget_s, took, outcome))
    return ordered


def _run_one(
    index: int,
    section: Section,
    options: DoctorOptions,
    done: queue.Queue[tuple[int, list[CheckResult], float, bool]],
    started: float,
) -> None:
    crashed = False
    try:
        found = section.collect(options)
    except Exception as exc:
        found, crashed = [_crashed(section, exc)], True
    done.put((index, found, time.monotonic() - started, crashed))


def _crashed(section: Section, exc: BaseException) -> CheckResult:
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


def _timed_out(section: Section) -> CheckResult:
    return problem("doctor.section-timeout").check(
        Status.FAIL,
        f"{section.name}.timeout",
        section=section.name,
        name=section.name,
        budget=section.budget_s,
    )


def build_report(sections: Sequence[Section], options: DoctorOptions) -> Report:
    started = time.monotonic()
    timings: list[SectionTiming] = []
    results = run_sections(sections, options, timings)
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
