"""Against a real LiteLLM proxy (1.108.7, installed from PyPI and started on 127.0.0.1 by the
`litellm_proxy` fixture): each LiteLLM row of issue 14's table, end to end, through the real
openai client and the real `chatenv` commands."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from chatenv.api.calls import chat_completion, list_models
from chatenv.api.failures import FailureKind, classify
from chatenv.keys.config import ENVIRONMENT, OpenAIConfig, Setting
from chatenv.keys.mask import Secret
from chatenv.system.openai_client import make_client
from tests.api.litellm_proxy import BUDGET_MODEL, CHAT_MODEL, REPLY, TIMEOUT_MODEL
from tests.conftest import clean_env

if TYPE_CHECKING:
    from chatenv.api.failures import ApiFailure
    from tests.api.litellm_proxy import LiteLLMProxy
    from tests.conftest import RunCli

pytestmark = pytest.mark.litellm

WRONG_KEY = "sk-not-the-master-key-0123456789abcdef"


def _config(proxy: LiteLLMProxy, key: str | None = None) -> OpenAIConfig:
    return OpenAIConfig(
        env_file=Path(".env"),
        key=Secret(key or proxy.master_key),
        key_source=ENVIRONMENT,
        base_url=Setting(proxy.base_url, ENVIRONMENT),
    )


def _failure(proxy: LiteLLMProxy, call: Any, key: str | None = None) -> ApiFailure:
    try:
        call(make_client(_config(proxy, key), timeout=20))
    except Exception as exc:
        return classify(exc)
    raise AssertionError("the call succeeded")


def _env(proxy: LiteLLMProxy, tmp_path: Path, key: str) -> dict[str, str]:
    return clean_env(
        OPENAI_API_KEY=key,
        OPENAI_BASE_URL=proxy.base_url,
        HOME=str(tmp_path),
        HF_HOME=str(tmp_path / "hf"),
        HF_HUB_OFFLINE="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )


def test_the_master_key_lists_the_proxys_models(litellm_proxy: LiteLLMProxy) -> None:
    found = list_models(make_client(_config(litellm_proxy), timeout=20))
    assert found.model_ids == tuple(sorted((BUDGET_MODEL, CHAT_MODEL, TIMEOUT_MODEL)))


@pytest.mark.parametrize("mode", ["chat", "responses"])
def test_smoke_test_completes_through_the_proxy(
    litellm_proxy: LiteLLMProxy, run_cli: RunCli, tmp_path: Path, mode: str
) -> None:
    env = _env(litellm_proxy, tmp_path, litellm_proxy.master_key)
    done = run_cli(
        "smoke-test", "--no-local", "--api-model", CHAT_MODEL, "--api-mode", mode, "--json", env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = {r["id"]: r for r in json.loads(done.stdout)["results"]}
    assert results["api.completion"]["data"]["reply"] == REPLY


def test_a_key_that_is_not_the_master_key_is_refused_with_litellms_fix(
    litellm_proxy: LiteLLMProxy,
) -> None:
    """Without a database LiteLLM answers 400 no_db_connection, not 401: still a refused key."""
    failure = _failure(litellm_proxy, list_models, key=WRONG_KEY)
    assert (failure.kind, failure.status_code, failure.server) == (
        FailureKind.INVALID_KEY,
        400,
        "litellm",
    )
    assert failure.summary == (
        "the LiteLLM proxy refused the key: it is not the master key, and a proxy without a "
        "database knows no other (400 no_db_connection): No connected db."
    )
    assert failure.fix and "general_settings.master_key" in failure.fix
    assert "openai.com" not in failure.fix


def test_doctor_tells_the_master_key_from_a_refused_one(
    litellm_proxy: LiteLLMProxy, run_cli: RunCli, tmp_path: Path
) -> None:
    def key_check(key: str) -> dict[str, Any]:
        done = run_cli("doctor", "--json", env=_env(litellm_proxy, tmp_path, key))
        results = {r["id"]: r for r in json.loads(done.stdout)["results"]}
        return dict(results["network.api-key"])

    accepted, refused = key_check(litellm_proxy.master_key), key_check(WRONG_KEY)
    assert accepted["status"] == "ok" and "3 models listed" in accepted["summary"]
    assert refused["status"] == "fail"
    assert "the LiteLLM proxy refused the key" in refused["summary"]
    assert WRONG_KEY not in json.dumps(refused)


def test_an_unknown_model_is_a_missing_model_of_the_proxy_with_its_call_id(
    litellm_proxy: LiteLLMProxy,
) -> None:
    failure = _failure(litellm_proxy, lambda c: chat_completion(c, "gpt-9-imaginary", "hi", 16))
    assert failure.kind is FailureKind.MODEL_NOT_FOUND
    assert failure.summary.startswith(
        "the LiteLLM proxy has no model of that name (400): /chat/completions: Invalid model "
        "name passed in model=gpt-9-imaginary."
    )
    assert "400 400" not in failure.summary and failure.error_code == "400"
    assert failure.request_id and len(failure.request_id) == 36  # x-litellm-call-id
    assert failure.fix and "config.yaml" in failure.fix


def test_a_spent_budget_is_a_budget_not_a_rate_limit(litellm_proxy: LiteLLMProxy) -> None:
    """One call spends the model's budget (LiteLLM counts the spend just after answering)."""
    client = make_client(_config(litellm_proxy), timeout=20)
    failure = None
    for _ in range(20):  # bounded: the spend is booked a moment after the first answer
        try:
            chat_completion(client, BUDGET_MODEL, "hi", 16)
        except Exception as exc:
            failure = classify(exc)
            break
        time.sleep(0.25)
    assert failure is not None, "the budget was never spent"
    assert (failure.kind, failure.status_code) == (FailureKind.BUDGET_EXCEEDED, 429)
    assert "crossed budget" in failure.summary
    assert failure.fix and "max_budget" in failure.fix and "wait and try again" not in failure.fix


def test_the_proxys_408_is_a_timeout_of_the_model_behind_it(litellm_proxy: LiteLLMProxy) -> None:
    failure = _failure(litellm_proxy, lambda c: chat_completion(c, TIMEOUT_MODEL, "hi", 16))
    assert (failure.kind, failure.status_code, failure.cause) == (
        FailureKind.TIMEOUT,
        408,
        "server",
    )
    assert failure.summary.startswith(
        "the LiteLLM proxy gave up waiting for the model behind it (408): litellm.Timeout: "
        "This is a mock timeout error"
    )
    assert failure.fix and "litellm_params.timeout" in failure.fix
