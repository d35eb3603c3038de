"""What a failed API call means, and what the user should do about it.

`classify` takes any exception raised while building the client or making a call in
`chatenv.api.calls` and returns an `ApiFailure`: a kind a script can branch on, one line for a
person, the fix to paste, and the facts support will ask for (status code, error code and type,
request id). It reads the error's `code`/`type` (as the real API sends them), not only the
status: a 429 is either a rate limit (wait) or `insufficient_quota` (pay), and a 403 is either a
missing permission or a country the API does not serve.

It also knows which server answered (`chatenv.api.servers.identify`: OpenAI, Azure, LiteLLM,
vLLM, Ollama, llama.cpp, LM Studio, a hosted API, or another), and words every line and fix for
that server: where its keys, models, budgets and logs are. No OpenAI page is offered for a server
that is not OpenAI. `classify_answer` does the same for an answer that did not come through the
openai client (doctor's own `GET /models`).

Every text that leaves here has been through `redact`: the real API's 401 message echoes part of
the key, and a proxy URL may carry a password.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import ssl
import sys
from collections.abc import Callable, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chatenv import records
from chatenv.api.calls import MalformedResponseError
from chatenv.api.servers import (
    SELF_HOSTED,
    ServerKind,
    azure_deployment_url,
    identify,
    request_id,
)
from chatenv.errors import exception_chain
from chatenv.keys.mask import mask_url, redact
from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.system.openai_client import (
    NoApiKeyError,
    OpenAIClientError,
    OpenAIMissingError,
    OpenAITooOldError,
    is_openai_host,
)
from chatenv.system.proxies import bypassed, env_proxies

if TYPE_CHECKING:
    from chatenv.api.servers import Server

#: longest server message quoted in a summary
MAX_MESSAGE = 200


class FailureKind(str, Enum):
    NO_KEY = "no-key"
    OPENAI_MISSING = "openai-missing"
    OPENAI_TOO_OLD = "openai-too-old"
    INVALID_KEY = "invalid-key"
    ORGANIZATION_MISMATCH = "organization-mismatch"
    PERMISSION_DENIED = "permission-denied"
    REGION_BLOCKED = "region-blocked"
    MODEL_NOT_FOUND = "model-not-found"
    MODEL_RETIRED = "model-retired"
    NOT_A_CHAT_MODEL = "not-a-chat-model"
    NOT_FOUND = "not-found"
    BAD_REQUEST = "bad-request"
    INSUFFICIENT_QUOTA = "insufficient-quota"
    #: a LiteLLM budget (the proxy's, a model's, a key's) is used up
    BUDGET_EXCEEDED = "budget-exceeded"
    #: the server serves no /responses (a 404 there from a server that is not OpenAI)
    NO_RESPONSES_API = "no-responses-api"
    #: OPENAI_BASE_URL is Azure's per-deployment URL, which the plain client cannot call
    AZURE_DEPLOYMENT_URL = "azure-deployment-url"
    RATE_LIMITED = "rate-limited"
    SERVER_ERROR = "server-error"
    TIMEOUT = "timeout"
    CONNECTION = "connection-failed"
    MALFORMED_RESPONSE = "malformed-response"
    UNEXPECTED = "unexpected"


#: the server looked at the key (or account) and said no: saving or using it will not work
KEY_REJECTED = frozenset(
    {
        FailureKind.INVALID_KEY,
        FailureKind.ORGANIZATION_MISMATCH,
        FailureKind.PERMISSION_DENIED,
        FailureKind.REGION_BLOCKED,
        FailureKind.INSUFFICIENT_QUOTA,
        FailureKind.BUDGET_EXCEEDED,
    }
)
#: nothing was learnt about the key: the server could not be reached or did not answer properly
INCONCLUSIVE = frozenset({FailureKind.TIMEOUT, FailureKind.CONNECTION, FailureKind.SERVER_ERROR})


@dataclass(frozen=True)
class ApiFailure:
    kind: FailureKind
    #: one line for a person (redacted)
    summary: str
    #: what to paste or do (redacted)
    fix: str | None
    status_code: int | None = None
    error_code: str | None = None
    error_type: str | None = None
    request_id: str | None = None
    #: for CONNECTION/TIMEOUT: "dns", "proxy", "tls-certificate", "tls", "refused", "closed",
    #: "unreachable", "bad-url", "connect", "read"
    cause: str | None = None
    #: for RATE_LIMITED: how long the server asked to wait
    retry_after_s: float | None = None
    #: which server answered (`ServerKind` values: "openai", "litellm", ...); None: none did
    server: str | None = None

    @property
    def key_rejected(self) -> bool:
        return self.kind in KEY_REJECTED

    @property
    def inconclusive(self) -> bool:
        return self.kind in INCONCLUSIVE

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "summary": self.summary,
            "fix": self.fix,
            "status_code": self.status_code,
            "error_code": self.error_code,
            "error_type": self.error_type,
            "request_id": self.request_id,
            "cause": self.cause,
            "retry_after_s": self.retry_after_s,
            "server": self.server,
        }


def classify(exc: BaseException, *, environ: Mapping[str, str] | None = None) -> ApiFailure:
    """The meaning of `exc`. `environ` (default os.environ) is read for proxy settings."""
    failure = _classify(exc, environ)
    fix = redact(failure.fix) if failure.fix else None
    return records.replace(failure, summary=redact(failure.summary), fix=fix)


def base_url_failure(base_url: str) -> ApiFailure | None:
    """A base URL no request can succeed with, known before any is made (Azure's
    per-deployment URL): the caller reports this instead of the 401 or 404 that would follow."""
    azure = azure_deployment_url(base_url)
    if azure is None:
        return None
    text = problem("api.azure-deployment-url").pair(
        url=mask_url(azure.url), v1_url=azure.v1_url, deployment=azure.deployment
    )
    return ApiFailure(FailureKind.AZURE_DEPLOYMENT_URL, *text, server=ServerKind.AZURE.value)


def _classify(exc: BaseException, environ: Mapping[str, str] | None) -> ApiFailure:
    if isinstance(exc, OpenAIClientError):
        return _client_error(exc)
    if isinstance(exc, MalformedResponseError):
        return ApiFailure(
            FailureKind.MALFORMED_RESPONSE,
            *problem("api.malformed-response").pair(problem=exc.problem),
            status_code=exc.status_code,
            request_id=exc.request_id,
        )
    openai = sys.modules.get("openai")  # an openai exception means openai is already imported
    if openai is not None:
        if isinstance(exc, openai.APITimeoutError):
            return _timeout(exc)
        if isinstance(exc, openai.APIConnectionError):
            return _connection(exc, environ)
        if isinstance(exc, openai.APIStatusError):
            return _status(exc)
        if isinstance(exc, openai.APIResponseValidationError):
            return ApiFailure(
                FailureKind.MALFORMED_RESPONSE,
                *problem("api.schema-mismatch").pair(error=_first_line(str(exc))),
                status_code=exc.status_code,
            )
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return ApiFailure(FailureKind.TIMEOUT, *problem("api.timeout").pair(), cause="read")
    if isinstance(exc, (ConnectionError, ssl.SSLError, socket.gaierror)):
        return _connection(exc, environ)
    error = f"{type(exc).__name__}: {_first_line(str(exc))}".rstrip(": ")
    return ApiFailure(FailureKind.UNEXPECTED, *problem("cli.unexpected").pair(error=error))


def _client_error(exc: OpenAIClientError) -> ApiFailure:
    kind = FailureKind.UNEXPECTED
    if isinstance(exc, NoApiKeyError):
        kind = FailureKind.NO_KEY
    elif isinstance(exc, OpenAIMissingError):
        kind = FailureKind.OPENAI_MISSING
    elif isinstance(exc, OpenAITooOldError):
        kind = FailureKind.OPENAI_TOO_OLD
    return ApiFailure(kind, exc.message, exc.fix)


# -- HTTP error answers ------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpAnswer:
    """An error answer as it came over the wire, from the openai client or doctor's own GET."""

    status: int
    #: the URL of the request
    url: str
    #: names in lower case
    headers: Mapping[str, str]
    #: the parsed JSON, else the text
    body: object
    #: the model the request asked for, when it named one
    model: str | None = None

    @classmethod
    def read(
        cls, status: int, url: str, headers: Mapping[str, str], content: bytes, model: str | None
    ) -> HttpAnswer:
        text = content.decode("utf-8", errors="replace")
        try:
            body: object = json.loads(text)
        except ValueError:
            body = text.strip()
        return cls(status, url, {k.lower(): v for k, v in headers.items()}, body, model)

    @property
    def error(self) -> object:
        """OpenAI's `{"error": {...}}`, vLLM's `{"object": "error", ...}`, or the body itself."""
        body = self.body
        return body.get("error", body) if isinstance(body, Mapping) else body

    @property
    def code(self) -> str | None:
        """`error.code` as text: LiteLLM sends the status as a string ("400"), vLLM a number."""
        error = self.error
        code = error.get("code") if isinstance(error, Mapping) else None
        return None if code is None or isinstance(code, (dict, list)) else str(code)

    @property
    def type(self) -> str | None:
        error = self.error
        value = error.get("type") if isinstance(error, Mapping) else None
        return value if isinstance(value, str) else None

    @property
    def message(self) -> str:
        """What the body says, whichever shape: OpenAI's `error.message`, `{"error": "text"}`
        (vLLM's 401), FastAPI's `detail` (a string, or a list of validation errors), a
        problem+json `title` and `detail` with Prism's `validation` list, or plain text."""
        error, body = self.error, self.body
        if isinstance(error, str):
            return _first_line(error)
        text = error.get("message") if isinstance(error, Mapping) else None
        if isinstance(text, str) and text.strip():
            return _first_line(text)
        if isinstance(body, Mapping):
            return _first_line(_detail(body))
        return ""


def _detail(body: Mapping[str, Any]) -> str:
    detail, title = body.get("detail"), body.get("title")
    if isinstance(detail, list):  # FastAPI's 422: [{"loc": [...], "msg": "...", ...}]
        detail = "; ".join(str(d.get("msg")) for d in detail if isinstance(d, Mapping))
    parts = [str(p) for p in (title, detail) if isinstance(p, str) and p.strip()]
    validation = body.get("validation")
    if isinstance(validation, list):  # Prism's 422
        parts += [
            str(v["message"]) for v in validation if isinstance(v, Mapping) and v.get("message")
        ]
    return ": ".join(parts[:2]) + ("; " + "; ".join(parts[2:]) if parts[2:] else "")


def classify_answer(answer: HttpAnswer) -> ApiFailure:
    """What an HTTP error answer means, worded for the server that gave it (redacted)."""
    failure = _answer(answer)
    fix = redact(failure.fix) if failure.fix else None
    return records.replace(failure, summary=redact(failure.summary), fix=fix)


def _status(exc: Any) -> ApiFailure:
    response = exc.response
    return _answer(
        HttpAnswer.read(
            response.status_code,
            _url_of(exc),
            response.headers,
            response.content,
            _asked_model(getattr(exc, "request", None)),
        )
    )


def _asked_model(request: Any) -> str | None:
    try:
        body = json.loads(request.content) if request is not None and request.content else None
    except (ValueError, AttributeError, TypeError):
        return None
    model = body.get("model") if isinstance(body, dict) else None
    if isinstance(model, str):
        return model
    path = str(getattr(getattr(request, "url", None), "path", ""))
    return path.rsplit("/models/", 1)[1] if "/models/" in path else None


#: the words servers without OpenAI's `model_not_found` use for a model they do not serve:
#: vLLM "The model `x` does not exist.", Ollama 'model "x" not found, try pulling it first',
#: LiteLLM "Invalid model name passed in model=x"
_MISSING_MODEL_WORDS = ("does not exist", "not found", "no such model", "unknown model")


def _names_a_missing_model(message: str) -> bool:
    """A 404 whose message speaks of a model that is not there (not of a missing path)."""
    text = message.lower()
    return "model" in text and any(words in text for words in _MISSING_MODEL_WORDS)


def _answer(answer: HttpAnswer) -> ApiFailure:
    server = identify(answer.url, answer.headers, answer.body)
    status, code, type_, message = answer.status, answer.code, answer.type, answer.message
    said = f": {message}" if message else ""
    request_id = _request_id(answer.headers)

    def failure(kind: FailureKind, text: tuple[str, str | None], **extra: Any) -> ApiFailure:
        return ApiFailure(
            kind,
            *text,
            status_code=status,
            error_code=code,
            error_type=type_,
            request_id=request_id,
            server=server.kind.value,
            **extra,
        )

    if status == 401 or type_ == "no_db_connection":
        return _refused_key(server, status, code, said, failure)
    if status == 403:
        return _forbidden(server, code, type_, said, failure)
    if status == 402:
        text = problem("api.no-credit").pair(server=server.name, said=said)
        return failure(FailureKind.INSUFFICIENT_QUOTA, text)
    lowered = message.lower()
    if (
        type_ == "budget_exceeded"
        or "budget has been exceeded" in lowered
        or (server.kind is ServerKind.LITELLM and "crossed budget" in lowered)
    ):
        shown_code = f" {code}" if code and code != str(status) else ""
        return failure(
            FailureKind.BUDGET_EXCEEDED,
            problem("api.budget-exceeded-litellm").pair(
                status=status, error_code=shown_code, said=said
            ),
        )
    if 400 <= status < 500 and "not a chat model" in lowered:
        return failure(
            FailureKind.NOT_A_CHAT_MODEL,
            problem("api.not-a-chat-model").pair(status=status, said=said),
        )
    missing_model = _missing_model(answer, server, code, lowered, said, failure)
    if missing_model is not None:
        return missing_model
    if status == 404:
        return _not_found(answer, server, said, failure)
    if status == 408:
        if server.kind is ServerKind.LITELLM:
            text = problem("api.server-timeout-litellm").pair(said=said)
        else:
            text = problem("api.server-timeout").pair(server=server.name, said=said)
        return failure(FailureKind.TIMEOUT, text, cause="server")
    code_text = f" {code}" if code and code != str(status) else ""
    if status == 429:
        return _too_many(answer, server, code, type_, code_text, said, failure)
    if status >= 500:
        return _server_failed(server, status, request_id, said, failure)
    return failure(
        FailureKind.BAD_REQUEST,
        problem("api.bad-request").pair(status=status, error_code=code_text, said=said),
    )


_Make = Callable[..., ApiFailure]


def _refused_key(
    server: Server, status: int, code: str | None, said: str, failure: _Make
) -> ApiFailure:
    kind = server.kind
    if kind is ServerKind.OPENAI and code and ("organization" in code or "project" in code):
        return failure(
            FailureKind.ORGANIZATION_MISMATCH, problem("api.organization-mismatch").pair(said=said)
        )
    if kind is ServerKind.OPENAI:
        text = problem("api.invalid-key").pair(said=said)
    elif kind is ServerKind.AZURE:
        text = problem("api.invalid-key-azure").pair(said=said)
    elif kind is ServerKind.LITELLM and status == 400:
        text = problem("api.litellm-no-database").pair(status=status, said=said)
    elif kind is ServerKind.LITELLM:
        text = problem("api.invalid-key-litellm").pair(status=status, said=said)
    elif kind is ServerKind.VLLM:
        text = problem("api.invalid-key-vllm").pair(said=said)
    elif kind is ServerKind.LLAMA_CPP:
        text = problem("api.invalid-key-llama-cpp").pair(said=said)
    elif server.hosted is not None:
        text = problem("api.invalid-key-hosted").pair(
            server=server.name, said=said, keys_page=server.hosted.keys_page
        )
    else:
        text = problem("api.invalid-key-server").pair(server=server.name, said=said)
    return failure(FailureKind.INVALID_KEY, text)


def _forbidden(
    server: Server, code: str | None, type_: str | None, said: str, failure: _Make
) -> ApiFailure:
    if code == "unsupported_country_region_territory" or type_ == "request_forbidden":
        return failure(
            FailureKind.REGION_BLOCKED, problem("api.region-blocked").pair(code=code, said=said)
        )
    if server.is_openai:
        return failure(
            FailureKind.PERMISSION_DENIED, problem("api.permission-denied").pair(said=said)
        )
    return failure(
        FailureKind.PERMISSION_DENIED,
        problem("api.permission-denied-server").pair(server=server.name, said=said),
    )


def _missing_model(
    answer: HttpAnswer,
    server: Server,
    code: str | None,
    lowered: str,
    said: str,
    failure: _Make,
) -> ApiFailure | None:
    status = answer.status
    litellm_model = server.kind is ServerKind.LITELLM and "invalid model name" in lowered
    if not (
        litellm_model
        or code in ("model_not_found", "DeploymentNotFound")
        or (status == 404 and _names_a_missing_model(lowered))
    ):
        return None
    if code == "model_not_found" and ("deprecat" in lowered or "retired" in lowered):
        return failure(FailureKind.MODEL_RETIRED, problem("api.model-retired").pair(said=said))
    if code == "DeploymentNotFound":
        text = problem("api.deployment-not-found").pair(said=said)
    elif server.is_openai:
        answered = " model_not_found" if code == "model_not_found" else ""
        text = problem("api.model-not-found").pair(answered=answered, said=said)
    elif server.kind is ServerKind.LITELLM:
        text = problem("api.model-not-found-litellm").pair(status=status, said=said)
    elif server.kind is ServerKind.OLLAMA:
        model = answer.model or "MODEL"
        text = problem("api.model-not-found-ollama").pair(status=status, said=said, model=model)
    else:
        text = problem("api.model-not-found-server").pair(
            server=server.name, status=status, said=said
        )
    return failure(FailureKind.MODEL_NOT_FOUND, text)


def _not_found(answer: HttpAnswer, server: Server, said: str, failure: _Make) -> ApiFailure:
    path = urlsplit(answer.url).path.rstrip("/")
    if path.endswith("/responses") and not server.is_openai:
        return failure(
            FailureKind.NO_RESPONSES_API,
            problem("api.no-responses-api").pair(server=server.name, url=answer.url, said=said),
        )
    if "/v1/" in path + "/" and not server.is_openai:
        return failure(
            FailureKind.NOT_FOUND,
            problem("api.endpoint-missing").pair(server=server.name, url=answer.url, said=said),
        )
    return failure(
        FailureKind.NOT_FOUND, problem("api.no-such-endpoint").pair(url=answer.url, said=said)
    )


def _too_many(
    answer: HttpAnswer,
    server: Server,
    code: str | None,
    type_: str | None,
    code_text: str,
    said: str,
    failure: _Make,
) -> ApiFailure:
    if server.is_openai and "insufficient_quota" in (code, type_):
        return failure(
            FailureKind.INSUFFICIENT_QUOTA, problem("api.insufficient-quota").pair(said=said)
        )
    retry_after = _retry_after(answer.headers)
    wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
    if server.is_openai:
        text = problem("api.rate-limited").pair(error_code=code_text, wait=wait, said=said)
    elif server.kind is ServerKind.AZURE:
        text = problem("api.rate-limited-azure").pair(error_code=code_text, wait=wait, said=said)
    elif server.kind is ServerKind.LITELLM:
        text = problem("api.rate-limited-litellm").pair(error_code=code_text, wait=wait, said=said)
    else:
        text = problem("api.rate-limited-server").pair(
            server=server.name, error_code=code_text, wait=wait, said=said
        )
    return failure(FailureKind.RATE_LIMITED, text, retry_after_s=retry_after)


def _server_failed(
    server: Server, status: int, request_id: str | None, said: str, failure: _Make
) -> ApiFailure:
    ref = f" (request id {request_id})" if request_id else ""
    support = f"; quote request id {request_id} to support" if request_id else ""
    if server.is_openai:
        text = problem("api.server-error").pair(status=status, ref=ref, said=said, support=support)
    elif server.kind in SELF_HOSTED or server.local:  # a server the user runs: its log
        text = problem("api.server-error-self-hosted").pair(
            server=server.name, status=status, ref=ref, said=said
        )
    elif server.kind in (ServerKind.AZURE, ServerKind.HOSTED):
        text = problem("api.server-error-hosted").pair(
            server=server.name, status=status, ref=ref, said=said, support=support
        )
    else:
        text = problem("api.server-error-server").pair(
            server=server.name, status=status, ref=ref, said=said, support=support
        )
    return failure(FailureKind.SERVER_ERROR, text)


def _request_id(headers: Mapping[str, str]) -> str | None:
    return request_id(headers)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return float(value) * scale
            except ValueError:
                continue
    reset = headers.get("x-ratelimit-reset-requests") or headers.get("x-ratelimit-reset-tokens")
    return _duration(reset) if reset else None


def _duration(text: str) -> float | None:
    """OpenAI's reset headers: "20s", "1m30s", "6ms", "1h2m"."""
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = "ms" if text.startswith("ms", i) else ch
        if unit not in units or not number:
            return None
        total += float(number) * units[unit]
        number = ""
        i += len(unit)
    return total if not number else None


# -- no answer -------------------------------------------------------------------------------


def _timeout(exc: Any) -> ApiFailure:
    url = _url_of(exc)
    names = {type(e).__name__ for e in exception_chain(exc)}
    connect = bool(names & {"ConnectTimeout", "PoolTimeout"})
    if connect:
        return ApiFailure(
            FailureKind.TIMEOUT, *problem("api.connect-timeout").pair(url=url), cause="connect"
        )
    if identify(url).is_openai:
        text = problem("api.read-timeout").pair(url=url)
    else:
        text = problem("api.read-timeout-server").pair(url=url)
    return ApiFailure(FailureKind.TIMEOUT, *text, cause="read")


def _connection(exc: BaseException, environ: Mapping[str, str] | None) -> ApiFailure:
    """Walk the exception chain down to the OS/TLS error, which says what really happened."""
    url = _url_of(exc)
    host, port = _host_port(url)
    proxy = _proxy_for(url, environ)
    chain = list(exception_chain(exc))
    names = {type(e).__name__ for e in chain}

    def failure(cause: str, text: tuple[str, str | None]) -> ApiFailure:
        return ApiFailure(FailureKind.CONNECTION, *text, cause=cause)

    for err in chain:
        if isinstance(err, ssl.SSLCertVerificationError):
            reason = err.verify_message or _first_line(str(err))
            via = f" (through the proxy {proxy[1]})" if proxy else ""
            return failure(
                "tls-certificate",
                problem("api.tls-untrusted").pair(host=host, through=via, reason=reason),
            )
    if "ProxyError" in names:
        detail = next(_first_line(str(e)) for e in chain if type(e).__name__ == "ProxyError")
        where = f" {proxy[1]} (from {proxy[0]})" if proxy else ""
        return failure(
            "proxy", problem("api.proxy-refused").pair(proxy_part=where, host=host, detail=detail)
        )
    if "UnsupportedProtocol" in names:
        return failure("bad-url", problem("api.bad-url").pair(url=url))
    for err in chain:
        if isinstance(err, ssl.SSLError):
            reason = getattr(err, "reason", None) or _first_line(str(err))
            if "WRONG_VERSION_NUMBER" in str(reason).upper():
                return failure(
                    "tls", problem("api.tls-to-plain-http").pair(host=host, reason=reason)
                )
            return failure("tls", problem("api.tls-failed").pair(host=host, reason=reason))
    os_error = next((e for e in chain if isinstance(e, OSError)), None)
    if proxy and os_error is not None:
        # The connection that failed was the one to the proxy, not to the API.
        return failure(
            "proxy",
            problem("api.proxy-unreachable").pair(
                proxy=proxy[1], variable=proxy[0], reason=_os_reason(os_error), host=host
            ),
        )
    for err in chain:
        if isinstance(err, socket.gaierror):
            if is_openai_host(host):
                return failure(
                    "dns", problem("api.dns-openai").pair(host=host, reason=_os_reason(err))
                )
            return failure("dns", problem("api.dns").pair(host=host, reason=_os_reason(err)))
    for err in chain:
        if isinstance(err, ConnectionRefusedError):
            if host in ("localhost", "127.0.0.1", "::1", "0.0.0.0"):
                return failure("refused", problem("api.refused-local").pair(host=host, port=port))
            return failure("refused", problem("api.refused").pair(host=host, port=port))
    if names & {"RemoteProtocolError", "ReadError", "EndOfStream"} or any(
        isinstance(e, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError))
        for e in chain
    ):
        return failure("closed", problem("api.connection-closed").pair(host=host))
    if os_error is not None and os_error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return failure(
            "unreachable",
            problem("api.network-unreachable").pair(host=host, reason=_os_reason(os_error)),
        )
    deepest = chain[-1]
    reason = _first_line(str(deepest)) or type(deepest).__name__
    return failure(
        "connect", problem("api.connect-failed").pair(host=host, port=port, reason=reason)
    )


def _url_of(exc: BaseException) -> str:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    return str(url) if url is not None else "the server"


def _host_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.hostname or url, port


def _proxy_for(url: str, environ: Mapping[str, str] | None) -> tuple[str, str] | None:
    """The proxy httpx would use for `url` (variable name, URL without password), if any."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return None
    proxies = env_proxies(os.environ if environ is None else environ)
    if bypassed(parts.hostname, proxies.get("no", "")):
        return None
    for scheme in (parts.scheme, "all"):
        value = proxies.get(scheme)
        if value:
            return f"{scheme.upper()}_PROXY", mask_url(value)
    return None


def _os_reason(err: OSError) -> str:
    return err.strerror or _first_line(str(err)) or type(err).__name__


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"
