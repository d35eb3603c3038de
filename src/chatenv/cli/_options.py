"""The options every command shares, declared once (as hf's `cli/_cli_utils.py` does): a
command lists them in its signature; it does not restate them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chatenv.cli._common import FORMAT_HELP, JSON_HELP, VERBOSE_HELP, Format

FormatOption = Annotated[Format | None, typer.Option("--format", help=FORMAT_HELP)]
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help=VERBOSE_HELP)]
EnvFileOption = Annotated[
    Path | None,
    typer.Option(
        "--env-file",
        help="The .env file with OPENAI_API_KEY and friends (default: the nearest .env in this"
        " folder or above it, up to the project's root, as python-dotenv's load_dotenv() finds"
        " it; a new one goes in the project's root).",
        show_default=False,
    ),
]
