"""The API stage: list the models (free), then one completion with a tiny output limit.

Everything goes through the API layer: `chatenv.keys.config.resolve` (key, base URL,
organization and project from the environment or the .env file, as the user's own code sees
them), `chatenv.system.openai_client.make_client` (the real openai client, `max_retries=0`, the
timeout), `chatenv.api.calls` (the calls, read from the raw response: request id, usage) and
`chatenv.api.failures.classify` (what a failure means and its fix). This module only decides the
order, the model and the wording of the results.

The default model is gpt-4.1-nano: OpenAI's cheapest current model that does not reason
(a reasoning model can spend a 16-token limit on reasoning and reply nothing), and one that the
chat completions and the Responses API both serve. One smoke test costs about 30 input and
16 output tokens, a few millionths of a dollar. On an OpenAI-compatible server (OPENAI_BASE_URL
elsewhere) that does not list it, the first chat-capable model the server lists is used.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chatenv.keys.mask import mask_url
from chatenv.problems import problem
from chatenv.records import dataclass, field
from chatenv.results import CheckResult, Status
from chatenv.smoke import legacy_api
from chatenv.smoke.common import no_progress

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chatenv.smoke.common import Progress

SECTION = "api"
DEFAULT_API_MODEL = "gpt-4.1-nano"
PROMPT = "Reply with one short friendly sentence: the API works."
#: output tokens: small, and the Responses API's minimum (it refuses max_output_tokens < 16)
OUTPUT_LIMIT = 16
#: reasoning models count their reasoning in the limit: give them room to reply at all
REASONING_OUTPUT_LIMIT = 256
_REASONING = re.compile(r"^(o\d|gpt-5(?!-chat))", re.IGNORECASE)
#: models a server lists that cannot chat (embeddings, audio, images, moderation)
_NOT_CHAT = re.compile(
    r"embed|whisper|tts|dall-e|moderation|transcribe|image|realtime|audio|search|babbage|davinci",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ApiOptions:
    env_file: Path = Path(".env")
    #: None: the default (see the module docstring)
    model: str | None = None
    mode: str = "chat"
    timeout_s: float = 10.0
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


def run_api(options: ApiOptions, progress: Progress = no_progress) -> list[CheckResult]:
    from chatenv.api.failures import base_url_failure, classify
    from chatenv.keys.config import resolve
    from chatenv.system.openai_client import make_client

    config = resolve(options.environ, options.env_file)
    results = _config_warnings(config)
    base = mask_url(config.effective_base_url)
    unusable = base_url_failure(config.effective_base_url)
    if unusable is not None:
        results.append(_failed("api.models", unusable, base_url=base))
        results.append(
            CheckResult.skip(
                "api.completion", "not run: listing the models failed", section=SECTION
            )
        )
        return results
    try:
        client = make_client(config, timeout=options.timeout_s, max_retries=0)
    except Exception as exc:
        results.append(_failed("api.client", classify(exc, environ=options.environ)))
        return results

    results.append(_models(client, config, base, options, progress))
    if results[-1].status is Status.FAIL:
        results.append(
            CheckResult.skip(
                "api.completion",
                "not run: listing the models failed",
                section=SECTION,
            )
        )
        return results
    listed = tuple(results[-1].data.get("models", ()))
    model, chosen_because = choose_model(options.model, listed, _is_openai(base))
    results.append(_completion(client, model, chosen_because, options, progress))
    return results


def choose_model(
    asked: str | None, listed: tuple[str, ...], is_openai: bool
) -> tuple[str, str | None]:
    """The model for the completion, and why it was picked when the user did not say."""
    if asked:
        return asked, None
    if is_openai or not listed or DEFAULT_API_MODEL in listed:
        return DEFAULT_API_MODEL, None
    chat_capable = [m for m in listed if not _NOT_CHAT.search(m)]
    if not chat_capable:
        return DEFAULT_API_MODEL, None
    return chat_capable[0], "the first model the server lists; --api-model chooses another"


def output_limit(model: str) -> int:
    return REASONING_OUTPUT_LIMIT if _REASONING.match(model) else OUTPUT_LIMIT


def _models(
    client: Any, config: Any, base: str, options: ApiOptions, progress: Progress
) -> CheckResult:
    from chatenv.api.calls import list_models
    from chatenv.api.failures import FailureKind, classify

    progress(f"listing models at {base}")
    try:
        found = list_models(client)
    except Exception as exc:
        failure = classify(exc, environ=options.environ)
        if failure.kind is FailureKind.NOT_FOUND and not _is_openai(base):
            # Some OpenAI-compatible servers have no GET /models; the completion still tells.
            return problem("smoke.no-model-list").check(
                Status.WARN,
                "api.models",
                section=SECTION,
                data={"failure": failure.to_json(), "base_url": base},
                base=base,
            )
        return _failed("api.models", failure, base_url=base)
    finally:
        progress(None)
    key = f"key {config.key.masked} ({config.key_source})"
    plural = "s" if len(found.model_ids) != 1 else ""
    return CheckResult.ok(
        "api.models",
        f"{key} accepted by {base}: {len(found.model_ids)} model{plural} listed in "
        f"{_ms(found.latency_s)}",
        section=SECTION,
        details=_config_details(config),
        data={
            "base_url": base,
            "key": config.key.masked,
            "key_source": config.key_source,
            "organization": config.organization.value if config.organization else None,
            "project": config.project.value if config.project else None,
            "latency_s": round(found.latency_s, 4),
            "request_id": found.request_id,
            "models": list(found.model_ids),
        },
    )


def _completion(
    client: Any, model: str, chosen_because: str | None, options: ApiOptions, progress: Progress
) -> CheckResult:
    from chatenv.api.calls import chat_completion, responses_completion
    from chatenv.api.failures import FailureKind, classify

    api_name = "Responses API" if options.mode == "responses" else "chat completion"
    call = responses_completion if options.mode == "responses" else chat_completion
    limit = output_limit(model)
    progress(f"{api_name} with {model}")
    try:
        done = call(client, model, PROMPT, limit)
    except Exception as exc:
        failure = classify(exc, environ=options.environ)
        note = None
        if failure.kind in (
            FailureKind.MODEL_NOT_FOUND,
            FailureKind.MODEL_RETIRED,
            FailureKind.NOT_FOUND,
            FailureKind.BAD_REQUEST,
        ):
            note = legacy_api.retired_note(model)
        if note:
            answered = " ".join(str(p) for p in (failure.status_code, failure.error_code) if p)
            summary, fix = problem("smoke.retired-model").pair(model=model, answered=answered)
            return _failed(
                "api.completion",
                failure,
                summary=summary,
                note=note,
                fix=fix,
                model=model,
                retired=True,
            )
        return _failed("api.completion", failure, model=model)
    finally:
        progress(None)
    usage = done.usage
    tokens = (
        f", {usage.prompt_tokens} in + {usage.completion_tokens} out tokens"
        if usage and usage.prompt_tokens is not None and usage.completion_tokens is not None
        else ", no usage reported"
    )
    request = f", request {done.request_id}" if done.request_id else ""
    summary = f"{api_name} from {done.model} in {_ms(done.latency_s)}{request}{tokens}"
    data = {
        "api": done.api,
        "model_asked": model,
        "model": done.model,
        "reply": done.reply,
        "finish_reason": done.finish_reason,
        "usage": usage,
        "output_limit": limit,
        "latency_s": round(done.latency_s, 4),
        "request_id": done.request_id,
        "response_id": done.response_id,
    }
    details = [f"model: {model} ({chosen_because})"] if chosen_because else []
    details.append(f"finish reason: {done.finish_reason}, output limit {limit} tokens")
    if not done.reply.strip():
        reason = (
            f"the model used all {limit} output tokens before replying (a reasoning model?)"
            if done.finish_reason == "length"
            else f"the reply is empty (finish reason {done.finish_reason})"
        )
        return problem("smoke.empty-reply").check(
            Status.WARN,
            "api.completion",
            section=SECTION,
            details=details,
            data=data,
            summary=summary,
            reason=reason,
        )
    return CheckResult.ok("api.completion", summary, section=SECTION, details=details, data=data)


def _failed(
    id: str,
    failure: Any,
    *,
    summary: str | None = None,
    note: str | None = None,
    fix: str | None = None,
    **data: Any,
) -> CheckResult:
    from chatenv.api.failures import FailureKind

    if failure.kind is FailureKind.NO_KEY:
        summary, fix = problem("smoke.no-key").pair()
    if failure.kind is FailureKind.OPENAI_TOO_OLD:
        note = legacy_api.V0_REPLACED
    details = [f"{k}: {v}" for k, v in failure.to_json().items() if v is not None]
    payload: dict[str, Any] = {"failure": failure.to_json(), **data}
    if note:
        payload["note"] = note
    return CheckResult.fail(
        id,
        summary or failure.summary,
        section=SECTION,
        fix=fix or failure.fix,
        details=details,
        data=payload,
    )


def _config_warnings(config: Any) -> list[CheckResult]:
    """v0-era variable names the v1 client ignores, and a .env file that cannot be read."""
    from chatenv.keys.config import LEGACY_NAMES

    found = []
    for name, where in config.legacy.items():
        current = LEGACY_NAMES[name]
        found.append(
            problem("smoke.legacy-variable").check(
                Status.WARN,
                "api.legacy-variable",
                section=SECTION,
                data={"name": name, "source": where, "replaced_by": current},
                name=name,
                where=where,
                new=current,
            )
        )
    if config.env_file_error:
        found.append(
            problem("smoke.env-file-unreadable").check(
                Status.WARN, "api.env-file", section=SECTION, error=config.env_file_error
            )
        )
    return found


def _config_details(config: Any) -> list[str]:
    lines = [f"base URL: {mask_url(config.effective_base_url)}"]
    if config.base_url:
        lines[0] += f" ({config.base_url.source})"
    if config.organization:
        lines.append(f"organization: {config.organization.value} ({config.organization.source})")
    if config.project:
        lines.append(f"project: {config.project.value} ({config.project.source})")
    if config.key_conflict:
        lines.append(
            "the environment and the .env file hold different keys; the environment's wins"
        )
    return lines


def _is_openai(base_url: str) -> bool:
    from chatenv.system.openai_client import is_openai_host

    return is_openai_host(urlsplit(base_url).hostname)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f}s"
