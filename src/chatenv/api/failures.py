"""What a failed API call means, and what the user should do about it.

`classify` takes any exception raised while building the client or making a call in
`chatenv.api.calls` and returns an `ApiFailure`: a kind a script can branch on, one line for a
person, the fix to paste, and the facts support will ask for (status code, error code and type,
request id). It reads the error's `code`/`type` (as the real API sends them), not only the
status: a 429 is either a rate limit (wait) or `insufficient_quota` (pay), and a 403 is either a
missing permission or a country the API does not serve.

Every text that leaves here has been through `redact`: the real API's 401 message echoes part of
the key, and a proxy URL may carry a password.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import socket
import ssl
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from chatenv.api.calls import MalformedResponseError
from chatenv.errors import exception_chain
from chatenv.keys.mask import mask_url, redact
from chatenv.problems import problem
from chatenv.system.openai_client import (
    NoApiKeyError,
    OpenAIClientError,
    OpenAIMissingError,
    OpenAITooOldError,
    is_openai_host,
)
from chatenv.system.proxies import bypassed, env_proxies

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
        }


def classify(exc: BaseException, *, environ: Mapping[str, str] | None = None) -> ApiFailure:
    """The meaning of `exc`. `environ` (default os.environ) is read for proxy settings."""
    failure = _classify(exc, environ)
    fix = redact(failure.fix) if failure.fix else None
    return dataclasses.replace(failure, summary=redact(failure.summary), fix=fix)


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


def _status(exc: Any) -> ApiFailure:
    status: int = exc.status_code
    code: str | None = exc.code
    type_: str | None = exc.type
    request_id: str | None = getattr(exc, "request_id", None)
    message = _server_message(exc)
    said = f": {message}" if message else ""

    def failure(kind: FailureKind, text: tuple[str, str | None], **extra: Any) -> ApiFailure:
        return ApiFailure(
            kind,
            *text,
            status_code=status,
            error_code=code,
            error_type=type_,
            request_id=request_id,
            **extra,
        )

    if status == 401:
        if code and ("organization" in code or "project" in code):
            return failure(
                FailureKind.ORGANIZATION_MISMATCH,
                problem("api.organization-mismatch").pair(said=said),
            )
        return failure(FailureKind.INVALID_KEY, problem("api.invalid-key").pair(said=said))
    if status == 403:
        if code == "unsupported_country_region_territory" or type_ == "request_forbidden":
            return failure(
                FailureKind.REGION_BLOCKED, problem("api.region-blocked").pair(code=code, said=said)
            )
        return failure(
            FailureKind.PERMISSION_DENIED, problem("api.permission-denied").pair(said=said)
        )
    if 400 <= status < 500 and "not a chat model" in message.lower():
        return failure(
            FailureKind.NOT_A_CHAT_MODEL,
            problem("api.not-a-chat-model").pair(status=status, said=said),
        )
    if status == 404:
        retired = "deprecat" in message.lower() or "retired" in message.lower()
        if code == "model_not_found" and retired:
            return failure(FailureKind.MODEL_RETIRED, problem("api.model-retired").pair(said=said))
        if code == "model_not_found" or _names_a_missing_model(message):
            openai_code = code == "model_not_found"
            answered = " model_not_found" if openai_code else ""
            pull = "" if openai_code else "; on Ollama: ollama pull MODEL"
            return failure(
                FailureKind.MODEL_NOT_FOUND,
                problem("api.model-not-found").pair(answered=answered, said=said, pull=pull),
            )
        return failure(
            FailureKind.NOT_FOUND, problem("api.no-such-endpoint").pair(url=_url_of(exc), said=said)
        )
    code_text = f" {code}" if code else ""
    if status == 429:
        if code == "insufficient_quota" or type_ == "insufficient_quota":
            return failure(
                FailureKind.INSUFFICIENT_QUOTA, problem("api.insufficient-quota").pair(said=said)
            )
        retry_after = _retry_after(exc)
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return failure(
            FailureKind.RATE_LIMITED,
            problem("api.rate-limited").pair(error_code=code_text, wait=wait, said=said),
            retry_after_s=retry_after,
        )
    if status >= 500:
        ref = f" (request id {request_id})" if request_id else ""
        support = f"; quote request id {request_id} to support" if request_id else ""
        return failure(
            FailureKind.SERVER_ERROR,
            problem("api.server-error").pair(status=status, ref=ref, said=said, support=support),
        )
    return failure(
        FailureKind.BAD_REQUEST,
        problem("api.bad-request").pair(status=status, error_code=code_text, said=said),
    )


#: how servers without OpenAI's `model_not_found` code word a 404 for a model they do not serve:
#: vLLM "The model `x` does not exist.", Ollama 'model "x" not found, try pulling it first'
_MISSING_MODEL_WORDS = ("does not exist", "not found", "no such model", "unknown model")


def _names_a_missing_model(message: str) -> bool:
    """A 404 whose message speaks of a model that is not there (not of a missing path)."""
    text = message.lower()
    return "model" in text and any(words in text for words in _MISSING_MODEL_WORDS)


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, Mapping) else None
    if not isinstance(message, str) or not message.strip():
        message = body if isinstance(body, str) else ""
    return _first_line(message)


def _retry_after(exc: Any) -> float | None:
    headers = exc.response.headers
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
    return ApiFailure(FailureKind.TIMEOUT, *problem("api.read-timeout").pair(url=url), cause="read")


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
