"""Which server an OpenAI-compatible base URL talks to, from the URL and from what it answers.

A fix is only true for the server that gave the answer: OpenAI's keys page is no help to
someone whose LiteLLM proxy refused a key, and "check status.openai.com" is wrong for a vLLM
that crashed. `identify` is one pure function from (base URL, response headers, body) to a
`Server`; `chatenv.api.failures` words each failure for it from the problem table.

What gives a server away, strongest first (each recorded from the real server; see
tests/openai_server.py for the shapes):

- the host: api.openai.com, *.openai.azure.com, openrouter.ai, api.groq.com, ...;
- headers: LiteLLM sends `x-litellm-*` on every answer, Azure `apim-request-id`, OpenAI itself
  `openai-version` and `openai-processing-ms`, llama.cpp's server `Server: llama.cpp`;
- the body: LiteLLM's error types (`no_db_connection`, `budget_exceeded`, `auth_error`) and its
  name in messages, Azure's error codes (`DeploymentNotFound`), vLLM's `{"object": "error"}` and
  exception names as types, Ollama's "try pulling it first", and who `owned_by` the models;
- the port, on this machine only, where a server's default is distinctive (Ollama 11434,
  LM Studio 1234).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from chatenv.records import dataclass

if TYPE_CHECKING:
    from urllib.parse import SplitResult


class ServerKind(str, Enum):
    OPENAI = "openai"
    AZURE = "azure"
    LITELLM = "litellm"
    VLLM = "vllm"
    OLLAMA = "ollama"
    LLAMA_CPP = "llama.cpp"
    LM_STUDIO = "lm-studio"
    #: a hosted OpenAI-compatible API chatenv knows (OpenRouter, Groq, Together)
    HOSTED = "hosted"
    #: any other server: nothing is claimed about where its keys or models live
    OTHER = "other"


#: servers that run on the user's own machines: their log says why they failed
SELF_HOSTED = frozenset(
    {
        ServerKind.LITELLM,
        ServerKind.VLLM,
        ServerKind.OLLAMA,
        ServerKind.LLAMA_CPP,
        ServerKind.LM_STUDIO,
    }
)


@dataclass(frozen=True)
class Hosted:
    name: str
    #: where a key is made (each from the provider's own documentation)
    keys_page: str


#: host -> provider. The pages are the ones each provider's OpenAI-compatibility docs name.
HOSTED: Mapping[str, Hosted] = {
    "openrouter.ai": Hosted("OpenRouter", "https://openrouter.ai/settings/keys"),
    "api.groq.com": Hosted("Groq", "https://console.groq.com/keys"),
    "api.together.xyz": Hosted("Together AI", "https://api.together.ai/settings/api-keys"),
    "api.together.ai": Hosted("Together AI", "https://api.together.ai/settings/api-keys"),
}
_AZURE_HOSTS = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")
_LOCAL_PORTS = {11434: ServerKind.OLLAMA, 1234: ServerKind.LM_STUDIO}
_NAMES = {
    ServerKind.OPENAI: "OpenAI",
    ServerKind.AZURE: "Azure OpenAI",
    ServerKind.LITELLM: "the LiteLLM proxy",
    ServerKind.VLLM: "vLLM",
    ServerKind.OLLAMA: "Ollama",
    ServerKind.LLAMA_CPP: "llama.cpp's server",
    ServerKind.LM_STUDIO: "LM Studio",
}
#: `owned_by` in GET /models, as each server fills it in
_OWNERS = {
    "vllm": ServerKind.VLLM,
    "library": ServerKind.OLLAMA,
    "llamacpp": ServerKind.LLAMA_CPP,
    "organization_owner": ServerKind.LM_STUDIO,
}
#: LiteLLM's own error types (litellm/proxy/_types.py ProxyErrorTypes)
_LITELLM_TYPES = frozenset({"no_db_connection", "budget_exceeded", "auth_error"})
#: Azure's error codes (their casing: no other server sends these)
_AZURE_CODES = frozenset({"DeploymentNotFound", "OperationNotSupported", "InvalidApiVersion"})


@dataclass(frozen=True)
class Server:
    kind: ServerKind
    #: "host[:port]" of the base URL
    host: str
    hosted: Hosted | None = None

    @property
    def name(self) -> str:
        """How a line names it: "the LiteLLM proxy", "OpenRouter", "the server at host:port"."""
        if self.hosted is not None:
            return self.hosted.name
        return _NAMES.get(self.kind, f"the server at {self.host}")

    @property
    def is_openai(self) -> bool:
        return self.kind is ServerKind.OPENAI

    @property
    def local(self) -> bool:
        return self.host.rsplit(":", 1)[0].strip("[]") in _LOCAL_HOSTS


def identify(
    base_url: str, headers: Mapping[str, str] | None = None, body: object = None
) -> Server:
    """The server behind `base_url`, from the URL alone or also from one of its answers."""
    parts = urlsplit(base_url)
    hostname = (parts.hostname or "").lower()
    host = parts.netloc.rpartition("@")[2] or hostname

    def server(kind: ServerKind) -> Server:
        return Server(kind, host)

    if hostname == "openai.com" or hostname.endswith(".openai.com"):
        return server(ServerKind.OPENAI)
    if hostname.endswith(_AZURE_HOSTS):
        return server(ServerKind.AZURE)
    if hostname in HOSTED:
        return Server(ServerKind.HOSTED, host, HOSTED[hostname])
    found = _from_headers({k.lower(): v for k, v in (headers or {}).items()})
    found = found or _from_body(body)
    port = _port(parts)
    if found is None and hostname in _LOCAL_HOSTS and port is not None:
        found = _LOCAL_PORTS.get(port)
    return server(found or ServerKind.OTHER)


def _from_headers(headers: Mapping[str, str]) -> ServerKind | None:
    if any(name.startswith("x-litellm-") for name in headers):
        return ServerKind.LITELLM
    if "apim-request-id" in headers or "x-ms-region" in headers:
        return ServerKind.AZURE
    if "openai-version" in headers or "openai-processing-ms" in headers:
        return ServerKind.OPENAI
    if headers.get("server", "").lower().startswith("llama.cpp"):
        return ServerKind.LLAMA_CPP
    return None


def _from_body(body: object) -> ServerKind | None:
    if not isinstance(body, Mapping):
        return None
    data = body.get("data")
    if isinstance(data, list):
        owners = {item.get("owned_by") for item in data if isinstance(item, Mapping)}
        kinds = {_OWNERS[o] for o in owners if isinstance(o, str) and o in _OWNERS}
        return kinds.pop() if len(kinds) == 1 else None
    error = body.get("error", body)
    if not isinstance(error, Mapping):
        return None
    type_, code, message = error.get("type"), error.get("code"), str(error.get("message", ""))
    if type_ in _LITELLM_TYPES or "LiteLLM" in message or "litellm." in message:
        return ServerKind.LITELLM
    if code in _AZURE_CODES:
        return ServerKind.AZURE
    if body.get("object") == "error" or (
        isinstance(type_, str) and type_.endswith("Error") and isinstance(code, int)
    ):
        return ServerKind.VLLM
    if "try pulling it first" in message:
        return ServerKind.OLLAMA
    return None


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def request_id(headers: Mapping[str, str]) -> str | None:
    """The id a server's support (or its log) finds a request by: OpenAI's `x-request-id`,
    Azure's `apim-request-id`, LiteLLM's `x-litellm-call-id`."""
    for name in ("x-request-id", "apim-request-id", "x-litellm-call-id"):
        value = headers.get(name)
        if value:
            return str(value)
    return None


# -- Azure's older per-deployment URL ---------------------------------------------------------

_DEPLOYMENT_PATH = re.compile(r"^(?P<root>.*?/openai)/deployments/(?P<name>[^/?#]+)", re.I)


@dataclass(frozen=True)
class AzureDeploymentUrl:
    """OPENAI_BASE_URL set to `https://RES.openai.azure.com/openai/deployments/NAME?api-version=`:
    the `AzureOpenAI` client's URL, which the plain client cannot use (it appends
    /chat/completions after the query, sends no `api-version` and no `api-key` header: Azure
    answers 401 or 404). Azure's v1 API takes the plain client with a base URL and the
    deployment as the model."""

    url: str
    v1_url: str
    deployment: str


def azure_deployment_url(base_url: str) -> AzureDeploymentUrl | None:
    parts = urlsplit(base_url)
    if not (parts.hostname or "").lower().endswith(_AZURE_HOSTS):
        return None
    match = _DEPLOYMENT_PATH.match(parts.path)
    if match is None:
        return None
    netloc = parts.netloc.rpartition("@")[2]  # never a password into the fix
    v1 = urlunsplit((parts.scheme, netloc, match["root"] + "/v1/", "", ""))
    return AzureDeploymentUrl(base_url, v1, match["name"])
