"""The sections of `chatenv doctor`, in the order the report shows them, each with its time
budget (seconds from its own start, or its last sign of life). Those that wait on the network
or a child process (`waits`) start at once; the others in turn (doctor.runner.SLICE_S).

A section's module is imported by the thread that runs it, and not at all when the options
leave nothing for it to do (`unless`: network under --offline, deep without --deep), so a run
pays only for the sections it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from chatenv.doctor.runner import Section
from chatenv.results import CheckResult

if TYPE_CHECKING:
    from collections.abc import Callable

    from chatenv.doctor.context import Context, DoctorOptions


def _lazy(name: str) -> Callable[[Context], list[CheckResult]]:
    """The section's `collect`, imported on first call (in the section's own thread)."""

    def collect(ctx: Context) -> list[CheckResult]:
        module = importlib.import_module(f"chatenv.doctor.{name}")
        found: list[CheckResult] = module.collect(ctx)
        return found

    collect.__qualname__ = f"{name}.collect"
    return collect


def _offline(options: DoctorOptions) -> list[CheckResult] | None:
    if options.offline:
        return [CheckResult.skip("network.skipped", "skipped (--offline)")]
    return None


def _always(options: DoctorOptions) -> bool:
    return True


def _online(options: DoctorOptions) -> bool:
    return not options.offline


def _deep(options: DoctorOptions) -> bool:
    return options.deep


def _not_deep(options: DoctorOptions) -> list[CheckResult] | None:
    if not options.deep:
        return [
            CheckResult.skip(
                "deep.import",
                "not run: --deep imports torch in a subprocess and runs an op on each GPU",
            )
        ]
    return None


SECTIONS: tuple[Section, ...] = (
    Section("platform", _lazy("platform"), budget_s=3.0),
    Section("python", _lazy("python_env"), budget_s=10.0),
    Section("packages", _lazy("packages"), budget_s=15.0),
    Section("gpu", _lazy("gpu"), budget_s=8.0),
    Section("torch", _lazy("torch_build"), budget_s=8.0),
    # --deep also imports each extension in a child process (extensions.TIMEOUT_S)
    Section("extensions", _lazy("extensions"), budget_s=10.0, deep_budget_s=95.0, waits=_deep),
    Section("loading", _lazy("loading"), budget_s=8.0),
    # deep's child gets deep.TIMEOUT_S (90 s), network each target network.TIMEOUT_S (5 s);
    # tests/doctor/test_runner.py keeps these budgets above them
    Section("deep", _lazy("deep"), budget_s=95.0, unless=_not_deep, waits=_always),
    Section("frameworks", _lazy("frameworks"), budget_s=5.0),
    Section("disk", _lazy("disk"), budget_s=8.0),
    Section("openai", _lazy("openai_config"), budget_s=10.0),
    # two requests in a row for a gated model (hf_access.WORST_CASE_S: 10 s), whoami beside them
    Section("hf", _lazy("hf_access"), budget_s=12.0, waits=_online),
    Section("dotenv", _lazy("dotenv_hygiene"), budget_s=8.0),
    Section("network", _lazy("network"), budget_s=8.0, unless=_offline, waits=_always),
    Section("project", _lazy("project"), budget_s=10.0),
)
