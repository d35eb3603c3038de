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


# -- gated models and tokens, against the stand-in's recorded answers (tests/smoke/fake_hub.py)

TOKEN = "hf_" + "sM0keT" * 5 + "aBcD"
OTHER = "hf_" + "0therT" * 5 + "eFgH"
REVOKED = "hf_" + "gOneT0" * 5 + "iJkL"


@pytest.mark.parametrize(
    ("token", "pending", "state"),
    [
        (None, False, hub.HubState.NEEDS_TOKEN),
        (TOKEN, False, hub.HubState.AVAILABLE),
        (OTHER, False, hub.HubState.DENIED),
        (OTHER, True, hub.HubState.PENDING),
        (REVOKED, False, hub.HubState.TOKEN_REJECTED),
    ],
    ids=["no-token", "granted", "denied", "pending", "revoked"],
)
def test_probe_of_a_gated_model_asks_the_hubs_access_check_with_the_token(
    tmp_path: Path, token: str | None, pending: bool, state: hub.HubState
) -> None:
    from huggingface_hub import get_token

    from chatenv.keys.mask import Secret

    if token is None and get_token() is not None:
        pytest.skip("this machine has a Hugging Face token, which huggingface_hub would send")
    (tmp_path / "config.json").write_text("{}")
    with fake_hub() as server:
        server.state.add("org/gated", tmp_path, gated=True)
        server.state.add_user(TOKEN, "alice")
        server.state.add_user(OTHER, "bob")
        server.state.grant("org/gated", "alice")
        if pending:
            server.state.request_access("org/gated", "bob")
        secret = Secret(token) if token else None
        answer = hub.probe("org/gated", timeout=5, endpoint_url=server.endpoint, token=secret)
        sent = set(server.state.tokens)
    assert answer.state is state
    assert sent == {token}  # the token given, and only it, on every request
    if state is not hub.HubState.AVAILABLE:
        assert answer.reason  # the hub's own words, for --verbose


def test_probe_with_a_revoked_token_is_refused_even_for_a_public_model(tiny_model: Path) -> None:
    from chatenv.keys.mask import Secret

    with fake_hub() as server:
        server.state.add("tiny/gpt2", tiny_model)
        answer = hub.probe(
            "tiny/gpt2", timeout=5, endpoint_url=server.endpoint, token=Secret(REVOKED)
        )
    assert answer.state is hub.HubState.TOKEN_REJECTED
    assert answer.reason == "Invalid credentials in Authorization header"


def _raised_by_hub(status: int, headers: dict[str, str], url: str) -> BaseException:
    """What huggingface_hub raises for this answer, wrapped as transformers wraps it."""
    import importlib

    http = importlib.import_module("httpx2")  # huggingface_hub's HTTP client
    from huggingface_hub.utils import hf_raise_for_status

    response = http.Response(status, headers=headers, request=http.Request("GET", url))
    try:
        hf_raise_for_status(response)
    except Exception as exc:
        try:
            raise OSError(f"You are trying to access a gated repo.\n{exc}") from exc
        except OSError as wrapped:
            return wrapped
    raise AssertionError("hf_raise_for_status accepted a refusal")


@pytest.mark.parametrize(
    ("status", "headers", "state"),
    [
        (
            401,
            {"X-Error-Code": "GatedRepo", "X-Error-Message": "Access to model o/m is restricted."},
            hub.HubState.NEEDS_TOKEN,
        ),
        (
            403,
            {"X-Error-Code": "GatedRepo", "X-Error-Message": "... not in the authorized list."},
            hub.HubState.DENIED,
        ),
        (
            403,
            {"X-Error-Code": "GatedRepo", "X-Error-Message": "... awaiting a review from ..."},
            hub.HubState.PENDING,
        ),
        (
            401,
            {"X-Error-Message": "Invalid credentials in Authorization header"},
            hub.HubState.TOKEN_REJECTED,
        ),
    ],
    ids=["needs-token", "denied", "pending", "revoked"],
)
def test_a_refusal_during_the_download_is_read_from_transformers_exception_chain(
    status: int, headers: dict[str, str], state: hub.HubState
) -> None:
    exc = _raised_by_hub(status, headers, "https://huggingface.co/o/m/resolve/main/config.json")
    answer = hub.refused_by_hub(exc, "https://huggingface.co")
    assert answer is not None and answer.state is state
    assert answer.reason == headers["X-Error-Message"]


def test_an_error_that_is_no_refusal_is_left_alone() -> None:
    assert hub.refused_by_hub(OSError("disk full"), "https://huggingface.co") is None
    failing = _raised_by_hub(503, {}, "https://huggingface.co/api/models/o/m")
    assert hub.refused_by_hub(failing, "https://huggingface.co") is None
