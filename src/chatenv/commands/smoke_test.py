"""`chatenv smoke-test`: one local generation (and, with --train, one training step) and one
API completion, each timed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from chatenv.problems import problem
from chatenv.smoke import DEFAULT_MAX_NEW_TOKENS, DEFAULT_MODEL, DEFAULT_PROMPT

if TYPE_CHECKING:
    from chatenv.keys.hf_token import HfTokenConfig
    from chatenv.results import Report


def run_smoke(
    *,
    local: bool = True,
    train: bool = False,
    model: str = DEFAULT_MODEL,
    prompt: str = DEFAULT_PROMPT,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    device: str = "auto",
    dtype: str = "auto",
    api: bool = True,
    api_model: str | None = None,
    api_mode: str = "chat",
    env_file: Path = Path(".env"),
    timeout: float = 10.0,
    show_progress: bool = False,
) -> Report:
    """Check the options, then run the stages asked for (progress on stderr if asked)."""
    from chatenv import output
    from chatenv.smoke import hub
    from chatenv.smoke.api_stage import ApiOptions
    from chatenv.smoke.device import parse_device
    from chatenv.smoke.local import LocalOptions
    from chatenv.smoke.runner import SmokeOptions, run

    if train and not local:
        raise problem("smoke.train-without-local").error()
    if not local and not api:
        raise problem("smoke.nothing-to-test").error()
    if api_model is not None and not api_model.strip():
        raise problem("smoke.api-model-empty").error()
    local_options = None
    if local:
        if not prompt.strip():
            raise problem("smoke.prompt-empty").error()
        local_options = LocalOptions(
            model=hub.model_ref(model),
            prompt=prompt,
            max_new_tokens=max_new_tokens,
            device=parse_device(device),
            dtype=dtype,
            hub_timeout_s=timeout,
            download_bars=show_progress,
            hf_token=_hf_token(env_file),
        )
    api_options = None
    if api:
        api_options = ApiOptions(
            env_file=env_file,
            model=api_model.strip() if api_model else None,
            mode=api_mode,
            timeout_s=timeout,
        )
    options = SmokeOptions(local=local_options, train=train, api=api_options)
    with output.smoke_progress(enabled=show_progress) as progress:
        return run(options, progress)


def _hf_token(env_file: Path) -> HfTokenConfig:
    """The Hugging Face token a download sends, as the user's code sees it: HF_TOKEN in the
    environment, else in the .env file (as after load_dotenv()), else `hf auth login`'s file."""
    import os

    from chatenv.keys import hf_token
    from chatenv.system.hf_cache import token_path

    home = Path(os.environ.get("HOME") or Path.home())
    return hf_token.resolve(os.environ, env_file, token_path(os.environ, home))
