"""`chatenv install`: plan, show the plan, apply with progress, verify."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chatenv.errors import ChatenvError

if TYPE_CHECKING:
    from chatenv.install.command import InstallOptions
    from chatenv.install.plan import Plan
    from chatenv.results import Report

#: asked before the installer runs (setup, on a terminal); answering False declines the plan
Confirm = Callable[["Plan"], bool]


class Declined(ChatenvError):
    """The user answered no to setup's question before the installer ran: nothing changed."""


def run_install(
    options: InstallOptions,
    *,
    dry_run: bool = False,
    fmt: str = "text",
    verbose: bool = False,
    confirm: Confirm | None = None,
) -> tuple[Report, frozenset[str]]:
    """Plan, show the plan (text output), apply with progress on stderr, verify. Returns the
    report and what was already printed (`{"plan"}`), for `finish`. Failures that stop it
    raise ChatenvError; `confirm` answering no raises Declined, nothing changed."""
    from chatenv import output
    from chatenv.install import command as cmd
    from chatenv.install.apply import InstallerFailed, default_log_path, summarise
    from chatenv.results import Report

    text = fmt == "text"
    prepared = cmd.prepare(options)
    results = cmd.plan_results(prepared)
    plan = prepared.plan
    if dry_run:
        data = cmd.report_data(prepared, dry_run=True)
        return Report("install", tuple(results), data=data), frozenset()
    failure = cmd.resolution_failure(plan)
    if failure is not None:
        if text:
            output.print_install_plan(plan.to_json(), verbose=verbose)
        raise failure
    if plan.nothing_to_do:
        checks = cmd.verify(prepared, prepared.installed, expect_torch=False)
        data = cmd.report_data(prepared, dry_run=False)
        return Report("install", (*results, *checks), data=data), frozenset()

    if text:
        output.print_install_plan(plan.to_json(), verbose=verbose)
    if confirm is not None and not confirm(plan):
        from chatenv.problems import problem

        raise problem("setup.install-declined").error(Declined)
    log = options.log_file or default_log_path()
    with output.InstallProgress(str(log)) as progress:
        try:
            applied = cmd.execute(
                prepared,
                on_step=lambda step: progress.step(step.name, step.requirements),
                on_line=lambda line: progress.line(summarise(line)),
                log_path=log,
            )
        except InstallerFailed as exc:
            output.install_log_tail(exc.tail)
            raise
    report = Report(
        "install",
        (*results, *applied.checks),
        data=cmd.report_data(prepared, dry_run=False, applied=applied),
    )
    return report, frozenset({"plan"}) if text else frozenset()
