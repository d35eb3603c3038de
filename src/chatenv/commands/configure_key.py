"""`chatenv configure-key`: read the key (or, with --hf, the Hugging Face token) without echo,
check it, verify it, store it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv.errors import Interrupted
from chatenv.problems import problem

if TYPE_CHECKING:
    from collections.abc import Callable

    from chatenv.keys.config import EnvFileChoice
    from chatenv.keys.configure import ConfigureRequest
    from chatenv.results import CheckResult, Report

PROMPT = "OpenAI API key (input hidden): "
HF_PROMPT = "Hugging Face token (input hidden): "


def run_configure(
    *,
    env_file: Path | None,
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
    hf: bool = False,
    interactive: bool,
    ask: Callable[[str], bool] | None = None,
) -> Report:
    """Read the key (`--key`, text already read from a pipe, the hidden prompt when
    `interactive`, else stdin), check it, verify it, store it. Questions (the .gitignore offer)
    only when `interactive`, through `ask` (the CLI's yes/no prompt); otherwise the defaults, and
    a warning naming the flag. `hf`: the secret is a Hugging Face token (HF_TOKEN), verified
    with the hub; the OpenAI settings are then refused."""
    from chatenv import output
    from chatenv.keys import configure as command
    from chatenv.keys.config import locate_env_file

    located = locate_env_file(env_file, Path.cwd())
    _say_where(located, output.notice)
    try:
        request, extra = _request(
            env_file=located.path,
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
            hf=hf,
            interactive=interactive,
        )
        return command.configure(
            request,
            environ=os.environ,
            ask=ask if interactive else None,
            notify=output.notice,
            progress=output.hint,
            extra=extra,
        )
    except KeyboardInterrupt:  # at a prompt or while verifying: before any write
        raise problem("key.interrupted").error(Interrupted) from None


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
    hf: bool = False,
    interactive: bool,
) -> tuple[ConfigureRequest, tuple[CheckResult, ...]]:
    """Check the options, then read the key (last, so a bad option costs no typing)."""
    from chatenv import output
    from chatenv.keys import key_input
    from chatenv.keys.config import KEY
    from chatenv.keys.configure import ConfigureRequest
    from chatenv.keys.hf_token import HF_TOKEN
    from chatenv.keys.mask import Secret
    from chatenv.keys.verify import VerifyMode

    if not 0 < timeout <= 600:
        raise problem("key.timeout-range").error()
    openai_options = [
        name
        for name, value in (
            ("--base-url", base_url),
            ("--organization", organization),
            ("--project", project),
        )
        if value is not None
    ]
    if hf and openai_options:
        raise problem("key.hf-openai-options").error(options=", ".join(openai_options))
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
        prompt = _prompt_hidden_hf if hf else _prompt_hidden
        raw = key_input.read_key(sys.stdin, interactive=interactive, prompt=prompt)
    cleaned, notes = key_input.normalize(raw, HF_TOKEN if hf else KEY)
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
        hf=hf,
    )
    return request, tuple(extra)


def _prompt_hidden() -> str:
    return _hidden(PROMPT)


def _prompt_hidden_hf() -> str:
    return _hidden(HF_PROMPT)


def _hidden(prompt: str) -> str:
    import getpass

    from chatenv import output

    try:  # the prompt goes to the terminal (/dev/tty), or to stderr where there is none
        return getpass.getpass(prompt)
    except (KeyboardInterrupt, EOFError):  # getpass ends the prompt's line only on success
        output.end_prompt_line()
        raise


def _say_where(located: EnvFileChoice, notice: Callable[[str], None]) -> None:
    """Which .env is written when it is not the one in this folder, and a warning before
    creating one that would hide the project's from code run here."""
    from chatenv.problems import problem

    here = Path.cwd().absolute()
    if located.shadows is not None:
        notice(problem("key.env-file-shadows").text(path=located.path, other=located.shadows))
    elif located.how == "found" and located.path.parent != here:
        notice(problem("key.env-file-found-above").text(path=located.path))
    elif located.how == "new" and located.path.parent != here:
        notice(problem("key.env-file-at-root").text(path=located.path))
