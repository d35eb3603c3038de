"""An OpenAI-compatible HTTP server on 127.0.0.1 for the test suite, answering like the real API.

Real HTTP, driven by the real `openai` client: what the tests exercise is the request the client
builds, the bytes the server sends and the exceptions the client raises from them. The bodies
follow OpenAI's published spec (tests/data/openai-schemas.json, extracted from it by
scripts/extract_openai_schemas.py); tests/api/test_openai_server.py validates every answer
against those schemas. The error bodies and headers are those the real API sends (status, `type`,
`code`, `x-request-id`, the `x-ratelimit-*` headers).

Endpoints (under /v1): GET /models, GET /models/{id}, POST /chat/completions, POST /responses.
The bearer key is checked first, as by the real API: none or a wrong one is a 401.

Other servers: the scenarios after `CLOSED` answer as LiteLLM, Azure OpenAI, vLLM, llama.cpp's
server, Prism and FastAPI servers do, byte for byte what each real server was seen to send (the
comment on each says where it was recorded), with their headers and without OpenAI's. And
`set(scenario, as_openai=False)` answers any scenario without OpenAI's own headers, as a server
that is not OpenAI would.

Every request chatenv makes (the openai client's, doctor's `GET /models`) is checked against
OpenAI's spec: its body against `CreateChatCompletionRequest` or `CreateResponse`, a GET for
carrying no body and a bearer key. A request that breaks it is an error of the server's
(`OpenAIServer.errors`), which fails the test that made it.

Use it through the `openai_server` fixture (tests/conftest.py): one server per session, reset
to `Scenario.OK` and `TEST_KEY` before each test. A test picks what the server does next with
`openai_server.set(Scenario.X)` (optionally only for some paths), and can read back the requests
it received (`openai_server.requests`).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from enum import Enum
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatenv.keys.config import ENVIRONMENT, OpenAIConfig, Setting
from chatenv.keys.mask import Secret

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: the key the server accepts unless a test adds others (shaped like a real project key)
TEST_KEY = "sk-proj-" + "chatenvTestKey0123456789" * 3 + "Zq9w"
#: the models GET /v1/models lists (and chat/responses accept)
MODELS = ("gpt-4o-mini", "gpt-4.1-nano", "text-embedding-3-small")
#: models the server answers as retired, with the real API's wording
RETIRED = ("text-davinci-003", "gpt-3.5-turbo-0301")
#: completions-only models: chat completions answers them 404 "not a chat model", as the real
#: API does (they are not listed: the server has no /v1/completions)
COMPLETIONS_ONLY = ("gpt-3.5-turbo-instruct", "davinci-002", "babbage-002")
REPLY = "Hello from the chatenv test server, a small OpenAI-compatible API on localhost."
CREATED = 1_715_367_049


class Scenario(str, Enum):
    OK = "ok"
    #: 401 invalid_api_key for any key (a revoked key), real message with the key partly masked
    UNAUTHORIZED = "unauthorized"
    #: 401 whose message echoes the whole key (some proxies do): proves chatenv redacts it
    UNAUTHORIZED_ECHO = "unauthorized-echo"
    #: 401 mismatched_organization
    WRONG_ORGANIZATION = "wrong-organization"
    #: 403: a restricted key without the needed scope
    FORBIDDEN = "forbidden"
    #: 403 unsupported_country_region_territory
    REGION = "region"
    #: 404 model_not_found for every model
    MODEL_NOT_FOUND = "model-not-found"
    #: 404 for the model, as vLLM words it: no `model_not_found` code, type NotFoundError
    VLLM_MODEL_NOT_FOUND = "vllm-model-not-found"
    #: 404 for a model that is not pulled, as Ollama's OpenAI layer words it
    OLLAMA_MODEL_NOT_FOUND = "ollama-model-not-found"
    #: 429 insufficient_quota
    QUOTA = "quota"
    #: 429 rate_limit_exceeded, with x-ratelimit-* and retry-after headers
    RATE_LIMIT = "rate-limit"
    #: 500 server_error with x-request-id
    SERVER_ERROR = "server-error"
    #: 503 overloaded with x-request-id
    UNAVAILABLE = "unavailable"
    #: answers only after `slow_s` seconds (longer than any client timeout a test sets)
    SLOW = "slow"
    #: 200 with content-type application/json and a body that is not JSON
    MALFORMED = "malformed"
    #: 200 with an HTML page (a captive portal, a proxy's login page)
    HTML = "html"
    #: 200 with JSON of the wrong shape
    WRONG_SHAPE = "wrong-shape"
    #: headers and half of the body, then the connection is closed
    CLOSED = "closed"
    # -- other servers (see _OTHER_SERVERS for where each answer was recorded) -------------
    #: LiteLLM without a database, a key that is not the master key: 400 no_db_connection
    LITELLM_NO_DB = "litellm-no-db"
    #: LiteLLM, a model not in its config: 400 "Invalid model name passed in model=..."
    LITELLM_UNKNOWN_MODEL = "litellm-unknown-model"
    #: LiteLLM, budget exceeded: 422 (its default budget_exceeded_status_code)
    LITELLM_BUDGET = "litellm-budget"
    #: LiteLLM with budget_exceeded_status_code: 429
    LITELLM_BUDGET_429 = "litellm-budget-429"
    #: LiteLLM, a model's own budget (litellm_params.max_budget) spent: 429 "crossed budget"
    LITELLM_MODEL_BUDGET = "litellm-model-budget"
    #: LiteLLM, the model behind it timed out: 408
    LITELLM_TIMEOUT = "litellm-timeout"
    #: Azure OpenAI, no deployment of the name asked for: 404 DeploymentNotFound
    AZURE_DEPLOYMENT_NOT_FOUND = "azure-deployment-not-found"
    #: Azure OpenAI, a wrong key: 401
    AZURE_UNAUTHORIZED = "azure-unauthorized"
    #: a FastAPI server without the path (a server without /responses): {"detail":"Not Found"}
    FASTAPI_NOT_FOUND = "fastapi-not-found"
    #: Prism mocking OpenAI's spec, a path the spec file lacks: problem+json 404
    PRISM_NOT_FOUND = "prism-not-found"
    #: Prism, a request the spec does not allow: problem+json 422 with its validation list
    PRISM_UNPROCESSABLE = "prism-unprocessable"
    #: vLLM started with --api-key, another key: 401 {"error": "Unauthorized"}
    VLLM_UNAUTHORIZED = "vllm-unauthorized"
    #: llama.cpp's llama-server started with --api-key, another key: 401
    LLAMA_CPP_UNAUTHORIZED = "llama-cpp-unauthorized"


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    #: header names in lower case
    headers: Mapping[str, str]
    body: Any
    #: the bearer token sent, or None
    key: str | None


@dataclass
class _State:
    scenario: Scenario = Scenario.OK
    #: the scenario applies to these paths only (None: to every path)
    paths: tuple[str, ...] | None = None
    keys: set[str] = field(default_factory=lambda: {TEST_KEY})
    #: when set, a request whose OpenAI-Organization header differs gets a 401
    organization: str | None = None
    slow_s: float = 5.0
    #: send OpenAI's own headers (openai-version, openai-processing-ms) with every answer
    as_openai: bool = True
    requests: list[Recorded] = field(default_factory=list)


class OpenAIServer:
    """The server, its state, and the controls a test uses."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: list[str] = []
        #: requests chatenv made that break OpenAI's spec, since `errors` was last read
        self._violations: list[str] = []
        self._state = _State()
        self._release = threading.Event()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.openai = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="openai"
        )

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._release.set()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- what a test controls ---------------------------------------------------------------

    def reset(self) -> None:
        """Back to answering every request normally, for TEST_KEY only."""
        self._release.set()  # let any request still sleeping in SLOW finish now
        with self._lock:
            self._state = _State()
            self._release = threading.Event()

    def set(
        self,
        scenario: Scenario,
        *,
        paths: Iterable[str] | None = None,
        slow_s: float | None = None,
        as_openai: bool = True,
    ) -> None:
        """Answer the next requests (to `paths`, e.g. "/v1/chat/completions") per `scenario`;
        `as_openai=False`: without OpenAI's own headers, as a server that is not OpenAI."""
        with self._lock:
            self._state.scenario = scenario
            self._state.paths = tuple(paths) if paths is not None else None
            self._state.as_openai = as_openai and scenario not in _NOT_OPENAI
            if slow_s is not None:
                self._state.slow_s = slow_s

    def accept_key(self, key: str) -> None:
        with self._lock:
            self._state.keys.add(key)

    def require_organization(self, organization: str | None) -> None:
        with self._lock:
            self._state.organization = organization

    @property
    def errors(self) -> list[str]:
        """Exceptions the request handlers raised (a bug in this server), and the requests
        chatenv made that break OpenAI's spec since the last read (a bug in chatenv; reading
        them clears them, so each test's own are the ones it sees)."""
        with self._lock:
            violations, self._violations = self._violations, []
        return [*self._errors, *violations]

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._state.requests)

    # -- used by the handler ----------------------------------------------------------------

    def _snapshot(self) -> tuple[_State, threading.Event]:
        with self._lock:
            return self._state, self._release

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self._state.requests.append(request)
        if _from_chatenv(request.headers):
            with self._lock:
                self._violations.extend(
                    f"{request.method} {request.path} breaks OpenAI's spec: {problem}"
                    for problem in _breaks_spec(request)
                )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (it timed out, as tests make it) is not an error; anything
        else is kept for `OpenAIServer.errors` instead of being printed."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            return
        self.openai._errors.append(repr(error))  # type: ignore[attr-defined]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "chatenv-test-openai/1"
    #: the parsed body of the request being answered (for scenarios that quote it)
    body: Any = None
    #: send OpenAI's own headers with this answer
    as_openai: bool = True
    #: the Server header of this answer (None: http.server's own)
    server_header: str | None = None

    def version_string(self) -> str:
        return self.server_header or super().version_string()

    def log_message(self, format: str, *args: Any) -> None:  # quiet in test output
        return

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    # -- request handling -------------------------------------------------------------------

    def _serve(self, method: str) -> None:
        openai: OpenAIServer = self.server.openai  # type: ignore[attr-defined]
        state, release = openai._snapshot()
        path = self.path.split("?", 1)[0]
        headers = {k.lower(): v for k, v in self.headers.items()}
        raw = self.rfile.read(int(headers.get("content-length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = _UNPARSABLE
        auth = headers.get("authorization", "")
        key = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        openai._record(Recorded(method, path, headers, body, key))
        self.body = body
        self.as_openai = state.as_openai
        self.server_header = None

        if not key:
            return self._error(401, _MISSING_KEY, "invalid_request_error", None)
        if key not in state.keys:
            return self._error(401, _incorrect_key(key), "invalid_request_error", "invalid_api_key")
        scenario = state.scenario
        if state.paths is not None and path not in state.paths:
            scenario = Scenario.OK
        if scenario is not Scenario.OK and self._scenario(scenario, key, state, release):
            return
        org = state.organization
        if org is not None and headers.get("openai-organization", org) != org:
            return self._error(401, _MISMATCHED_ORG, "invalid_request_error", _MISMATCH_CODE)
        self._route(method, path, body)

    def _route(self, method: str, path: str, body: Any) -> None:
        if method == "GET" and path == "/v1/models":
            return self._json(200, {"object": "list", "data": [_model(m) for m in MODELS]})
        if method == "GET" and path.startswith("/v1/models/"):
            model = path[len("/v1/models/") :]
            if model in MODELS:
                return self._json(200, _model(model))
            return self._model_error(model, param="model")
        if method == "POST" and path == "/v1/chat/completions":
            return self._chat(body)
        if method == "POST" and path == "/v1/responses":
            return self._responses(body)
        self._error(404, f"Invalid URL ({method} {path})", "invalid_request_error", None)

    def _chat(self, body: Any) -> None:
        if body is _UNPARSABLE or not isinstance(body, dict):
            return self._error(400, _BAD_JSON, "invalid_request_error", None)
        model, messages = body.get("model"), body.get("messages")
        if not isinstance(model, str):
            return self._error(400, _missing("model"), "invalid_request_error", None, "model")
        if not isinstance(messages, list) or not messages:
            return self._error(400, _missing("messages"), "invalid_request_error", None)
        if model in COMPLETIONS_ONLY:
            return self._error(404, _NOT_CHAT, "invalid_request_error", None, "model")
        if model not in MODELS:
            return self._model_error(model)
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        prompt = " ".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        reply, finish = _reply(limit)
        usage = _usage(prompt, reply)
        self._json(
            200,
            {
                "id": "chatcmpl-" + secrets.token_hex(12),
                "object": "chat.completion",
                "created": int(time.time()),
                "model": _snapshot_name(model),
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": reply,
                            "refusal": None,
                            "annotations": [],
                        },
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ],
                "usage": {
                    "prompt_tokens": usage[0],
                    "completion_tokens": usage[1],
                    "total_tokens": usage[0] + usage[1],
                    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                    "completion_tokens_details": {
                        "reasoning_tokens": 0,
                        "audio_tokens": 0,
                        "accepted_prediction_tokens": 0,
                        "rejected_prediction_tokens": 0,
                    },
                },
                "service_tier": "default",
                "system_fingerprint": "fp_chatenv",
            },
        )

    def _responses(self, body: Any) -> None:
        if body is _UNPARSABLE or not isinstance(body, dict):
            return self._error(400, _BAD_JSON, "invalid_request_error", None)
        model, prompt = body.get("model"), body.get("input")
        if not isinstance(model, str):
            return self._error(400, _missing("model"), "invalid_request_error", None, "model")
        if model not in MODELS:
            return self._model_error(model)
        limit = body.get("max_output_tokens")
        reply, finish = _reply(limit, prompt)
        tokens_in, tokens_out = _usage(json.dumps(prompt), reply)
        now = int(time.time())
        complete = finish == "stop"
        self._json(
            200,
            {
                "id": "resp_" + secrets.token_hex(24),
                "object": "response",
                "created_at": now,
                "completed_at": now if complete else None,
                "status": "completed" if complete else "incomplete",
                "error": None,
                "incomplete_details": None if complete else {"reason": "max_output_tokens"},
                "instructions": None,
                "max_output_tokens": limit if isinstance(limit, int) else None,
                "model": _snapshot_name(model),
                "output": [
                    {
                        "type": "message",
                        "id": "msg_" + secrets.token_hex(24),
                        "status": "completed" if complete else "incomplete",
                        "role": "assistant",
                        "content": [
                            {
                                "type": "output_text",
                                "text": reply,
                                "annotations": [],
                                "logprobs": [],
                            }
                        ],
                    }
                ],
                "parallel_tool_calls": True,
                "previous_response_id": None,
                "reasoning": {"effort": None, "summary": None},
                "store": True,
                "temperature": 1.0,
                "text": {"format": {"type": "text"}, "verbosity": "medium"},
                "tool_choice": "auto",
                "tools": [],
                "top_p": 1.0,
                "truncation": "disabled",
                "usage": {
                    "input_tokens": tokens_in,
                    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                    "output_tokens": tokens_out,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": tokens_in + tokens_out,
                },
                "metadata": {},
            },
        )

    # -- scenarios --------------------------------------------------------------------------

    def _scenario(self, scenario: Scenario, key: str, state: _State, release: Any) -> bool:
        """Answer per a non-OK scenario; False when the request should be served normally."""
        if scenario is Scenario.UNAUTHORIZED:
            self._error(401, _incorrect_key(key), "invalid_request_error", "invalid_api_key")
        elif scenario is Scenario.UNAUTHORIZED_ECHO:
            message = f"Incorrect API key provided: {key}."
            self._error(401, message, "invalid_request_error", "invalid_api_key")
        elif scenario is Scenario.WRONG_ORGANIZATION:
            self._error(401, _MISMATCHED_ORG, "invalid_request_error", _MISMATCH_CODE)
        elif scenario is Scenario.FORBIDDEN:
            self._error(403, _MISSING_SCOPES, "invalid_request_error", None)
        elif scenario is Scenario.REGION:
            self._error(403, _REGION, "request_forbidden", "unsupported_country_region_territory")
        elif scenario is Scenario.MODEL_NOT_FOUND:
            model = ""
            if self.path.startswith("/v1/models/"):
                model = self.path[len("/v1/models/") :]
            self._model_error(model or "gpt-4o-mini")
        elif scenario is Scenario.VLLM_MODEL_NOT_FOUND:
            message = f"The model `{_asked_model(self.body)}` does not exist."
            self._json(
                404,
                {
                    "error": {
                        "message": message,
                        "type": "NotFoundError",
                        "param": None,
                        "code": 404,
                    }
                },
            )
        elif scenario is Scenario.OLLAMA_MODEL_NOT_FOUND:
            message = f'model "{_asked_model(self.body)}" not found, try pulling it first'
            self._error(404, message, "not_found_error", None)
        elif scenario is Scenario.QUOTA:
            self._error(429, _QUOTA, "insufficient_quota", "insufficient_quota")
        elif scenario is Scenario.RATE_LIMIT:
            self._error(
                429,
                _RATE_LIMIT,
                "requests",
                "rate_limit_exceeded",
                headers={
                    "x-ratelimit-limit-requests": "3",
                    "x-ratelimit-remaining-requests": "0",
                    "x-ratelimit-reset-requests": "20s",
                    "x-ratelimit-limit-tokens": "40000",
                    "x-ratelimit-remaining-tokens": "39990",
                    "x-ratelimit-reset-tokens": "15ms",
                    "retry-after": "20",
                },
            )
        elif scenario is Scenario.SERVER_ERROR:
            self._error(500, _SERVER_ERROR, "server_error", None)
        elif scenario is Scenario.UNAVAILABLE:
            self._error(503, _OVERLOADED, "server_error", None)
        elif scenario is Scenario.SLOW:
            release.wait(state.slow_s)
            return False
        elif scenario is Scenario.MALFORMED:
            self._send(200, b'{"object": "list", "data": [{"id": "gpt-4o-m', "application/json")
        elif scenario is Scenario.HTML:
            page = b"<!DOCTYPE html><html><body><h1>Sign in to continue</h1></body></html>"
            self._send(200, page, "text/html; charset=utf-8")
        elif scenario is Scenario.WRONG_SHAPE:
            self._json(200, {"models": ["gpt-4o-mini"], "choices": "none"})
        elif scenario is Scenario.CLOSED:
            self._close_mid_response()
        elif scenario in _OTHER_SERVERS:
            self._other_server(scenario)
        return True

    def _other_server(self, scenario: Scenario) -> None:
        answer = _OTHER_SERVERS[scenario]
        headers = {name: value() if callable(value) else value for name, value in answer.headers}
        self.server_header = answer.server
        body = answer.body.replace("{model}", _asked_model(self.body) or "gpt-4o-mini")
        body = body.replace("{path}", self.path.split("?", 1)[0])
        self._send(answer.status, body.encode(), answer.content_type, headers)

    def _close_mid_response(self) -> None:
        body = json.dumps({"object": "list", "data": [_model(m) for m in MODELS]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.send_header("x-request-id", _request_id())
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- writing answers --------------------------------------------------------------------

    def _model_error(self, model: str, param: str | None = None) -> None:
        if model in RETIRED:
            message = (
                f"The model `{model}` has been deprecated, learn more here: "
                "https://platform.openai.com/docs/deprecations"
            )
        elif param == "model":
            message = f"The model '{model}' does not exist"
        else:
            message = f"The model `{model}` does not exist or you do not have access to it."
        self._error(404, message, "invalid_request_error", "model_not_found", param)

    def _error(
        self,
        status: int,
        message: str,
        type_: str,
        code: str | None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
        self._json(status, body, headers)

    def _json(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        if self.as_openai:
            self.send_header("x-request-id", _request_id())
            self.send_header("openai-processing-ms", "12")
            self.send_header("openai-version", "2020-10-01")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@dataclass(frozen=True)
class _Answer:
    """One answer of another server, as recorded: `{model}` and `{path}` are filled in from
    the request; a header value that is a function is called for each answer (a fresh id)."""

    status: int
    body: str
    headers: tuple[tuple[str, Any], ...] = ()
    content_type: str = "application/json"
    #: the Server header it sends (None: http.server's own)
    server: str | None = None


def _uuid() -> str:
    return str(uuid.uuid4())


def _apim_id() -> str:
    return str(uuid.uuid4())


#: LiteLLM proxy 1.108.7 from PyPI, run here (`litellm --config` with models that have
#: mock_response / mock_timeout, a master key, no database) and asked with curl; bodies verbatim
_LITELLM_CALL = (("x-litellm-call-id", _uuid), ("x-litellm-response-cost", "0"))
_LITELLM_BUDGET = (
    '{"error":{"message":"Budget has been exceeded! Current cost: 1.0, Max budget: 1e-06\\n\\n'
    "LiteLLM: model group 'mock-gpt' failed with the error above. No fallback was attempted.\","
)
_OTHER_SERVERS: dict[Scenario, _Answer] = {
    # LiteLLM: any key but the master key, on a proxy without DATABASE_URL (no x-litellm headers)
    Scenario.LITELLM_NO_DB: _Answer(
        400,
        '{"error":{"message":"No connected db.","type":"no_db_connection","param":null,'
        '"code":"400"}}',
    ),
    # LiteLLM: POST /v1/chat/completions with a model that is not a model_name of its config
    Scenario.LITELLM_UNKNOWN_MODEL: _Answer(
        400,
        '{"error":{"message":"/chat/completions: Invalid model name passed in model={model}. '
        'Call `/v1/models` to view available models for your key.","type":"invalid_request_error",'
        '"param":null,"code":"400","provider_specific_fields":{"error":"/chat/completions: Invalid '
        "model name passed in model={model}. Call `/v1/models` to view available models for your "
        'key."}}}',
        (*_LITELLM_CALL, ("x-litellm-key-spend", "0.0")),
    ),
    # LiteLLM: litellm_settings.max_budget spent (the answer of every model then)
    Scenario.LITELLM_BUDGET: _Answer(
        422,
        _LITELLM_BUDGET + '"type":"invalid_request_error","param":null,"code":"422"}}',
        (*_LITELLM_CALL, ("x-litellm-key-spend", "0.0"), ("x-litellm-timeout", "6000.0")),
    ),
    # LiteLLM: the same with litellm_settings.budget_exceeded_status_code: 429
    Scenario.LITELLM_BUDGET_429: _Answer(
        429,
        _LITELLM_BUDGET + '"type":"rate_limit_error","param":null,"code":"429"}}',
        (*_LITELLM_CALL, ("x-litellm-key-spend", "0.0"), ("x-litellm-timeout", "6000.0")),
    ),
    # LiteLLM: a model whose litellm_params.max_budget (budget_duration 1d) is spent
    Scenario.LITELLM_MODEL_BUDGET: _Answer(
        429,
        '{"error":{"message":"No deployments available - crossed budget: Exceeded budget for '
        "deployment model_name: {model}, litellm_params.model: openai/gpt-4o-mini, model_id: "
        '510d5167870e7c0da34d3fb1032c741ceae9f64c7cfcbdb883c4270141620296: 1.35e-05 >= 1d\\n",'
        '"type":"internal_server_error","param":null,"code":"429"}}',
        _LITELLM_CALL,
    ),
    # LiteLLM: a model with mock_timeout: true and timeout: 1
    Scenario.LITELLM_TIMEOUT: _Answer(
        408,
        '{"error":{"message":"litellm.Timeout: This is a mock timeout error\\n\\nDeployment '
        "Info: request_timeout: None\\ntimeout: 1.0\\n\\nLiteLLM: model group '{model}' failed "
        'with the error above. No fallback was attempted.","type":"invalid_request_error",'
        '"param":null,"code":"408"}}',
        (*_LITELLM_CALL, ("x-litellm-key-spend", "0.0"), ("x-litellm-timeout", "1.0")),
    ),
    # Azure OpenAI: the body users quote in chatboxai/chatbox#861 and
    # Azure-Samples/azure-search-openai-demo-csharp#379; Azure's API gateway adds apim-request-id
    Scenario.AZURE_DEPLOYMENT_NOT_FOUND: _Answer(
        404,
        '{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource '
        "does not exist. If you created the deployment within the last 5 minutes, please wait a "
        'moment and try again."}}',
        (("apim-request-id", _apim_id),),
    ),
    # Azure OpenAI: a key of another resource (the message Azure's gateway sends, as quoted in
    # Azure's own repositories and many bug reports)
    Scenario.AZURE_UNAUTHORIZED: _Answer(
        401,
        '{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong '
        "API endpoint. Make sure to provide a valid key for an active subscription and use a "
        'correct regional API endpoint for your resource."}}',
        (("apim-request-id", _apim_id),),
    ),
    # FastAPI's default 404 (vLLM, the LiteLLM proxy, most Python servers): recorded from the
    # LiteLLM proxy above for a path it does not serve
    Scenario.FASTAPI_NOT_FOUND: _Answer(404, '{"detail":"Not Found"}'),
    # Prism (stoplightio/prism) serving OpenAI's spec: NO_PATH_MATCHED_ERROR, as Prism's
    # ProblemJsonError renders it (the body quoted in elastic/cloud-sdk-go's tests)
    Scenario.PRISM_NOT_FOUND: _Answer(
        404,
        '{"type":"https://stoplight.io/prism/errors#NO_PATH_MATCHED_ERROR","title":"Route not '
        'resolved, no path matched","status":404,"detail":"The route {path} hasn\'t been found in '
        'the specification file"}',
        content_type="application/problem+json",
    ),
    # Prism: a request its spec does not allow (UNPROCESSABLE_ENTITY with the validation list)
    Scenario.PRISM_UNPROCESSABLE: _Answer(
        422,
        '{"type":"https://stoplight.io/prism/errors#UNPROCESSABLE_ENTITY","title":"Invalid '
        'request","status":422,"detail":"Your request is not valid and no HTTP validation '
        'response was found in the spec, so Prism is generating this error for you.",'
        '"validation":[{"location":["body","max_tokens"],"severity":"Error","code":"minimum",'
        '"message":"Request body property max_tokens must be >= 1"}]}',
        content_type="application/problem+json",
    ),
    # vLLM: its AuthenticationMiddleware (vllm/entrypoints/openai/server_utils.py) on /v1 paths
    Scenario.VLLM_UNAUTHORIZED: _Answer(401, '{"error":"Unauthorized"}'),
    # llama.cpp's server: middleware_validate_api_key's format_error_response("Invalid API
    # Key", ERROR_TYPE_AUTHENTICATION), and the Server header its set_default_headers sets
    Scenario.LLAMA_CPP_UNAUTHORIZED: _Answer(
        401,
        '{"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}}',
        server="llama.cpp",
    ),
}


#: scenarios that answer as another server than OpenAI (without OpenAI's headers)
_NOT_OPENAI = frozenset(
    {Scenario.VLLM_MODEL_NOT_FOUND, Scenario.OLLAMA_MODEL_NOT_FOUND, *_OTHER_SERVERS}
)


def _from_chatenv(headers: Mapping[str, str]) -> bool:
    """A request chatenv made: the openai client's (`OpenAI/Python x.y`) or doctor's own."""
    return headers.get("user-agent", "").startswith(("OpenAI/", "chatenv"))


#: what OpenAI's spec says each request chatenv makes must be
_REQUEST_SCHEMAS = {
    ("POST", "/v1/chat/completions"): "CreateChatCompletionRequest",
    ("POST", "/v1/responses"): "CreateResponse",
}


def _breaks_spec(request: Recorded) -> list[str]:
    from tests.openai_schemas import errors

    found = []
    if not (request.headers.get("authorization") or "").startswith("Bearer "):
        found.append("no bearer key (the spec's ApiKeyAuth)")
    schema = _REQUEST_SCHEMAS.get((request.method, request.path))
    if schema is not None:
        found += errors(request.body, schema)
    elif request.method == "GET" and request.body is not None:
        found.append("a GET with a body")
    return found


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (connecting to it is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: what in os.environ would change where (or with what) an in-process client connects
CLIENT_ENVIRONMENT = (
    *(f"{p}_PROXY" for p in ("HTTP", "HTTPS", "ALL", "NO")),
    *(f"{p}_proxy" for p in ("http", "https", "all", "no")),
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
)


def config_for(
    server: OpenAIServer,
    *,
    key: str | None = TEST_KEY,
    base_url: str | None = None,
    organization: str | None = None,
    project: str | None = None,
    env_file: Path = Path(".env"),
) -> OpenAIConfig:
    """An OpenAIConfig that points the real client at `server` (for in-process tests)."""
    return OpenAIConfig(
        env_file=env_file,
        key=Secret(key) if key is not None else None,
        key_source=ENVIRONMENT if key is not None else None,
        base_url=Setting(base_url or server.base_url, ENVIRONMENT),
        organization=Setting(organization, ENVIRONMENT) if organization else None,
        project=Setting(project, ENVIRONMENT) if project else None,
    )


_UNPARSABLE = object()


def _request_id() -> str:
    return "req_" + secrets.token_hex(16)


def _asked_model(body: Any) -> str:
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else ""


def _model(model_id: str) -> dict[str, Any]:
    owner = "openai" if model_id.startswith("gpt-4o") else "system"
    return {"id": model_id, "object": "model", "created": CREATED, "owned_by": owner}


def _snapshot_name(model: str) -> str:
    return f"{model}-2024-07-18" if model == "gpt-4o-mini" else model


def _reply(limit: object, prompt: object = "") -> tuple[str, str]:
    """The reply, cut to `limit` words (the server's "tokens"), and its finish reason. A prompt
    asking for a reply "at length" gets the reply three times (longer than the Responses API's
    smallest limit, 16)."""
    words = REPLY.split() * (3 if "at length" in str(prompt) else 1)
    if isinstance(limit, int) and 0 < limit < len(words):
        return " ".join(words[:limit]), "length"
    return " ".join(words), "stop"


def _usage(prompt: str, reply: str) -> tuple[int, int]:
    return max(1, len(prompt.split())), len(reply.split())


def _incorrect_key(key: str) -> str:
    """The real API's message: the key with all but its first and last characters starred."""
    shown = key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else "*" * len(key)
    return (
        f"Incorrect API key provided: {shown}. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    )


def _missing(name: str) -> str:
    return f"Missing required parameter: '{name}'."


_MISSING_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (i.e. "
    "user:YOUR_KEY) of your HTTP Basic Auth, if you're accessing the API from your browser and "
    "are prompted for a username and password. You can obtain an API key from "
    "https://platform.openai.com/account/api-keys."
)
_BAD_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
    "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was "
    "not valid JSON. If you have trouble figuring out how to fix this, please contact us through "
    "our help center at help.openai.com.)"
)
_NOT_CHAT = (
    "This is not a chat model and thus not supported in the v1/chat/completions endpoint. "
    "Did you mean to use v1/completions?"
)
_MISMATCHED_ORG = "OpenAI-Organization header should match organization for API key"
_MISMATCH_CODE = "mismatched_organization"
_MISSING_SCOPES = (
    "You have insufficient permissions for this operation. Missing scopes: api.model.read. "
    "Check that you have the correct role in your organization (Reader, Writer, Owner) and "
    "project (Member, Owner), and if you're using a restricted API key, that it has the "
    "necessary scopes."
)
_REGION = "Country, region, or territory not supported"
_QUOTA = (
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: "
    "https://platform.openai.com/docs/guides/error-codes/api-errors."
)
_RATE_LIMIT = (
    "Rate limit reached for gpt-4o-mini in organization org-chatenvtest on requests per min "
    "(RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit "
    "https://platform.openai.com/account/rate-limits to learn more."
)
_SERVER_ERROR = (
    "The server had an error while processing your request. Sorry about that! You can retry "
    "your request, or contact us through our help center at help.openai.com if the error "
    "persists."
)
_OVERLOADED = "The engine is currently overloaded, please try again later"
