"""Where a model comes from: `--model` as a folder or a hub id, and the hub probe over real HTTP."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from chatenv.errors import UsageError
from chatenv.smoke import hub
from tests.openai_server import closed_port
from tests.smoke.fake_hub import fake_hub

if TYPE_CHECKING:
    from pathlib import Path


def test_an_existing_folder_is_a_folder_reference(tmp_path: Path) -> None:
    ref = hub.model_ref(str(tmp_path))
    assert ref.is_folder
    assert ref.folder == tmp_path


@pytest.mark.parametrize("name", ["gpt2", "openai-community/gpt2", "Qwen/Qwen2.5-0.5B"])
def test_a_hub_id_that_is_no_folder_is_a_hub_reference(name: str, tmp_path: Path) -> None:
    ref = hub.model_ref(name)
    assert not ref.is_folder
    assert ref.name == name


@pytest.mark.parametrize("name", ["./missing", "/no/such/folder", "~/no-such-model", "a/b/c"])
def test_a_path_that_names_nothing_is_a_usage_error(name: str) -> None:
    with pytest.raises(UsageError, match="no such folder"):
        hub.model_ref(name)


def test_a_file_is_refused_with_its_folder_as_the_fix(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"x")
    with pytest.raises(UsageError) as caught:
        hub.model_ref(str(weights))
    assert "is a file" in caught.value.message
    assert caught.value.fix == f"chatenv smoke-test --model {tmp_path}"


@pytest.mark.parametrize("name", ["a b", "-leading-dash", "", "  "])
def test_text_that_is_neither_folder_nor_hub_id_is_a_usage_error(name: str) -> None:
    with pytest.raises(UsageError):
        hub.model_ref(name)


def test_probe_finds_a_model_the_hub_serves(tiny_model: Path) -> None:
    with fake_hub() as server:
        server.state.add("tiny/gpt2", tiny_model)
        answer = hub.probe("tiny/gpt2", timeout=5, endpoint_url=server.endpoint)
    assert answer.state is hub.HubState.AVAILABLE
    assert answer.endpoint == server.endpoint


def test_probe_tells_a_missing_model_from_an_unreachable_hub() -> None:
    with fake_hub() as server:
        answer = hub.probe("nobody/nothing", timeout=5, endpoint_url=server.endpoint)
    assert answer.state is hub.HubState.NOT_FOUND


def test_probe_of_a_closed_port_is_unreachable_with_connection_refused() -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    answer = hub.probe("gpt2", timeout=5, endpoint_url=endpoint)
    assert answer.state is hub.HubState.UNREACHABLE
    assert answer.reason == "connection refused"
    assert time.monotonic() - started < 5  # one attempt, no retries


def test_probe_of_a_failing_hub_reports_its_status() -> None:
    with fake_hub() as server:
        server.state.status = 503
        answer = hub.probe("gpt2", timeout=5, endpoint_url=server.endpoint)
    assert answer.state is hub.HubState.UNREACHABLE
    assert answer.reason == "HTTP 503"


def test_download_command_fetches_only_what_transformers_loads() -> None:
    command = hub.download_command("gpt2")
    assert "gpt2" in command
    assert "*.safetensors" in command
    assert "*.json" in command


def test_probe_of_a_hub_that_does_not_answer_in_time_is_a_timeout() -> None:
    with fake_hub() as server:
        server.state.delay_s = 2.0
        started = time.monotonic()
        answer = hub.probe("gpt2", timeout=0.3, endpoint_url=server.endpoint)
        waited = time.monotonic() - started
    assert answer.state is hub.HubState.UNREACHABLE
    assert answer.reason == "no answer within 0.3s"
    assert waited < 1.5
