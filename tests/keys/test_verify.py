"""Verification against the test server: what each answer means for saving the key."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from chatenv.keys.verify import Outcome, VerifyMode, verify
from chatenv.results import Status
from tests.openai_server import MODELS, OpenAIServer, Scenario, closed_port, config_for

if TYPE_CHECKING:
    from pathlib import Path


def test_a_valid_key_is_verified_with_the_model_count(
    openai_server: OpenAIServer, tmp_path: Path
) -> None:
    result = verify(config_for(openai_server), VerifyMode.AUTO)
    assert result.outcome is Outcome.VALID and not result.failed
    check = result.result()
    assert check.status is Status.OK
    assert f"{len(MODELS)} models visible" in check.summary
    assert result.to_json()["model_count"] == len(MODELS)
    assert len(openai_server.requests) == 1


@pytest.mark.parametrize(
    ("scenario", "outcome"),
    [
        (Scenario.UNAUTHORIZED, Outcome.INVALID),
        (Scenario.FORBIDDEN, Outcome.INVALID),
        (Scenario.REGION, Outcome.INVALID),
        (Scenario.QUOTA, Outcome.INVALID),
        (Scenario.HTML, Outcome.INVALID),
        (Scenario.RATE_LIMIT, Outcome.VALID),
        (Scenario.SERVER_ERROR, Outcome.UNVERIFIED),
        (Scenario.UNAVAILABLE, Outcome.UNVERIFIED),
    ],
)
@pytest.mark.parametrize("mode", [VerifyMode.AUTO, VerifyMode.ON])
def test_each_answer_has_an_outcome_and_only_unverified_depends_on_the_mode(
    openai_server: OpenAIServer, scenario: Scenario, outcome: Outcome, mode: VerifyMode
) -> None:
    openai_server.set(scenario)
    result = verify(config_for(openai_server), mode)
    assert result.outcome is outcome
    expected_failed = outcome is Outcome.INVALID or (
        outcome is Outcome.UNVERIFIED and mode is VerifyMode.ON
    )
    assert result.failed is expected_failed
    assert result.result().status is (Status.FAIL if expected_failed else Status.WARN)


def test_an_unreachable_server_saves_unverified_in_auto_mode_only(tmp_path: Path) -> None:
    server = OpenAIServer()  # never started: only for its config
    url = f"http://127.0.0.1:{closed_port()}/v1"
    auto = verify(config_for(server, base_url=url), VerifyMode.AUTO)
    on = verify(config_for(server, base_url=url), VerifyMode.ON)
    server.close()
    assert auto.outcome is on.outcome is Outcome.UNVERIFIED
    assert not auto.failed and on.failed
    assert "saved without verification" in auto.result().summary
    assert "(not saved)" in on.result().summary
    assert "(saved anyway)" in on.result(saved_anyway=True).summary


def test_a_slow_server_is_a_timeout_within_the_given_time(openai_server: OpenAIServer) -> None:
    openai_server.set(Scenario.SLOW, slow_s=10)
    result = verify(config_for(openai_server), VerifyMode.ON, timeout=0.3)
    assert result.failure is not None and result.failure.kind.value == "timeout"


def test_no_verify_makes_no_request(openai_server: OpenAIServer) -> None:
    result = verify(config_for(openai_server), VerifyMode.OFF)
    assert result.outcome is Outcome.SKIPPED and not result.failed
    assert result.result().status is Status.SKIP
    assert openai_server.requests == []
