"""The API calls chatenv makes, each returning a small typed result.

The calls go through the real openai client (`with_raw_response`, so the request id header
(`x-request-id`, Azure's `apim-request-id`, LiteLLM's `x-litellm-call-id`) and the raw body are
at hand), but the answer is read from the JSON body here rather than from
the SDK's models: the SDK accepts almost anything without complaint, and a base URL that points
at the wrong server (a proxy's login page, a server that is not OpenAI-compatible) must show up
as a malformed response, not as an empty model list or an empty reply.

Every failure is an exception; `chatenv.api.failures.classify` says what it means.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from chatenv.api.servers import request_id
from chatenv.records import dataclass
from chatenv.system.openai_client import is_openai_host

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx2
    from openai import OpenAI

_T = TypeVar("_T")

CHAT_API = "chat.completions"
RESPONSES_API = "responses"


class MalformedResponseError(Exception):
    """The server answered 2xx, but not with the JSON an OpenAI-compatible server sends."""

    def __init__(
        self,
        problem: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        content_type: str | None = None,
        snippet: str = "",
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.status_code = status_code
        self.request_id = request_id
        self.content_type = content_type
        #: the start of the body, for --verbose; callers redact before printing
        self.snippet = snippet


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None


@dataclass(frozen=True)
class ModelList:
    model_ids: tuple[str, ...]
    latency_s: float
    request_id: str | None


@dataclass(frozen=True)
class ModelInfo:
    id: str
    owned_by: str | None
    created: int | None
    latency_s: float
    request_id: str | None


@dataclass(frozen=True)
class Completion:
    #: CHAT_API or RESPONSES_API
    api: str
    #: the model that answered, as the server names it (often a dated snapshot)
    model: str
    reply: str
    #: "stop", "length", "content_filter", ... (Responses statuses are mapped to these)
    finish_reason: str | None
    usage: Usage | None
    latency_s: float
    request_id: str | None
    response_id: str | None


def list_models(client: OpenAI) -> ModelList:
    """`GET /models`: proves the key is accepted without spending a token."""
    raw, latency = _timed(client.models.with_raw_response.list)
    body = _json_object(raw.http_response)
    data = body.get("data")
    if not isinstance(data, list):
        raise _malformed(raw.http_response, "the model list has no `data` array")
    ids = [item.get("id") for item in data if isinstance(item, dict)]
    if len(ids) != len(data) or not all(isinstance(i, str) for i in ids):
        raise _malformed(raw.http_response, "an entry of the model list has no string `id`")
    return ModelList(tuple(sorted(str(i) for i in ids)), latency, _request_id(raw.http_response))


def retrieve_model(client: OpenAI, model: str) -> ModelInfo:
    """`GET /models/{model}`: does this key see this model? (404 `model_not_found` if not)."""
    raw, latency = _timed(lambda: client.models.with_raw_response.retrieve(model))
    body = _json_object(raw.http_response)
    model_id = body.get("id")
    if not isinstance(model_id, str):
        raise _malformed(raw.http_response, "the model object has no string `id`")
    owned_by = body.get("owned_by")
    created = body.get("created")
    return ModelInfo(
        id=model_id,
        owned_by=owned_by if isinstance(owned_by, str) else None,
        created=created if isinstance(created, int) else None,
        latency_s=latency,
        request_id=_request_id(raw.http_response),
    )


def chat_completion(client: OpenAI, model: str, prompt: str, max_tokens: int) -> Completion:
    """`POST /chat/completions` with one user message.

    OpenAI's own API gets `max_completion_tokens` (`max_tokens` is deprecated there and refused
    by reasoning models); other servers get `max_tokens`, which every compatible server knows."""
    completions = client.chat.completions.with_raw_response
    if _is_openai(client):
        raw, latency = _timed(
            lambda: completions.create(
                model=model,
                messages=[{"role": "user", "content": prompt}],
                max_completion_tokens=max_tokens,
            )
        )
    else:
        raw, latency = _timed(
            lambda: completions.create(
                model=model,
                messages=[{"role": "user", "content": prompt}],
                max_tokens=max_tokens,
            )
        )
    response = raw.http_response
    body = _json_object(response)
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _malformed(response, "the chat completion has no `choices`")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise _malformed(response, "the first choice has no `message`")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise _malformed(response, "the message `content` is not a string")
    reply = content or message.get("refusal") or ""
    finish = choices[0].get("finish_reason")
    return Completion(
        api=CHAT_API,
        model=_str_or(body.get("model"), model),
        reply=str(reply),
        finish_reason=finish if isinstance(finish, str) else None,
        usage=_usage(body.get("usage"), "prompt_tokens", "completion_tokens"),
        latency_s=latency,
        request_id=_request_id(response),
        response_id=_str_or(body.get("id"), None),
    )


def responses_completion(client: OpenAI, model: str, prompt: str, max_tokens: int) -> Completion:
    """`POST /responses` (the Responses API) with a text input.

    `finish_reason` is mapped to the chat vocabulary: completed -> "stop", incomplete because of
    max_output_tokens -> "length", otherwise the incomplete reason or the status itself."""
    raw, latency = _timed(
        lambda: client.responses.with_raw_response.create(
            model=model, input=prompt, max_output_tokens=max_tokens
        )
    )
    response = raw.http_response
    body = _json_object(response)
    output = body.get("output")
    if not isinstance(output, list):
        raise _malformed(response, "the response has no `output` array")
    texts: list[str] = []
    for item in output:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for part in item.get("content") or ():
            if isinstance(part, dict) and part.get("type") == "output_text":
                text = part.get("text")
                if not isinstance(text, str):
                    raise _malformed(response, "an `output_text` part has no string `text`")
                texts.append(text)
    return Completion(
        api=RESPONSES_API,
        model=_str_or(body.get("model"), model),
        reply="".join(texts),
        finish_reason=_responses_finish_reason(body),
        usage=_usage(body.get("usage"), "input_tokens", "output_tokens"),
        latency_s=latency,
        request_id=_request_id(response),
        response_id=_str_or(body.get("id"), None),
    )


# -- helpers ---------------------------------------------------------------------------------


def _timed(call: Callable[[], _T]) -> tuple[_T, float]:
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def _is_openai(client: OpenAI) -> bool:
    return is_openai_host(client.base_url.host)


def _request_id(response: httpx2.Response) -> str | None:
    return request_id(response.headers)


def _json_object(response: httpx2.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        content_type = response.headers.get("content-type", "")
        what = "HTML" if "html" in content_type.lower() else "not JSON"
        problem = f"the body is {what} (content-type {content_type or 'none'})"
        raise _malformed(response, problem) from None
    if not isinstance(body, dict):
        raise _malformed(response, f"the body is a JSON {type(body).__name__}, not an object")
    return body


def _malformed(response: httpx2.Response, problem: str) -> MalformedResponseError:
    return MalformedResponseError(
        problem,
        status_code=response.status_code,
        request_id=_request_id(response),
        content_type=response.headers.get("content-type"),
        snippet=response.content[:200].decode("utf-8", errors="replace"),
    )


def _str_or(value: object, default: _T) -> str | _T:
    return value if isinstance(value, str) else default


def _usage(value: object, prompt_name: str, completion_name: str) -> Usage | None:
    if not isinstance(value, Mapping):
        return None

    def count(name: str) -> int | None:
        number = value.get(name)
        return number if isinstance(number, int) and not isinstance(number, bool) else None

    return Usage(count(prompt_name), count(completion_name), count("total_tokens"))


def _responses_finish_reason(body: Mapping[str, Any]) -> str | None:
    status = body.get("status")
    if status == "completed":
        return "stop"
    details = body.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, Mapping) else None
    if reason == "max_output_tokens":
        return "length"
    if isinstance(reason, str):
        return reason
    return status if isinstance(status, str) else None
