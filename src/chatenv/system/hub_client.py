"""The two questions doctor and `configure-key --hf` ask the Hugging Face hub, over the
standard library (huggingface_hub takes a third of a second to import; doctor must stay fast):
whose token is this (`GET /api/whoami-v2`), and may it read this model (`GET /api/models/{id}`,
then `GET /api/models/{id}/auth-check` for a gated one). One attempt each, a short timeout, no
retries; the proxy and CA settings read from the environment as huggingface_hub's client reads
them; HF_ENDPOINT (a mirror) is the caller's `endpoint`.

How the hub answers (huggingface_hub's `utils/_http.py: hf_raise_for_status` reads the same
headers): a refused token is 401 with `X-Error-Message: Invalid credentials in Authorization
header`, on every endpoint, public models included; a gated model refuses with
`X-Error-Code: GatedRepo`, 401 without a token, 403 with one that is not on the authorized list
(or whose request awaits review); a missing or private model is 404 (or 401)
`X-Error-Code: RepoNotFound`. tests/system/test_hub_client.py says where each was recorded.
"""

from __future__ import annotations

import json
import time
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

from chatenv.records import dataclass, field

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chatenv.keys.mask import Secret

DEFAULT_ENDPOINT = "https://huggingface.co"
#: the hub's words for a token it does not know (revoked, expired, mistyped)
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
#: the most of an answer that is read (a whoami or model_info reply is a few kB)
MAX_BODY = 1 << 20


def endpoint(environ: Mapping[str, str]) -> str:
    """HF_ENDPOINT (a mirror, or a stand-in), as huggingface_hub's constants read it."""
    return (environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


@dataclass(frozen=True)
class Reply:
    """One answer, or why there was none (`status` None)."""

    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: why no answer came ("connection refused", "no answer within 5s")
    error: str = ""
    elapsed_s: float = 0.0

    @property
    def error_code(self) -> str:
        return self.headers.get("x-error-code", "")

    @property
    def error_message(self) -> str:
        """The hub's reason: X-Error-Message, else the JSON body's `error`."""
        message = self.headers.get("x-error-message", "")
        if message:
            return message
        data = self.json()
        error = data.get("error") if isinstance(data, dict) else None
        return error if isinstance(error, str) else ""

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    @property
    def reason(self) -> str:
        """Why this answer says nothing useful, in a few words."""
        if self.status is None:
            return self.error
        return f"HTTP {self.status}" + (f": {self.error_message}" if self.error_message else "")


def get(url: str, token: Secret | None, *, environ: Mapping[str, str], timeout: float) -> Reply:
    """GET `url` once, the token as a Bearer header when there is one. A redirect is followed
    only to the same scheme and host (a renamed model), so the token never goes elsewhere."""
    started = time.monotonic()
    for _ in range(2):
        reply = _get_once(url, token, environ=environ, timeout=timeout)
        location = reply.headers.get("location", "")
        if reply.status not in (301, 302, 307, 308) or not location:
            break
        target = urljoin(url, location)
        if urlsplit(target)[:2] != urlsplit(url)[:2]:
            break
        url = target
    return Reply(reply.status, reply.headers, reply.body, reply.error, time.monotonic() - started)


def _get_once(
    url: str, token: Secret | None, *, environ: Mapping[str, str], timeout: float
) -> Reply:
    import urllib.error
    import urllib.request

    from chatenv import __version__

    headers = {"User-Agent": f"chatenv/{__version__}", "Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token.reveal()}"
    request = urllib.request.Request(url, headers=headers)
    try:
        opener = urllib.request.build_opener(*_handlers(url, environ))
        with opener.open(request, timeout=timeout) as response:
            return Reply(response.status, _lower(response.headers), response.read(MAX_BODY))
    except urllib.error.HTTPError as exc:
        with exc:
            body = exc.read(MAX_BODY) if exc.fp is not None else b""
        return Reply(exc.code, _lower(exc.headers), body)
    except Exception as exc:  # refused, DNS, TLS, proxy, timeout: no answer
        return Reply(None, error=network_reason(exc, timeout))


def _handlers(url: str, environ: Mapping[str, str]) -> list[Any]:
    import urllib.request

    from chatenv.system.proxies import bypassed, env_proxies
    from chatenv.system.tls import tls_context

    parts = urlsplit(url)
    proxies = env_proxies(environ)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy and bypassed(parts.hostname or "", proxies.get("no", "")):
        proxy = None
    if proxy and "://" not in proxy:
        proxy = f"http://{proxy}"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        """Redirects come back as answers; `get` decides whether to follow one."""

        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    handlers: list[Any] = [
        urllib.request.ProxyHandler({parts.scheme: proxy} if proxy else {}),
        NoRedirect(),
    ]
    if parts.scheme == "https":
        handlers.append(urllib.request.HTTPSHandler(context=tls_context(environ)))
    return handlers


def _lower(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers.items() if headers else [])}


def network_reason(exc: BaseException, timeout: float) -> str:
    """Why no answer came, in a few words."""
    import socket
    import ssl

    reason = getattr(exc, "reason", exc)
    if isinstance(reason, (TimeoutError, socket.timeout)) or "timed out" in str(reason):
        return f"no answer within {timeout:g}s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "DNS lookup failed"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return "TLS certificate not trusted"
    if isinstance(reason, OSError) and "Tunnel connection failed" in str(reason):
        return "the proxy refused or failed"
    text = " ".join(str(reason).split())
    return f"{type(reason).__name__}: {text[:120]}" if text else type(reason).__name__


# -- whoami ----------------------------------------------------------------------------------


class TokenState(str, Enum):
    ACCEPTED = "accepted"
    #: 401: the hub does not know the token (revoked, expired, mistyped)
    REJECTED = "rejected"
    #: nothing was learnt: no answer, a 5xx, a rate limit
    UNVERIFIED = "unverified"


@dataclass(frozen=True)
class WhoAmI:
    state: TokenState
    endpoint: str
    #: the account the token belongs to, its name for the token, and its role
    #: ("read", "write", "fineGrained")
    user: str = ""
    token_name: str = ""
    role: str = ""
    orgs: tuple[str, ...] = ()
    reason: str = ""
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "endpoint": self.endpoint,
            "user": self.user or None,
            "token_name": self.token_name or None,
            "role": self.role or None,
            "orgs": list(self.orgs),
            "reason": self.reason or None,
            "latency_ms": round(self.elapsed_s * 1000),
        }


def whoami(
    endpoint_url: str, token: Secret, *, environ: Mapping[str, str], timeout: float
) -> WhoAmI:
    """`hf auth whoami`'s request (HfApi.whoami: GET /api/whoami-v2), answered in one go."""
    reply = get(f"{endpoint_url}/api/whoami-v2", token, environ=environ, timeout=timeout)
    data = reply.json() if reply.status == 200 else None
    if isinstance(data, dict) and isinstance(data.get("name"), str):
        auth = _dict(data.get("auth"))
        access = _dict(auth.get("accessToken"))
        orgs = data.get("orgs")
        orgs = orgs if isinstance(orgs, list) else []
        return WhoAmI(
            TokenState.ACCEPTED,
            endpoint_url,
            user=data["name"],
            token_name=str(access.get("displayName") or ""),
            role=str(access.get("role") or ""),
            orgs=tuple(str(o["name"]) for o in orgs if isinstance(o, dict) and "name" in o),
            elapsed_s=reply.elapsed_s,
        )
    if reply.status == 401:
        reason = reply.error_message or INVALID_CREDENTIALS
        return WhoAmI(TokenState.REJECTED, endpoint_url, reason=reason, elapsed_s=reply.elapsed_s)
    if reply.status == 200:
        reason = "the answer is not the hub's whoami (is HF_ENDPOINT a Hugging Face hub?)"
    elif reply.status == 429:
        reason = "rate limited (HTTP 429): whoami is rate-limited strictly; try again later"
    else:
        reason = reply.reason
    return WhoAmI(TokenState.UNVERIFIED, endpoint_url, reason=reason, elapsed_s=reply.elapsed_s)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# -- may this token read this model? ---------------------------------------------------------


class Access(str, Enum):
    PUBLIC = "public"
    #: gated or private, and this token may read it
    GRANTED = "granted"
    #: gated, and no token was sent
    NEEDS_TOKEN = "needs-token"
    #: gated, and this token's account is not on the authorized list
    DENIED = "denied"
    #: gated, and this account's request awaits the authors' review
    PENDING = "pending"
    NOT_FOUND = "not-found"
    TOKEN_REJECTED = "token-rejected"
    UNVERIFIED = "unverified"


@dataclass(frozen=True)
class ModelAccess:
    access: Access
    endpoint: str
    repo_id: str
    #: the model's gating ("auto", "manual") or None when it is not gated / not known
    gated: str | None = None
    private: bool = False
    #: the hub's own words (X-Error-Message), or why nothing was learnt
    reason: str = ""

    @property
    def page(self) -> str:
        return f"{self.endpoint}/{self.repo_id}"

    def to_json(self) -> dict[str, Any]:
        return {
            "access": self.access.value,
            "endpoint": self.endpoint,
            "repo_id": self.repo_id,
            "gated": self.gated,
            "private": self.private,
            "reason": self.reason or None,
        }


def refusal(status: int | None, error_code: str, message: str) -> Access | None:
    """What a refused repository request means (as hf_raise_for_status reads it), or None when
    the answer says nothing about the token or the model (a 5xx, a rate limit)."""
    if status == 401 and message == INVALID_CREDENTIALS:
        return Access.TOKEN_REJECTED
    if error_code == "GatedRepo":
        if status == 401:
            return Access.NEEDS_TOKEN
        return Access.PENDING if "awaiting a review" in message.lower() else Access.DENIED
    if error_code == "RepoNotFound" or status in (401, 404):
        return Access.NOT_FOUND
    return None


def model_access(
    endpoint_url: str,
    repo_id: str,
    token: Secret | None,
    *,
    environ: Mapping[str, str],
    timeout: float,
) -> ModelAccess:
    """The model's metadata (public for a gated model), then, for a gated one with a token,
    the hub's own access check (HfApi.auth_check)."""
    base = f"{endpoint_url}/api/models/{quote(repo_id, safe='/')}"
    info = get(base, token, environ=environ, timeout=timeout)
    data = info.json() if info.status == 200 else None
    if not isinstance(data, dict):
        return _refused(info, endpoint_url, repo_id)
    gated = data.get("gated")
    gating = gated if isinstance(gated, str) and gated else None
    private = data.get("private") is True
    if gating is None:
        access = Access.GRANTED if private else Access.PUBLIC
        return ModelAccess(access, endpoint_url, repo_id, private=private)
    if token is None:
        return ModelAccess(Access.NEEDS_TOKEN, endpoint_url, repo_id, gating, private)
    check = get(f"{base}/auth-check", token, environ=environ, timeout=timeout)
    if check.status == 200:
        return ModelAccess(Access.GRANTED, endpoint_url, repo_id, gating, private)
    refused = _refused(check, endpoint_url, repo_id)
    return ModelAccess(refused.access, endpoint_url, repo_id, gating, private, refused.reason)


def _refused(reply: Reply, endpoint_url: str, repo_id: str) -> ModelAccess:
    access = refusal(reply.status, reply.error_code, reply.error_message)
    if access is None:
        reason = reply.reason
        if reply.status == 200:
            reason = "the answer is not the hub's model info (is HF_ENDPOINT a Hugging Face hub?)"
        return ModelAccess(Access.UNVERIFIED, endpoint_url, repo_id, reason=reason)
    return ModelAccess(access, endpoint_url, repo_id, reason=reply.error_message)
