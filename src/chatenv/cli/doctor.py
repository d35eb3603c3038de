"""`chatenv doctor`: is this machine ready for LLM development?"""

from __future__ import annotations

from typing import Annotated

import typer

from chatenv.cli._options import EnvFileOption, FormatOption, JsonOption, VerboseOption
from chatenv.cli.doctor_fast import FLAGS, VALUE_OPTIONS, fast_args, run_command

# the tests reach these through this module, the command's home
__all__ = ["FLAGS", "VALUE_OPTIONS", "doctor", "fast_args"]


def doctor(
    fmt: FormatOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
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
    env_file: EnvFileOption = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Also check that the hub lets this token download this model (gated models); "
            "default: the smoke test's model, when a token is set.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check this machine: OS, Python, packages, GPU and driver, torch build, disk, OpenAI key,
    Hugging Face token, network. Exit 0 when nothing failed, 1 when something did, 2 for usage
    errors."""
    run_command(
        fmt=fmt,
        as_json=as_json,
        verbose=verbose,
        strict=strict,
        offline=offline,
        deep=deep,
        env_file=env_file,
        model=model,
    )
