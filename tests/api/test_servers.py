"""Which server a base URL talks to: from the host, the headers and the body each real server
sends (the shapes are those of tests/openai_server.py, recorded from the real servers)."""

from __future__ import annotations

import json

import pytest

from chatenv.api.servers import ServerKind, azure_deployment_url, identify, request_id
from tests.openai_server import _OTHER_SERVERS, Scenario


@pytest.mark.parametrize(
    ("url", "kind", "name"),
    [
        ("https://api.openai.com/v1", ServerKind.OPENAI, "OpenAI"),
        ("https://my-res.openai.azure.com/openai/v1/", ServerKind.AZURE, "Azure OpenAI"),
        ("https://my-res.cognitiveservices.azure.com/openai/v1/", ServerKind.AZURE, "Azure OpenAI"),
        ("https://openrouter.ai/api/v1", ServerKind.HOSTED, "OpenRouter"),
        ("https://api.groq.com/openai/v1", ServerKind.HOSTED, "Groq"),
        ("https://api.together.xyz/v1", ServerKind.HOSTED, "Together AI"),
        ("http://localhost:11434/v1", ServerKind.OLLAMA, "Ollama"),
        ("http://127.0.0.1:1234/v1", ServerKind.LM_STUDIO, "LM Studio"),
        ("http://127.0.0.1:8000/v1", ServerKind.OTHER, "the server at 127.0.0.1:8000"),
        ("https://llm.example.com/v1", ServerKind.OTHER, "the server at llm.example.com"),
    ],
)
def test_the_host_alone_names_the_servers_it_can(url: str, kind: ServerKind, name: str) -> None:
    server = identify(url)
    assert (server.kind, server.name) == (kind, name)


def test_a_password_in_the_url_is_not_part_of_the_name() -> None:
    assert identify("http://user:s3cret@llm.example.com:8443/v1").name == (
        "the server at llm.example.com:8443"
    )


def _recorded(scenario: Scenario) -> tuple[dict[str, str], object]:
    answer = _OTHER_SERVERS[scenario]
    headers = {k: "x" for k, _ in answer.headers}
    if answer.server:
        headers["server"] = answer.server
    return headers, json.loads(answer.body.replace("{model}", "m").replace("{path}", "/p"))


@pytest.mark.parametrize(
    ("scenario", "kind"),
    [
        (Scenario.LITELLM_NO_DB, ServerKind.LITELLM),  # by its error type: no headers at all
        (Scenario.LITELLM_UNKNOWN_MODEL, ServerKind.LITELLM),  # x-litellm-call-id
        (Scenario.LITELLM_BUDGET, ServerKind.LITELLM),
        (Scenario.LITELLM_TIMEOUT, ServerKind.LITELLM),
        (Scenario.AZURE_DEPLOYMENT_NOT_FOUND, ServerKind.AZURE),  # apim-request-id
        (Scenario.LLAMA_CPP_UNAUTHORIZED, ServerKind.LLAMA_CPP),  # Server: llama.cpp
        # what these send says nothing of who they are: chatenv claims nothing
        (Scenario.VLLM_UNAUTHORIZED, ServerKind.OTHER),
        (Scenario.FASTAPI_NOT_FOUND, ServerKind.OTHER),
        (Scenario.PRISM_NOT_FOUND, ServerKind.OTHER),
    ],
)
def test_a_local_address_is_told_apart_by_what_the_server_answers(
    scenario: Scenario, kind: ServerKind
) -> None:
    headers, body = _recorded(scenario)
    assert identify("http://127.0.0.1:4000/v1", headers, body).kind is kind


@pytest.mark.parametrize(
    ("owner", "kind"),
    [
        ("vllm", ServerKind.VLLM),
        ("library", ServerKind.OLLAMA),
        ("llamacpp", ServerKind.LLAMA_CPP),
        ("organization_owner", ServerKind.LM_STUDIO),
        ("openai", ServerKind.OTHER),
    ],
)
def test_the_model_list_says_who_owns_the_models(owner: str, kind: ServerKind) -> None:
    body = {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": owner}]}
    assert identify("http://10.0.0.5:8000/v1", {}, body).kind is kind


def test_openai_headers_from_another_host_are_openai_and_the_host_wins_over_them() -> None:
    headers = {"openai-version": "2020-10-01", "openai-processing-ms": "12"}
    assert identify("http://127.0.0.1:9/v1", headers).kind is ServerKind.OPENAI
    assert identify("https://openrouter.ai/api/v1", headers).kind is ServerKind.HOSTED


def test_vllm_errors_are_known_by_their_exception_names() -> None:
    body = {"error": {"message": "x", "type": "BadRequestError", "param": None, "code": 400}}
    assert identify("http://127.0.0.1:8000/v1", {}, body).kind is ServerKind.VLLM
    legacy = {"object": "error", "message": "x", "type": "NotFoundError", "code": 404}
    assert identify("http://127.0.0.1:8000/v1", {}, legacy).kind is ServerKind.VLLM


def test_the_request_id_is_whichever_the_server_sends() -> None:
    assert request_id({"x-request-id": "req_1", "apim-request-id": "a"}) == "req_1"
    assert request_id({"apim-request-id": "a-1"}) == "a-1"
    assert request_id({"x-litellm-call-id": "c-1"}) == "c-1"
    assert request_id({}) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://my-res.openai.azure.com/openai/deployments/gpt-4o-mini?api-version=2024-10-21",
        "https://my-res.openai.azure.com/openai/deployments/gpt-4o-mini/",
        "https://my-res.openai.azure.com/openai/deployments/gpt-4o-mini/chat/completions"
        "?api-version=2024-10-21",
    ],
)
def test_azure_per_deployment_urls_are_recognised_with_what_to_set_instead(url: str) -> None:
    found = azure_deployment_url(url)
    assert found is not None
    assert (found.v1_url, found.deployment) == (
        "https://my-res.openai.azure.com/openai/v1/",
        "gpt-4o-mini",
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://my-res.openai.azure.com/openai/v1/",
        "https://example.com/openai/deployments/x",  # not Azure's host
        "https://api.openai.com/v1",
    ],
)
def test_other_urls_are_not_azure_deployment_urls(url: str) -> None:
    assert azure_deployment_url(url) is None


def test_a_password_in_an_azure_url_stays_out_of_the_v1_url() -> None:
    found = azure_deployment_url("https://u:s3cret@my-res.openai.azure.com/openai/deployments/d")
    assert found is not None and "s3cret" not in found.v1_url
