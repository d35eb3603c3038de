"""`chatenv init`: write a first project file from this machine (the body:
`chatenv.commands.init`)."""

from __future__ import annotations

from typing import Annotated

import typer

from chatenv.cli._common import cli_errors, finish
from chatenv.cli._options import EnvFileOption, FormatOption, JsonOption, VerboseOption


def init(
    chatenv_toml: Annotated[
        bool,
        typer.Option(
            "--chatenv-toml",
            help="Write chatenv.toml even where the project has a pyproject.toml (default: "
            "append a [tool.chatenv] table to it).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the project file and write nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing chatenv.toml.")
    ] = False,
    env_file: EnvFileOption = None,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Write a first project file from this machine: the chatenv profiles it uses, the LLM
    packages when the project declares none, the torch build, the environment variables and
    hub models its code reads, the API model. Names only: no value of a variable is written.
    doctor then judges machines by it and setup provisions it (docs/project-file.md).

    Exit 0 when written, 1 when a project file exists already or cannot be written, 2 for
    usage errors."""
    with cli_errors("init", fmt=fmt, as_json=as_json, verbose=verbose) as chosen:
        from chatenv.commands.init import run_init

        report = run_init(
            env_file=env_file, chatenv_toml=chatenv_toml, dry_run=dry_run, force=force
        )
    finish(report, fmt=chosen, verbose=verbose)
