"""`chatenv smoke-test`'s API stage through the real entry point: the real openai client in a
subprocess, over real HTTP to the OpenAI-compatible test server on 127.0.0.1."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from chatenv.smoke.api_stage import DEFAULT_API_MODEL, OUTPUT_LIMIT, choose_model, output_limit
from chatenv.smoke.legacy_api import replacement
from tests.conftest import clean_env
from tests.openai_server import (
    CLIENT_ENVIRONMENT,
    MODELS,
    REPLY,
    TEST_KEY,
    Scenario,
    closed_port,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import RunCli
    from tests.openai_server import (
        OpenAIServer,
    )

API_ONLY = ("smoke-test", "--no-local")


def _env(server: OpenAIServer, **overrides: str | None) -> dict[str, str]:
    """The environment of a user whose key and base URL point at the test server (and no
    proxy of this machine in the way)."""
    settings: dict[str, str | None] = dict.fromkeys(CLIENT_ENVIRONMENT)
    settings.update({"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": server.base_url})
    settings.update(overrides)
    return clean_env(**settings)


def _result(stdout: str, id: str) -> dict[str, Any]:
    document = json.loads(stdout)
    found: dict[str, Any] = next(r for r in document["results"] if r["id"] == id)
    return found


def test_models_then_one_chat_completion_report_latency_model_request_id_usage_reply(
    run_cli: RunCli, openai_server: OpenAIServer
) -> None:
    done = run_cli(*API_ONLY, "--json", env=_env(openai_server))
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert document["stages"] == {"api": "ok"}
    models = _result(done.stdout, "api.models")["data"]
    assert models["models"] == sorted(MODELS)
    assert models["key"] == "sk-proj-…Zq9w"
    assert models["key_source"] == "environment"
    completion = _result(done.stdout, "api.completion")["data"]
    assert completion["api"] == "chat.completions"
    assert completion["model"] == DEFAULT_API_MODEL
    assert completion["reply"]
    assert completion["request_id"].startswith("req_")
    assert completion["usage"]["prompt_tokens"] > 0
    assert completion["usage"]["completion_tokens"] > 0
    assert completion["latency_s"] > 0
    # models first (free), then one completion with a tiny output limit, no retries
    requests = openai_server.requests
    assert [(r.method, r.path) for r in requests] == [
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
    ]
    assert requests[1].body["max_tokens"] == OUTPUT_LIMIT
    assert TEST_KEY not in done.stdout + done.stderr


def test_human_report_shows_the_masked_key_and_the_reply(
    run_cli: RunCli, openai_server: OpenAIServer
) -> None:
    done = run_cli(*API_ONLY, "--api-model", "gpt-4o-mini", env=_env(openai_server))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "API completion"
    assert lines[1].startswith(
        f"  ✓ key sk-proj-…Zq9w (environment) accepted by {openai_server.base_url}: 3 models"
    )
    assert lines[2].startswith("  ✓ chat completion from gpt-4o-mini-2024-07-18 in ")
    assert ", request req_" in lines[2]
    assert lines[3].startswith("      reply: “Hello from the chatenv test server")
    assert TEST_KEY not in done.stdout + done.stderr


def test_responses_mode_uses_the_responses_api(
    run_cli: RunCli, openai_server: OpenAIServer
) -> None:
    done = run_cli(*API_ONLY, "--api-mode", "responses", "--json", env=_env(openai_server))
    assert done.returncode == 0, done.stdout + done.stderr
    completion = _result(done.stdout, "api.completion")["data"]
    assert completion["api"] == "responses"
    assert completion["response_id"].startswith("resp_")
    post = openai_server.requests[-1]
    assert post.path == "/v1/responses"
    assert post.body["max_output_tokens"] == OUTPUT_LIMIT


def test_key_and_base_url_come_from_the_env_file(
    run_cli: RunCli, openai_server: OpenAIServer, tmp_path: Path
) -> None:
    env_file = tmp_path / "project.env"
    env_file.write_text(
        f"OPENAI_API_KEY={TEST_KEY}\nOPENAI_BASE_URL={openai_server.base_url}\n"
        "OPENAI_PROJECT_ID=proj_smoke\n"
    )
    env = _env(openai_server, OPENAI_API_KEY=None, OPENAI_BASE_URL=None)
    done = run_cli(*API_ONLY, "--env-file", str(env_file), "--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    models = _result(done.stdout, "api.models")["data"]
    assert (models["key_source"], models["project"]) == ("env-file", "proj_smoke")
    assert openai_server.requests[0].headers["openai-project"] == "proj_smoke"


@pytest.mark.parametrize(
    ("scenario", "paths", "kind", "summary_words", "fix_words"),
    [
        (Scenario.UNAUTHORIZED, None, "invalid-key", "rejected (401)", "configure-key"),
        (Scenario.FORBIDDEN, None, "permission-denied", "not allowed", "permission"),
        (Scenario.REGION, None, "region-blocked", "country or region", "supported-countries"),
        (
            Scenario.MODEL_NOT_FOUND,
            ["/v1/chat/completions"],
            "model-not-found",
            "model does not exist",
            "choose a model",
        ),
        (Scenario.QUOTA, None, "insufficient-quota", "no quota left", "billing"),
        (Scenario.RATE_LIMIT, None, "rate-limited", "rate limited", "wait and try again"),
        (Scenario.SERVER_ERROR, None, "server-error", "server failed (500) (request id req_", ""),
        (
            Scenario.UNAVAILABLE,
            ["/v1/chat/completions"],
            "server-error",
            "server failed (503)",
            "status.openai.com",
        ),
    ],
)
def test_each_api_failure_is_told_apart_with_its_fix_and_exit_1(
    run_cli: RunCli,
    openai_server: OpenAIServer,
    scenario: Scenario,
    paths: list[str] | None,
    kind: str,
    summary_words: str,
    fix_words: str,
) -> None:
    openai_server.set(scenario, paths=paths)
    done = run_cli(*API_ONLY, "--json", env=_env(openai_server))
    assert done.returncode == 1, done.stdout + done.stderr
    document = json.loads(done.stdout)
    failed = [r for r in document["results"] if r["status"] == "fail"]
    assert len(failed) == 1
    [result] = failed
    assert result["data"]["failure"]["kind"] == kind
    assert summary_words in result["summary"]
    assert fix_words in result["fix"]
    assert TEST_KEY not in done.stdout + done.stderr
    if paths is None:  # the model list failed: the completion is not attempted
        assert _result(done.stdout, "api.completion")["status"] == "skip"
        assert len(openai_server.requests) == 1


def test_no_key_points_to_configure_key(run_cli: RunCli, openai_server: OpenAIServer) -> None:
    done = run_cli(*API_ONLY, env=_env(openai_server, OPENAI_API_KEY=None))
    assert done.returncode == 1
    assert "  ✗ no OpenAI API key" in done.stdout
    assert "fix: chatenv configure-key" in done.stdout
    assert openai_server.requests == []


def test_a_server_slower_than_timeout_is_a_timeout(
    run_cli: RunCli, openai_server: OpenAIServer
) -> None:
    openai_server.set(Scenario.SLOW, slow_s=10)
    done = run_cli(*API_ONLY, "--timeout", "0.5", "--json", env=_env(openai_server), timeout=30)
    assert done.returncode == 1
    result = _result(done.stdout, "api.models")
    assert result["data"]["failure"]["kind"] == "timeout"
    assert "did not answer in time" in result["summary"]
    assert len(openai_server.requests) == 1  # max_retries=0


def test_connection_refused_and_an_unreachable_proxy_are_connection_failures(
    run_cli: RunCli, openai_server: OpenAIServer
) -> None:
    port = closed_port()
    refused = run_cli(
        *API_ONLY, env=_env(openai_server, OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1")
    )
    assert refused.returncode == 1
    assert f"✗ connection refused by 127.0.0.1:{port}" in refused.stdout

    proxy = f"http://smoke:hunter2secret@127.0.0.1:{port}"
    via_proxy = run_cli(*API_ONLY, env=_env(openai_server, HTTP_PROXY=proxy))
    assert via_proxy.returncode == 1
    assert "cannot reach the proxy http://smoke:***@127.0.0.1" in via_proxy.stdout
    assert "hunter2secret" not in via_proxy.stdout + via_proxy.stderr


def test_a_retired_model_is_named_with_what_replaced_it(
    run_cli: RunCli, openai_server: OpenAIServer
) -> None:
    done = run_cli(*API_ONLY, "--api-model", "text-davinci-002", env=_env(openai_server))
    assert done.returncode == 1
    assert "✗ text-davinci-002 is a retired model (the server answered 404 model_not_found)" in (
        done.stdout
    )
    assert "fix: chatenv smoke-test --api-model gpt-4.1-nano" in done.stdout
    assert "OpenAI's replacement is gpt-3.5-turbo-instruct" in done.stdout
    assert "OpenAI().chat.completions.create(" in done.stdout


def test_a_model_ollama_has_not_pulled_and_a_completions_only_model_say_what_they_are(
    run_cli: RunCli, openai_server: OpenAIServer
) -> None:
    openai_server.set(Scenario.OLLAMA_MODEL_NOT_FOUND, paths=("/v1/chat/completions",))
    pulled = run_cli(*API_ONLY, "--api-model", "llama3.2:1b", env=_env(openai_server))
    assert pulled.returncode == 1
    assert (
        '✗ Ollama has not pulled that model (404): model "llama3.2:1b" not found, try pulling '
        "it first" in pulled.stdout
    )
    assert "fix: ollama pull llama3.2:1b" in pulled.stdout
    assert "no such endpoint" not in pulled.stdout

    openai_server.set(Scenario.OK)
    legacy = run_cli(*API_ONLY, "--api-model", "gpt-3.5-turbo-instruct", env=_env(openai_server))
    assert legacy.returncode == 1
    assert "✗ the model is not a chat model: it takes only the legacy completions endpoint" in (
        legacy.stdout
    )
    assert "fix: choose a chat model: --api-model gpt-4.1-nano" in legacy.stdout


def test_openai_before_1_0_is_told_what_replaced_the_v0_api(
    run_cli: RunCli, openai_server: OpenAIServer, tmp_path: Path
) -> None:
    """A package shaped like openai 0.28 (module functions, no client class) on the path."""
    v0 = tmp_path / "site" / "openai"
    v0.mkdir(parents=True)
    (v0 / "__init__.py").write_text(
        '__version__ = "0.28.1"\napi_key = None\n\nclass Completion:\n    pass\n'
    )
    done = run_cli(*API_ONLY, env=_env(openai_server, PYTHONPATH=str(tmp_path / "site")))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "✗ openai 0.28.1 is installed; chatenv needs the v1 client" in done.stdout
    assert "openai>=1.40,<4" in done.stdout
    assert "openai.Completion.create(engine=...)" in done.stdout
    assert "OpenAI().chat.completions.create(" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_legacy_variable_names_are_flagged_with_their_v1_names(
    run_cli: RunCli, openai_server: OpenAIServer
) -> None:
    env = _env(openai_server, OPENAI_API_BASE="https://example.invalid/v1")
    done = run_cli(*API_ONLY, "--json", env=env)
    assert done.returncode == 0, done.stdout  # a warning, the API itself works
    legacy = _result(done.stdout, "api.legacy-variable")
    assert legacy["status"] == "warn"
    assert legacy["fix"] == "rename it to OPENAI_BASE_URL"


def test_local_and_api_together_exit_1_when_only_the_api_fails(
    run_cli: RunCli, openai_server: OpenAIServer, tiny_model: Path, tmp_path: Path
) -> None:
    openai_server.set(Scenario.QUOTA)
    env = _env(openai_server, HF_HOME=str(tmp_path / "hf"))
    done = run_cli("smoke-test", "--model", str(tiny_model), "--json", env=env)
    assert done.returncode == 1
    assert json.loads(done.stdout)["stages"] == {"local": "ok", "api": "fail"}


# -- pure decisions ------------------------------------------------------------------------------


def test_default_model_on_openai_is_the_cheap_non_reasoning_one() -> None:
    assert choose_model(None, ("gpt-5", "gpt-4.1-nano"), is_openai=True) == (
        DEFAULT_API_MODEL,
        None,
    )
    assert choose_model("gpt-4o", ("gpt-4.1-nano",), is_openai=True) == ("gpt-4o", None)


def test_compatible_server_without_the_default_gets_its_first_chat_model() -> None:
    model, why = choose_model(
        None, ("nomic-embed-text", "llama3.2:1b", "qwen2.5:0.5b"), is_openai=False
    )
    assert model == "llama3.2:1b"
    assert why is not None and "--api-model" in why


def test_reasoning_models_get_room_to_reply() -> None:
    assert output_limit("gpt-4.1-nano") == OUTPUT_LIMIT
    assert output_limit("o4-mini") > OUTPUT_LIMIT
    assert output_limit("gpt-5-nano") > OUTPUT_LIMIT
    assert output_limit("gpt-5-chat-latest") == OUTPUT_LIMIT


@pytest.mark.parametrize(
    ("model", "replaced_by"),
    [
        ("text-davinci-002", "gpt-3.5-turbo-instruct"),
        ("text-davinci-003", "gpt-3.5-turbo-instruct"),
        ("code-davinci-002", "gpt-4.1-nano"),
        ("gpt-3.5-turbo-0301", "gpt-3.5-turbo"),
        ("gpt-4-32k", "gpt-4o"),
    ],
)
def test_retired_models_have_their_replacements(model: str, replaced_by: str) -> None:
    found = replacement(model)
    assert found is not None and replaced_by in found


@pytest.mark.parametrize("model", ["gpt-4.1-nano", "gpt-4o-mini", "davinci-002", "babbage-002"])
def test_current_models_are_not_called_retired(model: str) -> None:
    assert replacement(model) is None


def test_the_reply_is_the_one_the_server_sent(run_cli: RunCli, openai_server: OpenAIServer) -> None:
    openai_server.set(Scenario.OK)
    done = run_cli(*API_ONLY, "--json", env=_env(openai_server))
    reply = _result(done.stdout, "api.completion")["data"]["reply"]
    assert REPLY.startswith(reply)


def test_a_server_without_a_model_list_is_a_warning_and_the_completion_still_runs(
    run_cli: RunCli, openai_server: OpenAIServer
) -> None:
    """The base URL without /v1: GET /models is a 404 (a warning on a compatible server), and the
    completion that follows says what is wrong with the URL."""
    root = openai_server.base_url.removesuffix("/v1")
    done = run_cli(*API_ONLY, env=_env(openai_server, OPENAI_BASE_URL=root))
    assert done.returncode == 1
    assert f"  ! {root} does not list models (404 on /models)" in done.stdout
    assert "✗ the server has no such endpoint (404 at" in done.stdout
    assert "it usually ends in /v1" in done.stdout
    assert [r.path for r in openai_server.requests] == ["/models", "/chat/completions"]


def test_missing_openai_gives_the_install_fix(
    run_cli: RunCli, openai_server: OpenAIServer, tmp_path: Path
) -> None:
    from tests.smoke.test_cli_local import _blocking

    site = _blocking(tmp_path, "openai")
    done = run_cli(*API_ONLY, env=_env(openai_server, PYTHONPATH=str(site)))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "  ✗ the openai package is not installed" in done.stdout
    assert "fix: chatenv install api" in done.stdout
    assert openai_server.requests == []
