"""The test server answers like the real API: every body it sends validates against the schema
OpenAI publishes for it, and the committed schema extract is what the spec says."""

from __future__ import annotations

import http.client
import json
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.openai_schemas import SCHEMAS, errors
from tests.openai_server import MODELS, RETIRED, TEST_KEY, Scenario

if TYPE_CHECKING:
    from tests.openai_server import OpenAIServer

SPEC = Path(__file__).resolve().parents[3] / "shared" / "openai-openapi.yaml"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}
RESPONSES = {"model": "gpt-4o-mini", "input": "Say hello"}
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", "/v1/models", None, "ListModelsResponse"),
    ("GET", "/v1/models/gpt-4o-mini", None, "Model"),
    ("POST", "/v1/chat/completions", CHAT, "CreateChatCompletionResponse"),
    ("POST", "/v1/responses", RESPONSES, "Response"),
]
ERROR_SCENARIOS = {
    Scenario.UNAUTHORIZED: 401,
    Scenario.UNAUTHORIZED_ECHO: 401,
    Scenario.WRONG_ORGANIZATION: 401,
    Scenario.FORBIDDEN: 403,
    Scenario.REGION: 403,
    Scenario.MODEL_NOT_FOUND: 404,
    Scenario.QUOTA: 429,
    Scenario.RATE_LIMIT: 429,
    Scenario.SERVER_ERROR: 500,
    Scenario.UNAVAILABLE: 503,
}


def call(
    server: OpenAIServer,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    key: str | None = TEST_KEY,
    timeout: float = 5,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


@pytest.mark.parametrize(("method", "path", "body", "schema"), ENDPOINTS)
def test_every_success_answer_matches_its_schema(
    openai_server: OpenAIServer, method: str, path: str, body: Any, schema: str
) -> None:
    status, headers, data = call(openai_server, method, path, body)
    assert status == 200
    assert errors(json.loads(data), schema) == []
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize("limit", [1, 3, 1000])
def test_truncated_answers_match_their_schemas_too(openai_server: OpenAIServer, limit: int) -> None:
    chat = call(openai_server, "POST", "/v1/chat/completions", {**CHAT, "max_tokens": limit})
    responses = call(
        openai_server, "POST", "/v1/responses", {**RESPONSES, "max_output_tokens": limit}
    )
    assert errors(json.loads(chat[2]), "CreateChatCompletionResponse") == []
    assert errors(json.loads(responses[2]), "Response") == []


@pytest.mark.parametrize(("method", "path", "body", "schema"), ENDPOINTS)
@pytest.mark.parametrize(("scenario", "status"), ERROR_SCENARIOS.items())
def test_every_error_answer_is_an_error_response_with_a_request_id(
    openai_server: OpenAIServer,
    scenario: Scenario,
    status: int,
    method: str,
    path: str,
    body: Any,
    schema: str,
) -> None:
    openai_server.set(scenario)
    got, headers, data = call(openai_server, method, path, body)
    assert got == status
    assert errors(json.loads(data), "ErrorResponse") == []
    assert headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize("key", [None, "sk-proj-" + "N" * 40 + "nope"])
def test_missing_or_wrong_key_is_a_401_like_the_real_api(
    openai_server: OpenAIServer, key: str | None
) -> None:
    status, _, data = call(openai_server, "GET", "/v1/models", key=key)
    body = json.loads(data)
    assert status == 401 and errors(body, "ErrorResponse") == []
    if key is None:
        assert body["error"]["code"] is None
        assert body["error"]["message"].startswith("You didn't provide an API key")
    else:
        assert body["error"]["code"] == "invalid_api_key"
        assert key not in body["error"]["message"]  # the real API stars out the middle
        assert key[-4:] in body["error"]["message"]


def test_the_rate_limit_answer_carries_the_real_headers(openai_server: OpenAIServer) -> None:
    openai_server.set(Scenario.RATE_LIMIT)
    _, headers, _ = call(openai_server, "GET", "/v1/models")
    for name in (
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
        "x-ratelimit-reset-tokens",
        "retry-after",
    ):
        assert headers[name]


def test_unknown_and_retired_models_are_404_model_not_found(openai_server: OpenAIServer) -> None:
    for model in ("gpt-9-imaginary", RETIRED[0]):
        status, _, data = call(
            openai_server, "POST", "/v1/chat/completions", {**CHAT, "model": model}
        )
        body = json.loads(data)
        assert status == 404 and errors(body, "ErrorResponse") == []
        assert body["error"]["code"] == "model_not_found"
    assert "deprecated" in body["error"]["message"]
    status, _, data = call(openai_server, "GET", "/v1/models/gpt-9-imaginary")
    assert status == 404 and json.loads(data)["error"]["param"] == "model"


def test_bad_requests_are_400_error_responses(openai_server: OpenAIServer) -> None:
    status, _, data = call(openai_server, "POST", "/v1/chat/completions", {"model": "gpt-4o-mini"})
    assert status == 400 and errors(json.loads(data), "ErrorResponse") == []
    status, _, data = call(openai_server, "GET", "/v1/nothing-here")
    assert (
        status == 404
        and json.loads(data)["error"]["message"] == "Invalid URL (GET /v1/nothing-here)"
    )


def test_a_scenario_can_be_limited_to_some_paths(openai_server: OpenAIServer) -> None:
    openai_server.set(Scenario.QUOTA, paths=["/v1/chat/completions"])
    assert call(openai_server, "GET", "/v1/models")[0] == 200
    assert call(openai_server, "POST", "/v1/chat/completions", CHAT)[0] == 429


def test_malformed_and_html_answers_are_200_with_unparsable_bodies(
    openai_server: OpenAIServer,
) -> None:
    openai_server.set(Scenario.MALFORMED)
    status, headers, data = call(openai_server, "GET", "/v1/models")
    assert status == 200 and headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(data)
    openai_server.set(Scenario.HTML)
    status, headers, data = call(openai_server, "GET", "/v1/models")
    assert status == 200 and headers["content-type"].startswith("text/html")


def test_closed_scenario_cuts_the_body_short(openai_server: OpenAIServer) -> None:
    openai_server.set(Scenario.CLOSED)
    with pytest.raises(http.client.IncompleteRead):
        call(openai_server, "GET", "/v1/models")


def test_slow_scenario_answers_only_after_the_delay(openai_server: OpenAIServer) -> None:
    openai_server.set(Scenario.SLOW, slow_s=0.4)
    started = time.monotonic()
    status, _, _ = call(openai_server, "GET", "/v1/models")
    assert status == 200 and time.monotonic() - started >= 0.4
    openai_server.set(Scenario.SLOW, slow_s=30)
    with pytest.raises(socket.timeout):
        call(openai_server, "GET", "/v1/models", timeout=0.2)


def test_the_server_records_what_it_received(openai_server: OpenAIServer) -> None:
    call(openai_server, "POST", "/v1/chat/completions", CHAT)
    [request] = openai_server.requests
    assert (request.method, request.path, request.key) == ("POST", "/v1/chat/completions", TEST_KEY)
    assert request.body == CHAT
    assert [
        m["id"] for m in json.loads(call(openai_server, "GET", "/v1/models")[2])["data"]
    ] == list(MODELS)


def test_the_schema_validation_does_reject_a_wrong_body() -> None:
    assert errors({"object": "list"}, "ListModelsResponse")
    assert errors({"error": {"message": "x"}}, "ErrorResponse")
    assert errors({"id": "x", "object": "chat.completion"}, "CreateChatCompletionResponse")


def test_committed_schemas_equal_a_fresh_extraction_from_the_spec() -> None:
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is not here to extract from (it sits beside the repository in CI)")
    import hashlib
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "scripts" / "extract_openai_schemas.py"
    spec = importlib.util.spec_from_file_location("extract_openai_schemas", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.extract(module.load_spec(SPEC))
    fresh["source_sha256"] = hashlib.sha256(SPEC.read_bytes()).hexdigest()
    assert module.render(fresh) == SCHEMAS.read_text(encoding="utf-8"), (
        "tests/data/openai-schemas.json is stale: run python scripts/extract_openai_schemas.py"
    )
