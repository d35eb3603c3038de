"""`chatenv doctor`'s fast path: a parser for the command lines made only of doctor's own
options, which then runs the command without importing Typer (see `chatenv.cli.main`); the
body is `chatenv.commands.doctor`. Nothing here imports Typer or Rich."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chatenv.cli._common import Format, cli_errors, finish

#: doctor's flags and the parameter each sets (`fast_args` reads them; a test checks that this
#: table and the Typer options in cli/doctor.py name the same options).
FLAGS: dict[str, str] = {
    "--json": "as_json",
    "--verbose": "verbose",
    "-v": "verbose",
    "--strict": "strict",
    "--offline": "offline",
    "--deep": "deep",
}
#: doctor's options that take a value, and the parameter each sets
VALUE_OPTIONS: dict[str, str] = {
    "--env-file": "env_file",
    "--format": "fmt",
    "--model": "model",
    "-m": "model",
}


def run_command(
    *,
    fmt: Format | None = None,
    as_json: bool = False,
    verbose: bool = False,
    strict: bool = False,
    offline: bool = False,
    deep: bool = False,
    env_file: Path | None = None,
    model: str | None = None,
) -> None:
    """Run doctor, print its report in the chosen format and exit with its code."""
    with cli_errors(
        "doctor", fmt=fmt, as_json=as_json, verbose=verbose, env_file=env_file, model=model
    ) as chosen:
        from chatenv.commands.doctor import run_doctor

        report = run_doctor(
            env_file=env_file,
            offline=offline,
            deep=deep,
            strict=strict,
            hints=chosen == "text",
            model=model,
        )
    finish(report, fmt=chosen, verbose=verbose)


def fast_args(argv: Sequence[str]) -> dict[str, object] | None:
    """doctor's options from a command line made only of its own flags, `--env-file PATH`,
    `--model MODEL` and `--format FORMAT`, or None for anything else (help, an unknown option,
    a missing value), which Typer then parses and, if need be, rejects with its usual message.

    Why: importing Typer costs ~80 ms, and the Typer installed with chatenv coerces every
    non-flag option through a pydantic TypeAdapter (importing pydantic for `--env-file`: ~150 ms
    and 14 MB), together more than a third of `chatenv doctor`'s run time on a 2-core machine
    (python -X importtime). The command every user runs first, and CI runs on every node, should
    not pay that."""
    kwargs: dict[str, object] = {}
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, eq, value = arg.partition("=")
        if arg in FLAGS:
            kwargs[FLAGS[arg]] = True
        elif name in VALUE_OPTIONS and eq:
            kwargs[VALUE_OPTIONS[name]] = value
        elif arg in VALUE_OPTIONS and args and not args[0].startswith("-"):
            kwargs[VALUE_OPTIONS[arg]] = args.pop(0)
        else:
            return None
    if "env_file" in kwargs:
        kwargs["env_file"] = Path(str(kwargs["env_file"]))
    if "fmt" in kwargs:
        if kwargs["fmt"] not in {f.value for f in Format}:
            return None  # Typer says which values it takes
        kwargs["fmt"] = Format(kwargs["fmt"])
    return kwargs


def run_fast(argv: Sequence[str]) -> bool:
    """Run doctor without Typer's parsing when `fast_args` can read the command line. Returns
    False (having done nothing) when it cannot. Exits the process (SystemExit) when it ran."""
    kwargs = fast_args(argv)
    if kwargs is None:
        return False
    run_command(**kwargs)  # type: ignore[arg-type]
    return True
