"""`chatenv configure-key`: store the OpenAI key (or, with --hf, the Hugging Face token) in a
.env file, verified, never echoed."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from chatenv.cli._common import (
    cli_errors,
    confirm,
    finish,
)
from chatenv.cli._options import EnvFileOption, FormatOption, JsonOption, VerboseOption
from chatenv.problems import problem


def configure_key(
    env_file: EnvFileOption = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="Also set OPENAI_BASE_URL (vLLM, Ollama, LiteLLM or another compatible server).",
        ),
    ] = None,
    organization: Annotated[
        str | None, typer.Option("--organization", help="Also set OPENAI_ORG_ID (org-...).")
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="Also set OPENAI_PROJECT_ID (proj_...).")
    ] = None,
    verify: Annotated[
        bool | None,
        typer.Option(
            "--verify/--no-verify",
            help="Check the key by listing models (no tokens spent). Default: check, and save "
            "unverified with a warning if the server cannot be reached; --verify makes an "
            "unreachable server a failure; --no-verify for offline CI.",
            show_default=False,
        ),
    ] = None,
    save_anyway: Annotated[
        bool, typer.Option("--save-anyway", help="Save the key even if verification fails.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the verification answer.")
    ] = 10.0,
    gitignore: Annotated[
        bool | None,
        typer.Option(
            "--gitignore/--no-gitignore",
            help="Add the file to .gitignore if git would commit it (default: ask on a "
            "terminal; otherwise leave it and warn).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Write the key even into a file git tracks.")
    ] = False,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="The key itself. Avoid it: it stays in shell history and shows in `ps`; "
            "pipe the key on stdin or type it at the hidden prompt instead.",
        ),
    ] = None,
    show: Annotated[
        bool,
        typer.Option("--show", help="Print where the key comes from now (masked); write nothing."),
    ] = False,
    hf: Annotated[
        bool,
        typer.Option(
            "--hf",
            help="The Hugging Face token instead (HF_TOKEN, for gated models), verified with the "
            "hub's whoami (HF_ENDPOINT honoured). With --show: where the token comes from.",
        ),
    ] = False,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Store the OpenAI API key (--hf: the Hugging Face token) in a .env file: read without echo
    (a hidden prompt, or stdin when piped), verified against the API (the hub), written
    atomically with mode 0600, every other line kept. Exit 0 when saved, 1 when verification or
    the file refused it, 2 for bad input."""
    with cli_errors(
        "configure-key", fmt=fmt, as_json=as_json, verbose=verbose, env_file=env_file
    ) as chosen:
        from chatenv.keys import configure as command

        if show:
            given = [o for o, v in _write_options(key, base_url, organization, project) if v]
            if given:
                raise problem("key.show-writes-nothing").error(options=", ".join(given))
            from chatenv.keys.config import locate_env_file

            located = locate_env_file(env_file, Path.cwd())
            shown = (command.show_hf if hf else command.show)(located.path, os.environ)
            finish(shown, fmt=chosen, verbose=verbose)
        from chatenv.commands.configure_key import run_configure

        report = run_configure(
            env_file=env_file,
            key=key,
            base_url=base_url,
            organization=organization,
            project=project,
            verify=verify,
            save_anyway=save_anyway,
            timeout=timeout,
            gitignore=gitignore,
            force=force,
            hf=hf,
            interactive=sys.stdin.isatty(),
            ask=confirm,
        )
    finish(report, fmt=chosen, verbose=verbose)


def _write_options(
    key: str | None, base_url: str | None, organization: str | None, project: str | None
) -> list[tuple[str, str | None]]:
    return [
        ("--key", key),
        ("--base-url", base_url),
        ("--organization", organization),
        ("--project", project),
    ]
