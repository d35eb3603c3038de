"""`chatenv schema COMMAND`: print the JSON Schema of a command's `--json` document."""

from __future__ import annotations

from typing import Annotated

import typer

from chatenv.cli._common import cli_errors, complete_schema_commands


def schema(
    command: Annotated[
        str,
        typer.Argument(
            metavar="COMMAND",
            help="doctor, install, configure-key, smoke-test, setup or init.",
            show_default=False,
            autocompletion=complete_schema_commands,
        ),
    ],
) -> None:
    """Print the JSON Schema (draft 2020-12) that COMMAND's --json output follows, e.g. to
    validate CI output: chatenv schema doctor > doctor.schema.json. Exit 0 with the schema on
    stdout, 2 for an unknown command."""
    with cli_errors():
        from chatenv import output
        from chatenv.schemas import schema_text

        output.write_stdout(schema_text(command))
