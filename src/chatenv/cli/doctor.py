"""`chatenv doctor`: is this machine ready for LLM development?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chatenv.cli._common import JSON_HELP, VERBOSE_HELP, cli_errors, finish


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=VERBOSE_HELP)] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 on warnings too, not only on failures.")
    ] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Skip every check that uses the network.")
    ] = False,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep", help="Also import torch in a subprocess and run a small op on each GPU."
        ),
    ] = False,
    env_file: Annotated[Path, typer.Option("--env-file", help="The .env file to inspect.")] = Path(
        ".env"
    ),
) -> None:
    """Check this machine: OS, Python, packages, GPU and driver, torch build, disk, OpenAI key,
    network. Exit 0 when nothing failed, 1 when something did, 2 for usage errors."""
    with cli_errors(verbose=verbose):
        from chatenv.doctor.runner import DoctorOptions, build_report
        from chatenv.doctor.sections import SECTIONS
        from chatenv.errors import UsageError

        if env_file.is_dir():
            raise UsageError(
                f"--env-file {env_file} is a directory", fix="pass the .env file itself"
            )
        if deep and not as_json:
            from chatenv import output

            output.hint("--deep: importing torch in a subprocess (this takes a few seconds)")
        options = DoctorOptions(env_file=env_file, offline=offline, deep=deep, strict=strict)
        report = build_report(SECTIONS, options)
    finish(report, as_json=as_json, verbose=verbose)
