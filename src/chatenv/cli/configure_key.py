"""`chatenv configure-key`: store the OpenAI key in a .env file, verified, never echoed."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chatenv.cli._common import FORMAT_HELP, JSON_HELP, VERBOSE_HELP, Format, cli_errors, finish
from chatenv.errors import Interrupted
from chatenv.problems import problem

if TYPE_CHECKING:
    from chatenv.keys.configure import ConfigureRequest
    from chatenv.results import CheckResult, Report

PROMPT = "OpenAI API key (input hidden): "


def configure_key(
    env_file: Annotated[
        Path, typer.Option("--env-file", help="The .env file to write (created 0600 if missing).")
    ] = Path(".env"),
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
    fmt: Annotated[Format | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=VERBOSE_HELP)] = False,
) -> None:
    """Store the OpenAI API key in a .env file: read without echo (a hidden prompt, or stdin
    when piped), verified against the API, written atomically with mode 0600, every other line
    kept. Exit 0 when saved, 1 when verification or the file refused it, 2 for bad input."""
    with cli_errors("configure-key", fmt=fmt, as_json=as_json, verbose=verbose) as chosen:
        from chatenv.keys import configure as command

        if show:
            given = [o for o, v in _write_options(key, base_url, organization, project) if v]
            if given:
                raise problem("key.show-writes-nothing").error(options=", ".join(given))
            finish(command.show(env_file, os.environ), fmt=chosen, verbose=verbose)
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
            interactive=sys.stdin.isatty(),
        )
    finish(report, fmt=chosen, verbose=verbose)


def run_configure(
    *,
    env_file: Path,
    key: str | None = None,
    piped: str | None = None,
    base_url: str | None = None,
    organization: str | None = None,
    project: str | None = None,
    verify: bool | None = None,
    save_anyway: bool = False,
    timeout: float = 10.0,
    gitignore: bool | None = None,
    force: bool = False,
    interactive: bool,
) -> Report:
    """Read the key (`--key`, text already read from a pipe, the hidden prompt when
    `interactive`, else stdin), check it, verify it, store it. Questions (the .gitignore offer)
    only when `interactive`; otherwise the defaults, and a warning naming the flag."""
    from chatenv import output
    from chatenv.keys import configure as command

    try:
        request, extra = _request(
            env_file=env_file,
            key=key,
            piped=piped,
            base_url=base_url,
            organization=organization,
            project=project,
            verify=verify,
            save_anyway=save_anyway,
            timeout=timeout,
            gitignore=gitignore,
            force=force,
            interactive=interactive,
        )
        return command.configure(
            request,
            environ=os.environ,
            ask=_ask if interactive else None,
            notify=output.notice,
            progress=output.hint,
            extra=extra,
        )
    except KeyboardInterrupt:  # at a prompt or while verifying: before any write
        raise problem("key.interrupted").error(Interrupted) from None


def _write_options(
    key: str | None, base_url: str | None, organization: str | None, project: str | None
) -> list[tuple[str, str | None]]:
    return [
        ("--key", key),
        ("--base-url", base_url),
        ("--organization", organization),
        ("--project", project),
    ]


def _request(
    *,
    env_file: Path,
    key: str | None,
    piped: str | None,
    base_url: str | None,
    organization: str | None,
    project: str | None,
    verify: bool | None,
    save_anyway: bool,
    timeout: float,
    gitignore: bool | None,
    force: bool,
    interactive: bool,
) -> tuple[ConfigureRequest, tuple[CheckResult, ...]]:
    """Check the options, then read the key (last, so a bad option costs no typing)."""
    from chatenv import output
    from chatenv.keys import key_input
    from chatenv.keys.configure import ConfigureRequest
    from chatenv.keys.mask import Secret
    from chatenv.keys.verify import VerifyMode

    if not 0 < timeout <= 600:
        raise problem("key.timeout-range").error()
    extra: list[CheckResult] = []
    if base_url is not None:
        base_url = key_input.validate_base_url(base_url)
    if organization is not None:
        organization, warning = key_input.validate_id("--organization", organization, "org-")
        extra += [warning] if warning else []
    if project is not None:
        project, warning = key_input.validate_id("--project", project, "proj_")
        extra += [warning] if warning else []

    if key is not None:
        output.notice(problem("key.key-on-command-line").text())
        raw = key
    elif piped is not None:
        raw = piped
    else:
        raw = key_input.read_key(sys.stdin, interactive=interactive, prompt=_prompt_hidden)
    cleaned, notes = key_input.normalize(raw)
    key_input.validate(cleaned)
    secret = Secret(cleaned)  # registered: from here on it is masked in every output
    for note in notes:
        output.notice(note)
    mode = {None: VerifyMode.AUTO, True: VerifyMode.ON, False: VerifyMode.OFF}[verify]
    request = ConfigureRequest(
        env_file=env_file,
        key=secret,
        base_url=base_url,
        organization=organization,
        project=project,
        verify=mode,
        save_anyway=save_anyway,
        timeout=timeout,
        gitignore=gitignore,
        force=force,
    )
    return request, tuple(extra)


def _prompt_hidden() -> str:
    import getpass

    from chatenv import output

    try:  # the prompt goes to the terminal (/dev/tty), or to stderr where there is none
        return getpass.getpass(PROMPT)
    except (KeyboardInterrupt, EOFError):  # getpass ends the prompt's line only on success
        output.end_prompt_line()
        raise


def _ask(question: str) -> bool:
    from chatenv import output

    return output.confirm(question, default=True)
