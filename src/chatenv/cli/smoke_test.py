"""`chatenv smoke-test`: does this environment actually work? One local generation (and, with
--train, one training step) and one API completion, each timed; or, with --distributed, the
torch.distributed test across this node's GPUs or many nodes."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from chatenv.cli._common import FORMAT_HELP, JSON_HELP, VERBOSE_HELP, Format, cli_errors, finish
from chatenv.problems import problem
from chatenv.results import Report
from chatenv.smoke import DEFAULT_MAX_NEW_TOKENS, DEFAULT_MODEL, DEFAULT_PROMPT


class ApiMode(str, Enum):
    chat = "chat"
    responses = "responses"


class Backend(str, Enum):
    auto = "auto"
    nccl = "nccl"
    gloo = "gloo"


class DType(str, Enum):
    auto = "auto"
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"


def smoke_test(
    local: Annotated[
        bool, typer.Option("--local/--no-local", help="Load a model and generate locally.")
    ] = True,
    train: Annotated[
        bool,
        typer.Option(
            "--train", help="Also take one optimizer step on the local model (loss must fall)."
        ),
    ] = False,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Hugging Face model id or local folder.")
    ] = DEFAULT_MODEL,
    prompt: Annotated[
        str, typer.Option("--prompt", help="The prompt to continue.")
    ] = DEFAULT_PROMPT,
    max_new_tokens: Annotated[
        int, typer.Option("--max-new-tokens", min=1, max=4096, help="Tokens to generate.")
    ] = DEFAULT_MAX_NEW_TOKENS,
    device: Annotated[
        str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")
    ] = "auto",
    dtype: Annotated[
        DType,
        typer.Option(
            "--dtype", help="Weights' dtype; auto keeps the checkpoint's (as transformers does)."
        ),
    ] = DType.auto,
    api: Annotated[
        bool, typer.Option("--api/--no-api", help="List models and make one API completion.")
    ] = True,
    api_model: Annotated[
        str | None,
        typer.Option(
            "--api-model",
            help="Model for the completion (default gpt-4.1-nano; on another OpenAI-compatible "
            "server, the first model it lists).",
            show_default=False,
        ),
    ] = None,
    api_mode: Annotated[
        ApiMode,
        typer.Option("--api-mode", help="chat (chat completions) or responses (Responses API)."),
    ] = ApiMode.chat,
    env_file: Annotated[
        Path, typer.Option("--env-file", help="The .env file with OPENAI_API_KEY and friends.")
    ] = Path(".env"),
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0.1,
            help="Seconds to wait for the network (hub, API) per request; with --distributed, "
            "for each collective.",
        ),
    ] = 10.0,
    distributed: Annotated[
        bool,
        typer.Option(
            "--distributed",
            help="Test torch.distributed instead: every rank's all-reduce (checked exactly), "
            "broadcast, barrier and bus bandwidth, on this node's GPUs or across nodes.",
        ),
    ] = False,
    nproc: Annotated[
        int | None,
        typer.Option(
            "--nproc",
            min=1,
            help="Workers on this node (default: one per GPU; 2 CPU workers with gloo).",
            show_default=False,
        ),
    ] = None,
    nnodes: Annotated[
        int | None,
        typer.Option(
            "--nnodes",
            min=1,
            help="Nodes in the run, each running chatenv (default 1).",
            show_default=False,
        ),
    ] = None,
    node_rank: Annotated[
        int | None,
        typer.Option(
            "--node-rank",
            min=0,
            help="This node's index, 0 to NNODES-1 (default 0).",
            show_default=False,
        ),
    ] = None,
    rdzv_endpoint: Annotated[
        str | None,
        typer.Option(
            "--rdzv-endpoint",
            help="HOST:PORT where node 0 listens (needed with --nnodes above 1).",
            show_default=False,
        ),
    ] = None,
    backend: Annotated[
        Backend | None,
        typer.Option(
            "--backend", help="nccl, gloo, or auto: nccl with GPUs (default).", show_default=False
        ),
    ] = None,
    rdzv_timeout: Annotated[
        float | None,
        typer.Option(
            "--rdzv-timeout",
            min=0.1,
            help="Seconds every node and rank gets to arrive (default 60).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[Format | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=VERBOSE_HELP)] = False,
) -> None:
    """Prove the environment works: generate with a local model and complete with the API.

    Exit 0 when every stage asked for passed, 1 when one failed, 2 for usage errors."""
    with cli_errors("smoke-test", fmt=fmt, as_json=as_json, verbose=verbose) as chosen:
        from chatenv.smoke import distributed as dist

        report = dist.from_cli(
            distributed=distributed,
            train=train,
            nproc=nproc,
            nnodes=nnodes,
            node_rank=node_rank,
            rdzv_endpoint=rdzv_endpoint,
            backend=backend.value if backend else None,
            rdzv_timeout=rdzv_timeout,
            timeout=timeout,
            show_progress=chosen == "text" and sys.stderr.isatty(),
        ) or run_smoke(
            local=local,
            train=train,
            model=model,
            prompt=prompt,
            max_new_tokens=max_new_tokens,
            device=device,
            dtype=dtype.value,
            api=api,
            api_model=api_model,
            api_mode=api_mode.value,
            env_file=env_file,
            timeout=timeout,
            show_progress=chosen == "text" and sys.stderr.isatty(),
        )
    finish(report, fmt=chosen, verbose=verbose)


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
