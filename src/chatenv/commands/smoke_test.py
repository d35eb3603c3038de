"""`chatenv smoke-test`: one local generation (and, with --train, one training step) and one
API completion, each timed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv.problems import problem
from chatenv.smoke import DEFAULT_MAX_NEW_TOKENS, DEFAULT_MODEL, DEFAULT_PROMPT

if TYPE_CHECKING:
    from collections.abc import Mapping

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
    env_file: Path | None = None,
    timeout: float = 10.0,
    show_progress: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Report:
    """Check the options, then run the stages asked for (progress on stderr if asked).
    `environ`: what the API stage reads its settings from (default: this process's; setup
    on a project passes the endpoint its project file names)."""
    from chatenv import output
    from chatenv.keys.config import locate_env_file
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
    env_path = locate_env_file(env_file, Path.cwd()).path
    local_options = None
    if local:
        if not prompt.strip():
            raise problem("smoke.prompt-empty").error()
        wanted = parse_device(device)
        if wanted.kind == "cuda":
            _refuse_cuda_without_gpu(device)
        local_options = LocalOptions(
            model=hub.model_ref(model),
            prompt=prompt,
            max_new_tokens=max_new_tokens,
            device=wanted,
            dtype=dtype,
            hub_timeout_s=timeout,
            download_bars=show_progress,
            hf_token=_hf_token(env_path),
        )
    api_options = None
    if api:
        api_options = ApiOptions(
            env_file=env_path,
            model=api_model.strip() if api_model else None,
            mode=api_mode,
            timeout_s=timeout,
            environ=dict(os.environ if environ is None else environ),
        )
    options = SmokeOptions(local=local_options, train=train, api=api_options)
    with output.smoke_progress(enabled=show_progress) as progress:
        return run(options, progress)


def _refuse_cuda_without_gpu(device: str) -> None:
    """`--device cuda` on a machine with no NVIDIA driver and no AMD GPU (ROCm's torch answers
    to "cuda" too) is refused before torch is imported (~18 s on a 2-core machine for an answer
    NVML gives in milliseconds), with the line typed with --device cpu."""
    from chatenv.problems.invocation import with_option
    from chatenv.system.nvml import ProbeState
    from chatenv.system.seams import Seams

    seams = Seams()
    found = seams.probe_gpus()
    if found.state not in (ProbeState.NO_LIBRARY, ProbeState.NO_DRIVER, ProbeState.NO_DEVICE):
        return
    if seams.probe_amd().has_gpu:
        return
    why = {
        ProbeState.NO_LIBRARY: "no NVIDIA driver is installed",
        ProbeState.NO_DRIVER: "the NVIDIA driver is not loaded",
        ProbeState.NO_DEVICE: "the NVIDIA driver reports no GPU",
    }[found.state]
    raise problem("smoke.cuda-without-gpu").error(
        device=device,
        why=why,
        retyped=with_option("--device", "cpu", "chatenv smoke-test --device cpu"),
    )


def _hf_token(env_file: Path) -> HfTokenConfig:
    """The Hugging Face token a download sends, as the user's code sees it: HF_TOKEN in the
    environment, else in the .env file (as after load_dotenv()), else `hf auth login`'s file."""
    import os

    from chatenv.keys import hf_token
    from chatenv.system.hf_cache import token_path

    home = Path(os.environ.get("HOME") or Path.home())
    return hf_token.resolve(os.environ, env_file, token_path(os.environ, home))
