"""`chatenv smoke-test`: does this environment actually work? One local generation (and, with
--train, one training step) and one API completion, each timed; or, with --distributed, the
torch.distributed test across this node's GPUs or many nodes."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from chatenv.cli._common import cli_errors, finish
from chatenv.cli._options import EnvFileOption, FormatOption, JsonOption, VerboseOption
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
    env_file: EnvFileOption = None,
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
    fmt: FormatOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Prove the environment works: generate with a local model and complete with the API.

    Exit 0 when every stage asked for passed, 1 when one failed, 2 for usage errors."""
    with cli_errors(
        "smoke-test",
        fmt=fmt,
        as_json=as_json,
        verbose=verbose,
        env_file=env_file,
        model=model if model != DEFAULT_MODEL else None,
    ) as chosen:
        from chatenv.commands.smoke_test import run_smoke
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
