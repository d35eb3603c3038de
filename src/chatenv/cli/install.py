"""`chatenv install`: pinned profiles and the right PyTorch build for this machine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chatenv.cli._common import (
    FORMAT_HELP,
    JSON_HELP,
    VERBOSE_HELP,
    Format,
    cli_errors,
    complete_profiles,
    complete_torch,
    finish,
)

if TYPE_CHECKING:
    from chatenv.install.command import InstallOptions
    from chatenv.install.plan import Plan
    from chatenv.results import Report

#: shown by setup (which asks before it changes anything), or None: go ahead
Confirm = Callable[["Plan"], bool]

TORCH_HELP = (
    "auto: the newest CUDA build this driver and every GPU can run (the ROCm build when the"
    " only GPUs are AMD's; CPU without a GPU); cpu; a CUDA variant such as cu126, cu130, cu132;"
    " or a ROCm variant such as rocm7.2."
)
#: the options install and setup share, declared once
TorchOption = Annotated[
    str, typer.Option("--torch", help=TORCH_HELP, autocompletion=complete_torch)
]
SystemOption = Annotated[
    bool,
    typer.Option("--system", help="Allow installing into a system interpreter (no venv)."),
]


def install(
    profiles: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PROFILE",
            help="api (OpenAI client), local (torch, transformers, ...), all. Default: all.",
            show_default=False,
            autocompletion=complete_profiles,
        ),
    ] = None,
    torch: TorchOption = "auto",
    installer: Annotated[
        str,
        typer.Option("--installer", help="auto: uv when it is on PATH, else pip; or uv; or pip."),
    ] = "auto",
    python: Annotated[
        str | None,
        typer.Option(
            "--python",
            help="Install into this interpreter (or virtualenv directory) instead of the one"
            " chatenv runs in.",
        ),
    ] = None,
    system: SystemOption = False,
    upgrade: Annotated[
        bool,
        typer.Option("--upgrade", "-U", help="Move to the newest versions the pins allow."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and change nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Install an explicit --torch cuXYZ this machine cannot run."),
    ] = False,
    log_file: Annotated[
        Path | None,
        typer.Option("--log-file", help="Write the installer's full output here.", dir_okay=False),
    ] = None,
    fmt: Annotated[Format | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=VERBOSE_HELP)] = False,
) -> None:
    """Install a pinned LLM stack and the PyTorch build this machine can run, then verify it.

    Shows the plan first: install / upgrade / keep per package, torch's index, and why.

    Does nothing, fast, when everything already satisfies the pins.

    Exit 0 when installed and verified, 1 when something failed, 2 for usage errors, 130 on Ctrl-C.
    """
    with cli_errors("install", fmt=fmt, as_json=as_json, verbose=verbose) as chosen:
        from chatenv.install.command import InstallOptions

        options = InstallOptions(
            profiles=tuple(profiles or ("all",)),
            torch=torch,
            installer=installer,
            python=python,
            system=system,
            upgrade=upgrade,
            force=force,
            log_file=log_file,
        )
        report, shown = run_install(options, dry_run=dry_run, fmt=chosen, verbose=verbose)
    finish(report, fmt=chosen, verbose=verbose, shown=shown)


class Declined(Exception):
    """The user answered no to setup's question before the installer ran."""


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
        raise Declined()
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
