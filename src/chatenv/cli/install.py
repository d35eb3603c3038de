"""`chatenv install`: pinned profiles and the right PyTorch build for this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chatenv.cli._common import (
    cli_errors,
    complete_profiles,
    complete_torch,
    finish,
)
from chatenv.cli._options import FormatOption, JsonOption, VerboseOption

TORCH_HELP = (
    "auto: the newest CUDA build this driver and every GPU can run (the ROCm build when the"
    " only GPUs are AMD's; CPU without a GPU); cpu; a CUDA variant such as cu126, cu130, cu132;"
    " or a ROCm variant such as rocm7.2."
)
#: the options install and setup share, declared once
TorchOption = Annotated[
    str, typer.Option("--torch", help=TORCH_HELP, autocompletion=complete_torch)
]
TorchIndexOption = Annotated[
    str | None,
    typer.Option(
        "--torch-index",
        help="Where torch comes from: a mirror of the PyTorch index (Artifactory, Nexus, devpi;"
        " its base, laid out as https://download.pytorch.org/whl), or `configured`: the"
        " installer's own configured package index. Default: $CHATENV_TORCH_INDEX, else"
        " download.pytorch.org.",
        show_default=False,
    ),
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
    torch_index: TorchIndexOption = None,
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
    fmt: FormatOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
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
            torch_index=torch_index,
            installer=installer,
            python=python,
            system=system,
            upgrade=upgrade,
            force=force,
            log_file=log_file,
        )
        from chatenv.commands.install import run_install

        report, shown = run_install(options, dry_run=dry_run, fmt=chosen, verbose=verbose)
    finish(report, fmt=chosen, verbose=verbose, shown=shown)
