"""The API calls through the real openai client, over real HTTP to the test server."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from chatenv.api.calls import (
    CHAT_API,
    RESPONSES_API,
    MalformedResponseError,
    chat_completion,
    list_models,
    responses_completion,
    retrieve_model,
)
from chatenv.system.openai_client import make_client
from tests.openai_server import MODELS, REPLY, Scenario

if TYPE_CHECKING:
    from tests.api.conftest import MakeConfig
    from tests.openai_server import OpenAIServer

REQUEST_ID = re.compile(r"^req_[0-9a-f]{32}$")


def test_list_models_returns_the_ids_latency_and_request_id(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    result = list_models(make_client(make_config()))
    assert result.model_ids == tuple(sorted(MODELS))
    assert result.latency_s > 0
    assert result.request_id is not None and REQUEST_ID.match(result.request_id)
    [request] = openai_server.requests
    assert (request.method, request.path) == ("GET", "/v1/models")


def test_retrieve_model_returns_the_model_object(make_config: MakeConfig) -> None:
    info = retrieve_model(make_client(make_config()), "gpt-4o-mini")
    assert (info.id, info.owned_by, info.created) == ("gpt-4o-mini", "openai", 1_715_367_049)
    assert info.request_id is not None and REQUEST_ID.match(info.request_id)


def test_chat_completion_returns_reply_usage_and_the_snapshot_that_answered(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    result = chat_completion(make_client(make_config()), "gpt-4o-mini", "Say hello", 64)
    assert result.api == CHAT_API
    assert result.reply == REPLY
    assert result.finish_reason == "stop"
    assert result.model == "gpt-4o-mini-2024-07-18"
    assert result.usage is not None and result.usage.completion_tokens == len(REPLY.split())
    assert result.usage.total_tokens == result.usage.prompt_tokens + len(REPLY.split())  # type: ignore[operator]
    assert result.response_id and result.response_id.startswith("chatcmpl-")
    [request] = openai_server.requests
    assert request.body["messages"] == [{"role": "user", "content": "Say hello"}]


def test_chat_completion_to_a_compatible_server_sends_max_tokens(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    result = chat_completion(make_client(make_config()), "gpt-4o-mini", "Say hello", 3)
    assert result.finish_reason == "length"
    assert result.reply == " ".join(REPLY.split()[:3])
    [request] = openai_server.requests
    assert request.body["max_tokens"] == 3 and "max_completion_tokens" not in request.body


def test_openai_itself_gets_max_completion_tokens(make_config: MakeConfig) -> None:
    from chatenv.api.calls import _is_openai

    assert _is_openai(make_client(make_config(base_url="https://api.openai.com/v1")))
    assert not _is_openai(make_client(make_config()))


def test_responses_completion_maps_status_to_finish_reason(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    client = make_client(make_config())
    full = responses_completion(client, "gpt-4o-mini", "Say hello", 64)
    assert (full.api, full.reply, full.finish_reason) == (RESPONSES_API, REPLY, "stop")
    assert full.usage is not None and full.usage.completion_tokens == len(REPLY.split())
    # 16: the smallest max_output_tokens OpenAI's spec allows (the server checks every request)
    cut = responses_completion(client, "gpt-4o-mini", "Say hello at length", 16)
    assert cut.finish_reason == "length"
    assert cut.reply == " ".join((REPLY.split() * 3)[:16])
    assert cut.request_id is not None and REQUEST_ID.match(cut.request_id)
    assert openai_server.requests[-1].body["max_output_tokens"] == 16


def test_organization_and_project_are_sent_only_from_the_config(
    openai_server: OpenAIServer, make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-fromTheProcessEnvironment")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_fromTheProcessEnvironment")
    list_models(make_client(make_config()))
    list_models(make_client(make_config(organization="org-abc", project="proj_xyz")))
    plain, explicit = openai_server.requests
    assert "openai-organization" not in plain.headers and "openai-project" not in plain.headers
    assert explicit.headers["openai-organization"] == "org-abc"
    assert explicit.headers["openai-project"] == "proj_xyz"


def test_a_failed_call_is_not_retried(openai_server: OpenAIServer, make_config: MakeConfig) -> None:
    import openai

    openai_server.set(Scenario.UNAVAILABLE)
    with pytest.raises(openai.InternalServerError):
        list_models(make_client(make_config()))
    assert len(openai_server.requests) == 1


@pytest.mark.parametrize(
    ("scenario", "problem"),
    [
        (Scenario.MALFORMED, "not JSON"),
        (Scenario.HTML, "HTML"),
        (Scenario.WRONG_SHAPE, "no `data` array"),
    ],
)
def test_a_2xx_answer_that_is_not_the_api_is_a_malformed_response(
    openai_server: OpenAIServer, make_config: MakeConfig, scenario: Scenario, problem: str
) -> None:
    openai_server.set(scenario)
    with pytest.raises(MalformedResponseError) as caught:
        list_models(make_client(make_config()))
    assert problem in caught.value.problem
    assert caught.value.status_code == 200
    assert caught.value.request_id is not None


@pytest.mark.parametrize("call", ["chat", "responses"])
def test_completions_of_the_wrong_shape_are_malformed(
    openai_server: OpenAIServer, make_config: MakeConfig, call: str
) -> None:
    openai_server.set(Scenario.WRONG_SHAPE)
    client = make_client(make_config())
    run = chat_completion if call == "chat" else responses_completion
    with pytest.raises(MalformedResponseError):
        run(client, "gpt-4o-mini", "hi", 16)
