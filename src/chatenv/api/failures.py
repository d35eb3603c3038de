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

import errno
import socket
import ssl
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from chatenv.api.calls import MalformedResponseError
from chatenv.keys.mask import mask_url, redact
from chatenv.system.openai_client import (
    NoApiKeyError,
    OpenAIClientError,
    OpenAIMissingError,
    OpenAITooOldError,
    is_openai_host,
)

KEYS_PAGE = "https://platform.openai.com/api-keys"
BILLING_PAGE = "https://platform.openai.com/settings/organization/billing"
LIMITS_PAGE = "https://platform.openai.com/settings/organization/limits"
COUNTRIES_PAGE = "https://platform.openai.com/docs/supported-countries"
MODELS_PAGE = "https://platform.openai.com/docs/models"
STATUS_PAGE = "https://status.openai.com"
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
    return ApiFailure(
        kind=failure.kind,
        summary=redact(failure.summary),
        fix=redact(failure.fix) if failure.fix else None,
        status_code=failure.status_code,
        error_code=failure.error_code,
        error_type=failure.error_type,
        request_id=failure.request_id,
        cause=failure.cause,
        retry_after_s=failure.retry_after_s,
    )


def _classify(exc: BaseException, environ: Mapping[str, str] | None) -> ApiFailure:
    if isinstance(exc, OpenAIClientError):
        return _client_error(exc)
    if isinstance(exc, MalformedResponseError):
        return ApiFailure(
            FailureKind.MALFORMED_RESPONSE,
            f"the server's answer is not what an OpenAI-compatible API sends: {exc.problem}",
            "check the base URL: it must be the API root (e.g. https://api.openai.com/v1 or "
            "http://localhost:11434/v1), not a web page or a proxy's login page",
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
                f"the server's answer did not match the API schema: {_first_line(str(exc))}",
                "check the base URL points at an OpenAI-compatible API",
                status_code=exc.status_code,
            )
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return ApiFailure(FailureKind.TIMEOUT, "the request timed out", _RETRY_FIX, cause="read")
    if isinstance(exc, (ConnectionError, ssl.SSLError, socket.gaierror)):
        return _connection(exc, environ)
    return ApiFailure(
        FailureKind.UNEXPECTED,
        f"unexpected {type(exc).__name__}: {_first_line(str(exc))}".rstrip(": "),
        "run again with --verbose and report it at https://github.com/chatenv/chatenv/issues",
    )


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

_RETRY_FIX = "try again in a minute; if it persists, check " + STATUS_PAGE


def _status(exc: Any) -> ApiFailure:
    status: int = exc.status_code
    code: str | None = exc.code
    type_: str | None = exc.type
    request_id: str | None = getattr(exc, "request_id", None)
    message = _server_message(exc)
    said = f": {message}" if message else ""

    def failure(kind: FailureKind, summary: str, fix: str | None, **extra: Any) -> ApiFailure:
        return ApiFailure(
            kind,
            summary,
            fix,
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
                f"the key does not belong to the organization or project sent{said}",
                "fix or remove OPENAI_ORG_ID / OPENAI_PROJECT_ID, or use a key of that project",
            )
        return failure(
            FailureKind.INVALID_KEY,
            f"the API key was rejected (401): it is wrong, revoked or deleted{said}",
            f"create a new key at {KEYS_PAGE}, then: chatenv configure-key",
        )
    if status == 403:
        if code == "unsupported_country_region_territory" or type_ == "request_forbidden":
            return failure(
                FailureKind.REGION_BLOCKED,
                f"the API does not serve requests from this country or region (403 {code}){said}",
                f"OpenAI serves only the locations listed at {COUNTRIES_PAGE}",
            )
        return failure(
            FailureKind.PERMISSION_DENIED,
            f"the key is not allowed to do this (403){said}",
            "give the key the permission it needs (restricted keys: Models and Model "
            f"capabilities) at {KEYS_PAGE}, or ask your organization's owner for the role",
        )
    if status == 404:
        if code == "model_not_found":
            if message and ("deprecat" in message.lower() or "retired" in message.lower()):
                return failure(
                    FailureKind.MODEL_RETIRED,
                    f"the model has been retired (404 model_not_found){said}",
                    f"choose a current model ({MODELS_PAGE})",
                )
            return failure(
                FailureKind.MODEL_NOT_FOUND,
                f"the model does not exist or this key cannot use it (404 model_not_found){said}",
                f"choose a model this key can use (GET /v1/models lists them; see {MODELS_PAGE})",
            )
        return failure(
            FailureKind.NOT_FOUND,
            f"the server has no such endpoint (404 at {_url_of(exc)}){said}",
            "check the base URL: it usually ends in /v1 (e.g. http://localhost:8000/v1)",
        )
    if status == 429:
        if code == "insufficient_quota" or type_ == "insufficient_quota":
            return failure(
                FailureKind.INSUFFICIENT_QUOTA,
                f"the account has no quota left: billing or credit needed (429 insufficient_quota)"
                f"{said}",
                f"add credit or a payment method at {BILLING_PAGE}",
            )
        retry_after = _retry_after(exc)
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return failure(
            FailureKind.RATE_LIMITED,
            f"rate limited (429{' ' + code if code else ''}){wait}{said}",
            f"wait and try again; see your limits at {LIMITS_PAGE}",
            retry_after_s=retry_after,
        )
    if status >= 500:
        ref = f" (request id {request_id})" if request_id else ""
        return failure(
            FailureKind.SERVER_ERROR,
            f"the server failed ({status}){ref}{said}",
            _RETRY_FIX + (f"; quote request id {request_id} to support" if request_id else ""),
        )
    return failure(
        FailureKind.BAD_REQUEST,
        f"the server refused the request ({status}{' ' + code if code else ''}){said}",
        "check the model and base URL; run again with --verbose for details",
    )


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
    connect = any(type(e).__name__ in ("ConnectTimeout", "PoolTimeout") for e in _chain(exc))
    if connect:
        return ApiFailure(
            FailureKind.TIMEOUT,
            f"could not connect to {url} in time (connect timeout)",
            "check the network, a firewall or the proxy (HTTPS_PROXY)",
            cause="connect",
        )
    return ApiFailure(
        FailureKind.TIMEOUT,
        f"{url} did not answer in time (read timeout)",
        _RETRY_FIX,
        cause="read",
    )


def _connection(exc: BaseException, environ: Mapping[str, str] | None) -> ApiFailure:
    """Walk the exception chain down to the OS/TLS error, which says what really happened."""
    url = _url_of(exc)
    host, port = _host_port(url)
    proxy = _proxy_for(url, environ)
    chain = list(_chain(exc))
    names = {type(e).__name__ for e in chain}

    def failure(cause: str, summary: str, fix: str) -> ApiFailure:
        return ApiFailure(FailureKind.CONNECTION, summary, fix, cause=cause)

    for err in chain:
        if isinstance(err, ssl.SSLCertVerificationError):
            reason = err.verify_message or _first_line(str(err))
            via = f" (through the proxy {proxy[1]})" if proxy else ""
            return failure(
                "tls-certificate",
                f"the TLS certificate of {host} is not trusted{via}: {reason}",
                "behind a TLS-inspecting proxy? point SSL_CERT_FILE at your organization's CA "
                "bundle: export SSL_CERT_FILE=/path/to/ca-bundle.pem",
            )
    if "ProxyError" in names:
        detail = next(_first_line(str(e)) for e in chain if type(e).__name__ == "ProxyError")
        where = f" {proxy[1]} (from {proxy[0]})" if proxy else ""
        return failure(
            "proxy",
            f"the proxy{where} refused to connect to {host}: {detail}",
            "check the proxy address and its credentials, or bypass it with NO_PROXY",
        )
    if "UnsupportedProtocol" in names:
        return failure(
            "bad-url",
            f"the base URL {url} is not an http:// or https:// URL",
            "set a full URL, e.g. --base-url http://localhost:8000/v1",
        )
    for err in chain:
        if isinstance(err, ssl.SSLError):
            reason = getattr(err, "reason", None) or _first_line(str(err))
            plain = "WRONG_VERSION_NUMBER" in str(reason).upper()
            return failure(
                "tls",
                f"the TLS handshake with {host} failed: {reason}",
                "the server does not speak TLS there: use http:// in the base URL"
                if plain
                else "check the base URL's port and scheme, and any proxy in between",
            )
    os_error = next((e for e in chain if isinstance(e, OSError)), None)
    if proxy and os_error is not None:
        # The connection that failed was the one to the proxy, not to the API.
        return failure(
            "proxy",
            f"cannot reach the proxy {proxy[1]} (from {proxy[0]}): {_os_reason(os_error)}",
            f"check {proxy[0]}, or add {host} to NO_PROXY",
        )
    for err in chain:
        if isinstance(err, socket.gaierror):
            return failure(
                "dns",
                f"cannot resolve {host} (DNS): {_os_reason(err)}",
                "check the host name in the base URL and this machine's network/DNS"
                if not is_openai_host(host)
                else "check this machine's network/DNS; behind a proxy, set HTTPS_PROXY",
            )
    for err in chain:
        if isinstance(err, ConnectionRefusedError):
            local = host in ("localhost", "127.0.0.1", "::1", "0.0.0.0")
            return failure(
                "refused",
                f"connection refused by {host}:{port}",
                "is the local server (vLLM, Ollama, LiteLLM, ...) running on that port?"
                if local
                else "check the base URL's host and port, and any firewall",
            )
    if names & {"RemoteProtocolError", "ReadError", "EndOfStream"} or any(
        isinstance(e, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError))
        for e in chain
    ):
        return failure(
            "closed",
            f"{host} closed the connection before the answer was complete",
            "try again; if it persists, a proxy or the server is cutting the connection",
        )
    if os_error is not None and os_error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return failure(
            "unreachable",
            f"{host} is unreachable: {_os_reason(os_error)}",
            "check this machine's network connection",
        )
    deepest = chain[-1]
    return failure(
        "connect",
        f"cannot connect to {host}:{port}: {_first_line(str(deepest)) or type(deepest).__name__}",
        "check the network and the base URL",
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


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
    env = dict(environ) if environ is not None else None
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return None
    proxies = _proxies(env)
    if not proxies:
        return None
    if _bypassed(parts.hostname, proxies):
        return None
    for name in (f"{parts.scheme}_proxy", "all_proxy"):
        value = proxies.get(name)
        if value:
            return name.upper(), mask_url(value)
    return None


def _proxies(environ: dict[str, str] | None) -> dict[str, str]:
    if environ is None:
        raw = urllib.request.getproxies_environment()
        return {f"{k}_proxy": v for k, v in raw.items()}
    found: dict[str, str] = {}
    for name, value in environ.items():
        lower = name.lower()
        if lower.endswith("_proxy") and value and (lower not in found or name == lower):
            found[lower] = value
    return found


def _bypassed(host: str, proxies: Mapping[str, str]) -> bool:
    no_proxy = proxies.get("no_proxy", "")
    if no_proxy.strip() == "*":
        return True
    for entry in (e.strip().lstrip(".") for e in no_proxy.split(",")):
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


def _os_reason(err: OSError) -> str:
    return err.strerror or _first_line(str(err)) or type(err).__name__


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"
