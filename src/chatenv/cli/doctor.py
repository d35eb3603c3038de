"""`chatenv doctor`: is this machine ready for LLM development?"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from chatenv.cli._common import JSON_HELP, VERBOSE_HELP, cli_errors, finish

ENV_FILE_HELP = "The .env file to inspect (default: ./.env)."

#: doctor's flags and the parameter each sets (`fast_args` reads them; a test checks that this
#: table and the Typer options below name the same options).
FLAGS: dict[str, str] = {
    "--json": "as_json",
    "--verbose": "verbose",
    "-v": "verbose",
    "--strict": "strict",
    "--offline": "offline",
    "--deep": "deep",
}


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
    env_file: Annotated[Path, typer.Option("--env-file", help=ENV_FILE_HELP)] = Path(".env"),
) -> None:
    """Check this machine: OS, Python, packages, GPU and driver, torch build, disk, OpenAI key,
    network. Exit 0 when nothing failed, 1 when something did, 2 for usage errors."""
    with cli_errors(verbose=verbose):
        from chatenv.doctor.runner import DoctorOptions, build_report
        from chatenv.doctor.sections import SECTIONS
        from chatenv.problems import problem

        if env_file.is_dir():
            raise problem("doctor.env-file-is-directory").error(path=env_file)
        if deep and not as_json:
            from chatenv import output

            output.hint("--deep: importing torch in a subprocess (this takes a few seconds)")
        options = DoctorOptions(env_file=env_file, offline=offline, deep=deep, strict=strict)
        report = build_report(SECTIONS, options)
    finish(report, as_json=as_json, verbose=verbose)


def fast_args(argv: Sequence[str]) -> dict[str, object] | None:
    """doctor's options from a command line made only of its own flags and `--env-file PATH`,
    or None for anything else (help, an unknown option, a missing value), which Typer then
    parses and, if need be, rejects with its usual message.

    Why: the Typer installed with chatenv coerces every non-flag option through a pydantic
    TypeAdapter, and importing pydantic for `--env-file` costs ~150 ms and 14 MB, a third of
    `chatenv doctor`'s run time on a 2-core machine (python -X importtime). The command every
    user runs first, and CI runs on every node, should not pay that for one path."""
    kwargs: dict[str, object] = {}
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in FLAGS:
            kwargs[FLAGS[arg]] = True
        elif arg.startswith("--env-file="):
            kwargs["env_file"] = Path(arg.partition("=")[2])
        elif arg == "--env-file" and args and not args[0].startswith("-"):
            kwargs["env_file"] = Path(args.pop(0))
        else:
            return None
    return kwargs


def run_fast(argv: Sequence[str]) -> bool:
    """Run doctor without Typer's parsing when `fast_args` can read the command line. Returns
    False (having done nothing) when it cannot. Exits the process when it ran."""
    kwargs = fast_args(argv)
    if kwargs is None:
        return False
    try:
        doctor(**kwargs)  # type: ignore[arg-type]
    except typer.Exit as done:
        sys.exit(done.exit_code)
    return True
