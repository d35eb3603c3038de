"""doctor asks the server whether the key is accepted (one GET /models), like `gh auth status`:
the real `chatenv doctor` against the test server on 127.0.0.1."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chatenv.api.failures import FailureKind
from chatenv.api.probe import KeyProbe
from chatenv.api.servers import identify
from chatenv.doctor.network import check_api_key
from chatenv.results import Status
from tests.conftest import imported_by, server_env
from tests.openai_server import TEST_KEY, Scenario

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import RunCli
    from tests.openai_server import OpenAIServer


def _doctor(run_cli: RunCli, env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    from jsonschema import Draft202012Validator

    from chatenv.schemas import schema_text

    done = run_cli("doctor", "--json", *args, env=env)
    assert "Traceback" not in done.stdout + done.stderr
    document = json.loads(done.stdout)
    Draft202012Validator(json.loads(schema_text("doctor"))).validate(document)
    return done.returncode, {r["id"]: r for r in document["results"]}


def _env(tmp_path: Path, server: OpenAIServer, **overrides: str | None) -> dict[str, str]:
    # HF_HUB_OFFLINE: no Hub target, so the network section talks to the test server only
    settings: dict[str, str | None] = {"OPENAI_API_KEY": TEST_KEY, "HF_HUB_OFFLINE": "1"}
    return server_env(tmp_path, server, **{**settings, **overrides})


def test_an_accepted_key_is_reported_with_the_server_and_the_model_count(
    run_cli: RunCli, openai_server: OpenAIServer, tmp_path: Path
) -> None:
    _, results = _doctor(run_cli, _env(tmp_path, openai_server))
    key = results["network.api-key"]
    assert key["status"] == "ok"
    assert key["summary"].startswith(
        f"key sk-proj-…Zq9w accepted by OpenAI at {openai_server.base_url}: 3 models listed "
        "(GET /models, "
    )
    assert key["data"]["accepted"] is True
    assert [(r.method, r.path) for r in openai_server.requests] == [("GET", "/v1/models")]


def test_a_refused_key_fails_doctor_with_the_servers_fix(
    run_cli: RunCli, openai_server: OpenAIServer, tmp_path: Path
) -> None:
    wrong = "sk-proj-" + "R" * 40 + "nope"
    code, results = _doctor(run_cli, _env(tmp_path, openai_server, OPENAI_API_KEY=wrong))
    key = results["network.api-key"]
    assert results["network.api"]["status"] == "ok"  # the port answers: that is not enough
    assert key["status"] == "fail" and code == 1
    assert key["summary"].startswith(
        f"GET /models at {openai_server.base_url} with key sk-proj-…nope: the API key was "
        "rejected (401)"
    )
    assert key["fix"] == "create a new key at https://platform.openai.com/api-keys, then: " + (
        "chatenv configure-key"
    )
    assert wrong not in json.dumps(results)


def test_litellms_refusal_gets_litellms_fix(
    run_cli: RunCli, openai_server: OpenAIServer, tmp_path: Path
) -> None:
    openai_server.set(Scenario.LITELLM_NO_DB)
    _, results = _doctor(run_cli, _env(tmp_path, openai_server))
    key = results["network.api-key"]
    assert key["status"] == "fail"
    assert "the LiteLLM proxy refused the key" in key["summary"]
    assert "general_settings.master_key" in key["fix"] and "openai.com" not in key["fix"]


def test_a_server_error_is_a_warning_that_nothing_was_learnt(
    run_cli: RunCli, openai_server: OpenAIServer, tmp_path: Path
) -> None:
    openai_server.set(Scenario.UNAVAILABLE)
    _, results = _doctor(run_cli, _env(tmp_path, openai_server))
    assert results["network.api-key"]["status"] == "warn"
    assert results["network.api-key"]["summary"].startswith(
        f"GET /models at {openai_server.base_url} with key sk-proj-…Zq9w says nothing of the key: "
        "the server failed (503)"
    )


def test_offline_or_no_key_makes_no_request(
    run_cli: RunCli, openai_server: OpenAIServer, tmp_path: Path
) -> None:
    _, offline = _doctor(run_cli, _env(tmp_path, openai_server), "--offline")
    _, keyless = _doctor(run_cli, _env(tmp_path, openai_server, OPENAI_API_KEY=None))
    assert "network.api-key" not in offline and "network.api-key" not in keyless
    assert openai_server.requests == []


def test_azures_per_deployment_url_fails_with_what_to_set_instead(
    run_cli: RunCli, openai_server: OpenAIServer, tmp_path: Path
) -> None:
    url = "https://my-res.openai.azure.com/openai/deployments/gpt-4o-mini?api-version=2024-10-21"
    _, results = _doctor(run_cli, _env(tmp_path, openai_server, OPENAI_BASE_URL=url))
    key = results["network.api-key"]
    assert key["status"] == "fail"
    assert "OPENAI_BASE_URL is Azure's per-deployment URL" in key["summary"]
    assert key["fix"] == (
        "export OPENAI_BASE_URL=https://my-res.openai.azure.com/openai/v1/  # then pass the "
        "deployment as the model: --api-model gpt-4o-mini"
    )


def test_a_rate_limited_key_was_accepted() -> None:
    from chatenv.api.failures import HttpAnswer, classify_answer

    answer = HttpAnswer(429, "https://api.openai.com/v1/models", {}, {"error": {"message": "x"}})
    failure = classify_answer(answer)
    assert failure.kind is FailureKind.RATE_LIMITED
    probe = KeyProbe("https://api.openai.com/v1", identify(answer.url), failure=failure)
    result = check_api_key(probe, "sk-…abcd")
    assert result.status is Status.OK
    assert result.summary == (
        "key sk-…abcd accepted by OpenAI at https://api.openai.com/v1 (rate limited now)"
    )


def test_the_key_check_imports_neither_openai_nor_pydantic(
    openai_server: OpenAIServer, tmp_path: Path
) -> None:
    """doctor stays fast and works in the base install: its GET uses the standard library
    (importing openai would cost ~0.6 s, about three times doctor's whole run)."""

    loaded, done = imported_by(
        ["doctor", "--json"],
        ("openai", "pydantic", "httpx2", "chatenv.doctor.network"),
        _env(tmp_path, openai_server),
    )
    results = {r["id"]: r for r in json.loads(done.stdout)["results"]}
    assert results["network.api-key"]["status"] == "ok"  # the GET was made
    assert loaded.pop("chatenv.doctor.network")
    assert loaded == {"openai": False, "pydantic": False, "httpx2": False}
