"""The Typer app. Each command lives in its own module beside this one and only parses options,
calls the library, hands the results to `chatenv.output` and picks the exit code.

Nothing heavy is imported here: `chatenv --help` must stay fast and must not import torch,
transformers or openai.
"""

from __future__ import annotations

import typer

from chatenv.cli import configure_key, doctor, init, install, schema, setup, smoke_test

app = typer.Typer(
    name="chatenv",
    help="Take this machine to a verified LLM development environment, and prove it works.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help and usage errors: Typer's Rich help imports rich.markdown, markdown_it and
    # rich.traceback, ~140 ms of a ~290 ms `chatenv --help` on a 2-core machine.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        from chatenv import __version__

        typer.echo(f"chatenv {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """Take this machine to a verified LLM development environment, and prove it works."""


app.command("doctor")(doctor.doctor)
app.command("install")(install.install)
app.command("configure-key")(configure_key.configure_key)
app.command("smoke-test")(smoke_test.smoke_test)
app.command("setup")(setup.setup)
app.command("init")(init.init)
app.command("schema")(schema.schema)
