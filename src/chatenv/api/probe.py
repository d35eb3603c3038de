"""doctor's one authenticated request: `GET {base}/models` with the key, which costs no tokens.

`gh auth status` asks the server whether the token works; doctor does the same for the OpenAI key,
so a wrong key (or a process on the port that is not the API) is not reported as "reachable".
One request, a short timeout, no retries, no redirects followed.

It uses the standard library (`urllib`), not the openai client: doctor runs in the base install,
without openai, and importing openai would cost it ~0.6 s (three times doctor's whole run). The
request is the one the client sends for `client.models.list()`: the same URL, the bearer key, the
organization and project headers. The caller hands in the proxy and the TLS context the client
would use (doctor's network section already works them out the way httpx2 does), so the answer
is the one the user's code gets. Its answers are read by `chatenv.api.failures.classify_answer`,
like the client's.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chatenv.api.failures import FailureKind, HttpAnswer, classify_answer
from chatenv.api.servers import identify, request_id
from chatenv.keys.mask import mask_url, redact
from chatenv.problems import problem
from chatenv.records import dataclass

if TYPE_CHECKING:
    import ssl

    from chatenv.api.failures import ApiFailure
    from chatenv.api.servers import Server
    from chatenv.keys.config import OpenAIConfig

#: seconds: doctor's section must finish within its budget after the reachability check
TIMEOUT_S = 2.5
USER_AGENT = "chatenv-doctor"


@dataclass(frozen=True)
class KeyProbe:
    """What `GET /models` with the key said."""

    #: the base URL, password masked
    base_url: str
    server: Server
    #: the model ids, when the server listed them (the key is accepted)
    model_ids: tuple[str, ...] | None = None
    latency_s: float | None = None
    request_id: str | None = None
    failure: ApiFailure | None = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The openai client does not follow a redirect to a login page, and neither does doctor."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def get_models(
    config: OpenAIConfig,
    *,
    proxy: str | None,
    context: ssl.SSLContext | None,
    timeout: float = TIMEOUT_S,
) -> KeyProbe:
    """One `GET {base}/models` with the configured key through `proxy` (None: direct)."""
    assert config.key is not None
    base = config.effective_base_url.rstrip("/")
    url = base + "/models"
    headers = {
        "Authorization": f"Bearer {config.key.reveal()}",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
    if config.organization:
        headers["OpenAI-Organization"] = config.organization.value
    if config.project:
        headers["OpenAI-Project"] = config.project.value
    scheme = url.split(":", 1)[0]
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({scheme: proxy} if proxy else {}),
        urllib.request.HTTPSHandler(context=context),
        _NoRedirect,
    )
    shown = mask_url(base)
    started = time.perf_counter()
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=timeout) as done:
            answer = HttpAnswer.read(done.status, url, dict(done.headers), done.read(), None)
    except urllib.error.HTTPError as exc:
        answer = HttpAnswer.read(exc.code, url, dict(exc.headers or {}), exc.read(), None)
    except (OSError, ValueError) as exc:
        return KeyProbe(shown, identify(base), failure=_no_answer(exc, shown, timeout))
    latency = time.perf_counter() - started
    server = identify(base, answer.headers, answer.body)
    if answer.status >= 300:
        return KeyProbe(shown, server, failure=classify_answer(answer))
    ids = _model_ids(answer.body)
    if ids is None:
        return KeyProbe(shown, server, failure=_not_the_api(answer))
    return KeyProbe(shown, server, ids, latency, request_id(answer.headers))


def _model_ids(body: object) -> tuple[str, ...] | None:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return None
    ids = [item.get("id") for item in data if isinstance(item, dict)]
    if len(ids) != len(data) or not all(isinstance(i, str) for i in ids):
        return None
    return tuple(sorted(str(i) for i in ids))


def _not_the_api(answer: HttpAnswer) -> ApiFailure:
    from chatenv.api.failures import ApiFailure

    content_type = answer.headers.get("content-type", "none")
    what = "an HTML page" if "html" in content_type.lower() else "not a model list"
    found = "" if isinstance(answer.body, (dict, list)) else f" (content-type {content_type})"
    summary, fix = problem("api.malformed-response").pair(problem=f"the body is {what}{found}")
    return ApiFailure(
        FailureKind.MALFORMED_RESPONSE,
        summary,
        fix,
        status_code=answer.status,
        request_id=request_id(answer.headers),
    )


def _no_answer(exc: BaseException, base: str, timeout: float) -> ApiFailure:
    from chatenv.api.failures import ApiFailure

    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, (TimeoutError, socket.timeout)):
        url = f"{base}/models"
        if identify(base).is_openai:
            text = problem("api.read-timeout").pair(url=url)
        else:
            text = problem("api.read-timeout-server").pair(url=url)
        return ApiFailure(FailureKind.TIMEOUT, *text, cause="read")
    why = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    parts = urlsplit(base)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    text = problem("api.connect-failed").pair(
        host=parts.hostname or base, port=port, reason=redact(str(why))
    )
    return ApiFailure(FailureKind.CONNECTION, *text, cause="connect")
