"""The runner with doctor's real section list: one section that raises becomes one failed
line, one that hangs one warning that its results are incomplete, and every other section still
reports."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv import records
from chatenv.doctor.context import Context, DoctorOptions, Seams
from chatenv.doctor.runner import Section, build_report, run_sections
from chatenv.doctor.sections import SECTIONS
from chatenv.results import CheckResult, Status
from tests.fakes import machines as fake

if TYPE_CHECKING:
    import pytest


def _options(tmp_path: Path) -> DoctorOptions:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HF_"))}
    return DoctorOptions(
        env_file=Path(".env"),
        offline=True,
        environ={**env, "HF_HOME": str(tmp_path / "hf")},
        cwd=tmp_path,
        seams=Seams(nvml=fake.nvml(fake.one_h100())),
    )


def _with(name: str, **changes: object) -> tuple[Section, ...]:
    return tuple(records.replace(s, **changes) if s.name == name else s for s in SECTIONS)  # type: ignore[arg-type]


def test_every_section_reports_in_order(tmp_path: Path) -> None:
    report = build_report(SECTIONS, _options(tmp_path))
    sections = list(dict.fromkeys(r.section for r in report.results))
    assert sections == [s.name for s in SECTIONS]
    assert not [r for r in report.results if r.id.endswith((".crashed", ".timeout"))]
    assert [s["outcome"] for s in report.data["sections"]] == ["done"] * len(SECTIONS)


def test_a_section_that_raises_becomes_one_failed_line(tmp_path: Path) -> None:
    def boom(ctx: Context) -> list[CheckResult]:
        raise PermissionError(13, "Permission denied", "/proc/driver/nvidia")

    report = build_report(_with("disk", collect=boom), _options(tmp_path))
    disk = [r for r in report.results if r.section == "disk"]
    assert [r.id for r in disk] == ["disk.crashed"]
    assert disk[0].status is Status.FAIL
    assert disk[0].summary == (
        "the disk check crashed: PermissionError: [Errno 13] Permission denied: "
        "'/proc/driver/nvidia'"
    )
    assert any("Traceback" in d or "PermissionError" in d for d in disk[0].details)
    assert {r.section for r in report.results} == {s.name for s in SECTIONS}
    assert report.exit_code == 1


def test_a_section_that_hangs_is_cut_off_at_its_budget(tmp_path: Path) -> None:
    release = threading.Event()

    def hang(ctx: Context) -> list[CheckResult]:
        ctx.step("reading /mnt/models")
        release.wait(30)
        return [CheckResult.ok("gpu.late", "too late")]

    started = time.monotonic()
    try:
        report = build_report(_with("gpu", collect=hang, budget_s=0.5), _options(tmp_path))
    finally:
        release.set()
    took = time.monotonic() - started
    gpu = [r for r in report.results if r.section == "gpu"]
    assert [r.id for r in gpu] == ["gpu.timeout"]
    assert gpu[0].summary == (
        "the gpu check did not finish within 0.5s, so its results are incomplete"
        " (last step: reading /mnt/models)"
    )
    # a hang is not known to be a fault: a warning, and the report does not fail for it
    assert gpu[0].status is Status.WARN and gpu[0].data["complete"] is False
    assert report.exit_code == 0 or any(
        r.status is Status.FAIL for r in report.results if r.section != "gpu"
    )
    assert took < 5, took  # not the deep section's 95 s budget: only running sections count
    assert any(r.section == "python" and r.status is Status.OK for r in report.results)
    timing = next(s for s in report.data["sections"] if s["name"] == "gpu")
    assert timing["outcome"] == "timeout" and timing["elapsed_s"] is None


def test_a_section_with_no_results_stays_empty() -> None:
    results = run_sections([Section("quiet", lambda o: [])], Context(DoctorOptions(environ={})))
    assert results == []


def test_sections_the_options_leave_nothing_to_do_are_skipped_without_importing_them(
    tmp_path: Path,
) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from chatenv.doctor.context import DoctorOptions\n"
        "from chatenv.doctor.runner import build_report\n"
        "from chatenv.doctor.sections import SECTIONS\n"
        "report = build_report(SECTIONS, DoctorOptions(offline=True, cwd=Path(sys.argv[1])))\n"
        "for r in report.results:\n"
        "    if r.section in ('deep', 'network'):\n"
        "        print(r.id, r.status.value, r.summary)\n"
        "print(sorted(m for m in sys.modules if m in ('chatenv.doctor.deep', "
        "'chatenv.doctor.network', 'chatenv.doctor.gpu')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    assert lines[0].startswith("deep.import skip not run: --deep imports torch")
    assert lines[1] == "network.skipped skip skipped (--offline)"
    assert lines[2] == "['chatenv.doctor.gpu']"  # the sections that ran were imported


def test_budgets_outlast_the_timeouts_their_sections_set_themselves() -> None:
    from chatenv.doctor import deep, extensions, hf_access, network

    budgets = {s.name: s.budget_for(DoctorOptions(deep=True)) for s in SECTIONS}
    assert budgets["deep"] > deep.TIMEOUT_S
    assert budgets["extensions"] > extensions.TIMEOUT_S
    assert budgets["network"] > network.TIMEOUT_S
    assert budgets["hf"] > hf_access.WORST_CASE_S


def _timed(log: dict[str, tuple[float, float]], name: str, seconds: float) -> Section:
    def collect(ctx: Context) -> list[CheckResult]:
        began = time.monotonic()
        time.sleep(seconds)
        log[name] = (began, time.monotonic())
        return [CheckResult.ok(f"{name}.done", "done")]

    return Section(name, collect, budget_s=10.0)


def test_quick_sections_run_one_after_another(monkeypatch: pytest.MonkeyPatch) -> None:
    """Started all at once, sections contend for the GIL and the import lock (doctor took
    0.19 s so, 0.15 s in turn): a section that finishes within the slice runs alone. (A long
    slice here, so that a loaded machine cannot stretch a section past it.)"""
    from chatenv.doctor import runner

    monkeypatch.setattr(runner, "SLICE_S", 2.0)
    log: dict[str, tuple[float, float]] = {}
    sections = [_timed(log, f"s{i}", 0.01) for i in range(5)]
    run_sections(sections, Context(DoctorOptions(environ={})))
    spans = [log[f"s{i}"] for i in range(5)]
    for (_, ended), (began, _) in itertools.pairwise(spans):
        assert began >= ended, spans  # the next starts only when the last has finished


def test_a_slow_section_does_not_hold_up_the_next_ones() -> None:
    log: dict[str, tuple[float, float]] = {}
    sections = [_timed(log, "slow", 1.0), _timed(log, "next", 0.0), _timed(log, "last", 0.0)]
    started = time.monotonic()
    run_sections(sections, Context(DoctorOptions(environ={})))
    assert log["next"][0] - started < 0.5  # one slice (SLICE_S), not the slow one's second
    assert log["last"][0] < log["slow"][1]


def test_a_section_that_waits_starts_with_the_first() -> None:
    log: dict[str, tuple[float, float]] = {}
    waiting = records.replace(_timed(log, "network", 0.2), waits=lambda options: True)
    sections = [_timed(log, "a", 0.2), _timed(log, "b", 0.2), waiting]
    run_sections(sections, Context(DoctorOptions(environ={})))
    assert log["network"][0] < log["a"][1]  # it did not wait for a (nor b) to finish
    assert log["b"][0] >= log["a"][0]


def test_a_budget_counts_from_the_sections_own_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """A section started late is not cut off for the time it spent waiting to start."""
    from chatenv.doctor import runner

    monkeypatch.setattr(runner, "SLICE_S", 0.3)
    log: dict[str, tuple[float, float]] = {}
    late = records.replace(_timed(log, "late", 0.4), budget_s=0.6)
    results = run_sections([_timed(log, "first", 1.0), late], Context(DoctorOptions(environ={})))
    assert log["late"][0] - log["first"][0] >= 0.3
    assert [r.id for r in results] == ["first.done", "late.done"]
