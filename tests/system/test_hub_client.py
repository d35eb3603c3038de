"""doctor's and configure-key's questions to the Hugging Face hub (`chatenv.system.hub_client`),
asked of the hub stand-in on 127.0.0.1 (tests/smoke/fake_hub.py: its docstring says where each
of its answers was recorded from), over real HTTP."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from chatenv.keys.mask import Secret
from chatenv.system import hub_client
from chatenv.system.hub_client import Access, TokenState
from tests.openai_server import closed_port
from tests.smoke.fake_hub import fake_hub

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.smoke.fake_hub import FakeHub

TOKEN = "hf_" + "aZ3kQ9" * 5 + "xYwV"
OTHER = "hf_" + "Pm4nB7" * 5 + "tRsQ"
REVOKED = "hf_" + "Lk2jH8" * 5 + "gFdS"
#: no proxy for the stand-in, whatever the machine's environment says
ENV = {"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "gpt2"}')
    with fake_hub() as server:
        server.state.add("openai-community/gpt2", model)
        server.state.add("meta-llama/Llama-3.2-1B", model, gated=True)
        server.state.add_user(TOKEN, "alice", token_name="laptop", role="read", orgs=("acme",))
        server.state.add_user(OTHER, "bob")
        server.state.grant("meta-llama/Llama-3.2-1B", "alice")
        yield server


def _access(hub: FakeHub, repo: str, token: str | None) -> hub_client.ModelAccess:
    secret = Secret(token) if token else None
    return hub_client.model_access(hub.endpoint, repo, secret, environ=ENV, timeout=5)


def test_whoami_names_the_account_the_token_and_its_role(hub: FakeHub) -> None:
    answer = hub_client.whoami(hub.endpoint, Secret(TOKEN), environ=ENV, timeout=5)
    assert answer.state is TokenState.ACCEPTED
    assert (answer.user, answer.token_name, answer.role, answer.orgs) == (
        "alice",
        "laptop",
        "read",
        ("acme",),
    )
    assert hub.state.tokens == [TOKEN]
    assert hub.state.requests == [("GET", "/api/whoami-v2")]


def test_whoami_of_a_revoked_token_is_rejected_with_the_hubs_words(hub: FakeHub) -> None:
    answer = hub_client.whoami(hub.endpoint, Secret(REVOKED), environ=ENV, timeout=5)
    assert answer.state is TokenState.REJECTED
    assert answer.reason == "Invalid credentials in Authorization header"


def test_whoami_of_a_failing_hub_or_a_closed_port_says_nothing_of_the_token(hub: FakeHub) -> None:
    hub.state.status = 503
    failing = hub_client.whoami(hub.endpoint, Secret(TOKEN), environ=ENV, timeout=5)
    assert (failing.state, failing.reason) == (TokenState.UNVERIFIED, "HTTP 503")
    hub.state.status = 429
    limited = hub_client.whoami(hub.endpoint, Secret(TOKEN), environ=ENV, timeout=5)
    assert limited.state is TokenState.UNVERIFIED and "rate limited" in limited.reason
    closed = f"http://127.0.0.1:{closed_port()}"
    refused = hub_client.whoami(closed, Secret(TOKEN), environ=ENV, timeout=5)
    assert (refused.state, refused.reason) == (TokenState.UNVERIFIED, "connection refused")


def test_a_slow_hub_is_given_up_on_after_the_timeout_without_a_retry(hub: FakeHub) -> None:
    hub.state.delay_s = 2.0
    started = time.monotonic()
    answer = hub_client.whoami(hub.endpoint, Secret(TOKEN), environ=ENV, timeout=0.3)
    assert (answer.state, answer.reason) == (TokenState.UNVERIFIED, "no answer within 0.3s")
    assert time.monotonic() - started < 1.5
    assert len(hub.state.requests) == 1


def test_a_public_model_is_public_with_or_without_a_token(hub: FakeHub) -> None:
    assert _access(hub, "openai-community/gpt2", None).access is Access.PUBLIC
    assert _access(hub, "openai-community/gpt2", TOKEN).access is Access.PUBLIC
    # one request each: a public model needs no access check
    assert [path for _, path in hub.state.requests] == ["/api/models/openai-community/gpt2"] * 2


def test_a_gated_model_this_token_may_read_is_granted(hub: FakeHub) -> None:
    answer = _access(hub, "meta-llama/Llama-3.2-1B", TOKEN)
    assert (answer.access, answer.gated) == (Access.GRANTED, "auto")
    assert hub.state.requests[-1] == ("GET", "/api/models/meta-llama/Llama-3.2-1B/auth-check")


def test_a_gated_model_without_a_token_needs_one_and_is_not_asked_twice(hub: FakeHub) -> None:
    answer = _access(hub, "meta-llama/Llama-3.2-1B", None)
    assert answer.access is Access.NEEDS_TOKEN
    assert answer.page == f"{hub.endpoint}/meta-llama/Llama-3.2-1B"
    assert len(hub.state.requests) == 1


def test_a_gated_model_this_account_is_not_authorized_for_is_denied(hub: FakeHub) -> None:
    answer = _access(hub, "meta-llama/Llama-3.2-1B", OTHER)
    assert answer.access is Access.DENIED
    assert "you are not in the authorized list" in answer.reason


def test_a_request_awaiting_review_is_pending(hub: FakeHub) -> None:
    hub.state.request_access("meta-llama/Llama-3.2-1B", "bob")
    answer = _access(hub, "meta-llama/Llama-3.2-1B", OTHER)
    assert answer.access is Access.PENDING
    assert "awaiting a review" in answer.reason


def test_a_revoked_token_is_refused_even_for_a_public_model(hub: FakeHub) -> None:
    answer = _access(hub, "openai-community/gpt2", REVOKED)
    assert answer.access is Access.TOKEN_REJECTED


def test_a_missing_model_is_not_found(hub: FakeHub) -> None:
    assert _access(hub, "nobody/nothing", TOKEN).access is Access.NOT_FOUND


def test_a_failing_hub_leaves_the_access_unverified(hub: FakeHub) -> None:
    hub.state.status = 500
    answer = _access(hub, "meta-llama/Llama-3.2-1B", TOKEN)
    assert (answer.access, answer.reason) == (Access.UNVERIFIED, "HTTP 500")


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (401, "", "Invalid credentials in Authorization header", Access.TOKEN_REJECTED),
        (401, "GatedRepo", "Access to model x/y is restricted. Please log in.", Access.NEEDS_TOKEN),
        (403, "GatedRepo", "... not in the authorized list ...", Access.DENIED),
        (403, "GatedRepo", "... is awaiting a review from the repo authors.", Access.PENDING),
        (404, "RepoNotFound", "Repository not found", Access.NOT_FOUND),
        # huggingface_hub reads a bare 401 on a repo URL as "not found (or private)"
        (401, "", "", Access.NOT_FOUND),
        (503, "", "", None),
        (429, "", "", None),
    ],
)
def test_refusals_read_as_huggingface_hub_reads_them(
    status: int, code: str, message: str, expected: Access | None
) -> None:
    assert hub_client.refusal(status, code, message) is expected


def test_hf_endpoint_names_the_mirror_without_its_trailing_slash() -> None:
    assert hub_client.endpoint({}) == "https://huggingface.co"
    assert hub_client.endpoint({"HF_ENDPOINT": "https://hf-mirror.com/"}) == "https://hf-mirror.com"
