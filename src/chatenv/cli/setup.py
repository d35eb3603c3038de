"""`chatenv setup`: doctor, install, configure-key and smoke-test in one run (the body:
`chatenv.commands.setup`)."""

from __future__ import annotations

from typing import Annotated

import typer

from chatenv.cli._common import (
    ask_value,
    cli_errors,
    complete_profiles,
    confirm,
    finish,
)
from chatenv.cli._options import EnvFileOption, FormatOption, JsonOption, VerboseOption
from chatenv.cli.install import SystemOption, TorchIndexOption, TorchOption


def setup(
    profiles: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PROFILE",
            help="What to set up: api, local or all (default). Installed, then smoke-tested.",
            show_default=False,
            autocompletion=complete_profiles,
        ),
    ] = None,
    torch: TorchOption = "auto",
    torch_index: TorchIndexOption = None,
    system: SystemOption = False,
    env_file: EnvFileOption = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="doctor skips its network checks.")
    ] = False,
    local: Annotated[
        bool, typer.Option("--local/--no-local", help="Smoke-test local generation.")
    ] = True,
    api: Annotated[
        bool,
        typer.Option(
            "--api/--no-api", help="Configure the key if missing and smoke-test the OpenAI API."
        ),
    ] = True,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Model for the local smoke test (hub id or folder). Default: the project "
            "file's [tool.chatenv.smoke] model, else gpt2.",
            show_default=False,
        ),
    ] = None,
    gitignore: Annotated[
        bool | None,
        typer.Option(
            "--gitignore/--no-gitignore",
            help="Add the .env file to .gitignore if git would commit it (default: ask on a "
            "terminal; yes with --yes; otherwise leave it and warn).",
            show_default=False,
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Ask nothing: install without confirming, add .env to .gitignore, take the key "
            "only from OPENAI_API_KEY or a pipe.",
        ),
    ] = False,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Set this machine up in one go: doctor, install, configure-key (when the key is missing
    and can be asked for or is piped in), smoke-test. Stops at the first stage that fails, with
    its fix, and prints one summary of every stage.

    Exit 0 when every stage passed or was not needed, 1 when one failed, 2 for bad options
    (before anything ran), 130 on Ctrl-C."""
    with cli_errors(
        "setup",
        fmt=fmt,
        as_json=as_json,
        verbose=verbose,
        env_file=env_file,
        model=model,
        profiles=profiles or (),
    ) as chosen:
        from chatenv.commands.setup import SetupRun, find_project, selection, smoke_model

        project = find_project()
        chosen_model = smoke_model(model, project)
        run = SetupRun(
            selection=selection(
                profiles or [],
                local=local,
                api=api,
                torch=torch,
                model=chosen_model,
                env_file=env_file,
                project=project,
            ),
            torch=torch,
            torch_index=torch_index,
            system=system,
            env_file=env_file,
            offline=offline,
            model=chosen_model,
            gitignore=gitignore,
            yes=yes,
            fmt=chosen,
            verbose=verbose,
            ask=confirm,
            project=project,
            ask_value=ask_value,
        )
        report = run.run()
    finish(report, fmt=chosen, verbose=verbose)
