"""doctor's GET /models with the key (chatenv.api.probe), over real HTTP to the test server."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING

from chatenv.api.failures import FailureKind
from chatenv.api.probe import get_models
from chatenv.api.servers import ServerKind
from tests.openai_server import MODELS, TEST_KEY, Scenario

if TYPE_CHECKING:
    from collections.abc import Iterator

    from chatenv.api.probe import KeyProbe
    from chatenv.keys.config import OpenAIConfig
    from tests.api.conftest import MakeConfig
    from tests.openai_server import OpenAIServer


def probe(config: OpenAIConfig, timeout: float = 2.5) -> KeyProbe:
    return get_models(config, proxy=None, context=None, timeout=timeout)


def test_an_accepted_key_lists_the_models_in_one_request(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    found = probe(make_config())
    assert found.failure is None
    assert found.model_ids == tuple(sorted(MODELS))
    assert found.server.kind is ServerKind.OPENAI  # the test server sends OpenAI's headers
    assert found.request_id and found.request_id.startswith("req_")
    [request] = openai_server.requests
    assert (request.method, request.path, request.key) == ("GET", "/v1/models", TEST_KEY)
    assert request.headers["user-agent"].startswith("chatenv")
    assert request.body is None  # the server checks the request against OpenAI's spec too


def test_a_refused_key_is_a_key_rejected_failure_without_the_key_in_it(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    wrong = "sk-proj-" + "W" * 40 + "w0ng"
    found = probe(make_config(key=wrong))
    assert found.model_ids is None and found.failure is not None
    assert found.failure.kind is FailureKind.INVALID_KEY and found.failure.key_rejected
    assert wrong not in repr(found)


def test_the_organization_and_project_are_sent_as_the_client_sends_them(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    probe(make_config(organization="org-abc", project="proj_xyz"))
    [request] = openai_server.requests
    assert request.headers["openai-organization"] == "org-abc"
    assert request.headers["openai-project"] == "proj_xyz"


def test_litellm_without_a_database_is_a_refused_key_of_litellms(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    openai_server.set(Scenario.LITELLM_NO_DB)
    found = probe(make_config())
    assert found.failure is not None
    assert (found.failure.kind, found.failure.server) == (FailureKind.INVALID_KEY, "litellm")
    assert found.server.kind is ServerKind.LITELLM


def test_a_server_error_is_asked_once(openai_server: OpenAIServer, make_config: MakeConfig) -> None:
    openai_server.set(Scenario.UNAVAILABLE)
    found = probe(make_config())
    assert found.failure is not None and found.failure.kind is FailureKind.SERVER_ERROR
    assert len(openai_server.requests) == 1


def test_an_html_page_is_not_the_api(openai_server: OpenAIServer, make_config: MakeConfig) -> None:
    openai_server.set(Scenario.HTML)
    found = probe(make_config())
    assert found.failure is not None
    assert found.failure.kind is FailureKind.MALFORMED_RESPONSE
    assert "HTML" in found.failure.summary


def _silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (not an HTTP server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_process_on_the_port_that_never_answers_is_a_timeout_not_accepted(
    make_config: MakeConfig,
) -> None:
    for port in _silent_listener():
        started = time.monotonic()
        found = probe(make_config(base_url=f"http://127.0.0.1:{port}/v1"), timeout=0.3)
        assert time.monotonic() - started < 2
        assert found.model_ids is None and found.failure is not None
        assert (found.failure.kind, found.failure.cause) == (FailureKind.TIMEOUT, "read")
        assert "did not answer in time" in found.failure.summary
        assert "openai.com" not in (found.failure.fix or "")
