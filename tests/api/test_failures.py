"""Every way an API call fails, produced for real (the test server, closed ports, unresolvable
names, TLS mismatches, proxies) and classified into what the user should do."""

from __future__ import annotations

import ssl
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from chatenv.api.calls import chat_completion, list_models, retrieve_model
from chatenv.api.failures import FailureKind, _duration, classify
from chatenv.system.openai_client import make_client
from tests.conftest import REPO, clean_env
from tests.openai_server import TEST_KEY, OpenAIServer, Scenario, closed_port

if TYPE_CHECKING:
    import http.server
    from collections.abc import Iterator
    from pathlib import Path

    from chatenv.api.failures import ApiFailure
    from chatenv.keys.config import OpenAIConfig
    from tests.api.conftest import MakeConfig

Call = Callable[[Any], object]


def failure_of(
    config: OpenAIConfig, call: Call = list_models, *, timeout: float = 5.0
) -> ApiFailure:
    try:
        call(make_client(config, timeout=timeout))
    except Exception as exc:
        return classify(exc)
    raise AssertionError("the call succeeded")


def assert_no_key_in(failure: ApiFailure, key: str = TEST_KEY) -> None:
    assert key not in repr(failure) and key not in str(failure.to_json())


@pytest.mark.parametrize(
    ("scenario", "kind", "status", "code", "fix_words"),
    [
        (Scenario.UNAUTHORIZED, FailureKind.INVALID_KEY, 401, "invalid_api_key", "configure-key"),
        (
            Scenario.WRONG_ORGANIZATION,
            FailureKind.ORGANIZATION_MISMATCH,
            401,
            "mismatched_organization",
            "OPENAI_ORG_ID",
        ),
        (Scenario.FORBIDDEN, FailureKind.PERMISSION_DENIED, 403, None, "permission"),
        (
            Scenario.REGION,
            FailureKind.REGION_BLOCKED,
            403,
            "unsupported_country_region_territory",
            "supported-countries",
        ),
        (Scenario.QUOTA, FailureKind.INSUFFICIENT_QUOTA, 429, "insufficient_quota", "billing"),
        (Scenario.RATE_LIMIT, FailureKind.RATE_LIMITED, 429, "rate_limit_exceeded", "wait"),
        (Scenario.SERVER_ERROR, FailureKind.SERVER_ERROR, 500, None, "request id"),
        (Scenario.UNAVAILABLE, FailureKind.SERVER_ERROR, 503, None, "status.openai.com"),
    ],
)
def test_http_errors_are_told_apart_by_status_code_and_type(
    openai_server: OpenAIServer,
    make_config: MakeConfig,
    scenario: Scenario,
    kind: FailureKind,
    status: int,
    code: str | None,
    fix_words: str,
) -> None:
    openai_server.set(scenario)
    failure = failure_of(make_config())
    assert failure.kind is kind
    assert (failure.status_code, failure.error_code) == (status, code)
    assert failure.request_id and failure.request_id.startswith("req_")
    assert fix_words in (failure.fix or "")
    assert "\n" not in failure.summary
    assert_no_key_in(failure)


def test_quota_and_rate_limit_are_both_429_but_read_from_code_and_type(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    openai_server.set(Scenario.QUOTA)
    quota = failure_of(make_config())
    openai_server.set(Scenario.RATE_LIMIT)
    limited = failure_of(make_config())
    assert quota.error_type == "insufficient_quota" and quota.key_rejected
    assert limited.error_type == "requests" and not limited.key_rejected
    assert limited.retry_after_s == 20.0
    assert "retry after 20 s" in limited.summary


def test_server_error_summary_carries_the_request_id(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    openai_server.set(Scenario.SERVER_ERROR)
    failure = failure_of(make_config())
    assert failure.request_id and failure.request_id in failure.summary
    assert failure.inconclusive and not failure.key_rejected


def test_a_wrong_key_is_invalid_and_the_partly_masked_echo_is_not_repeated(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    wrong = "sk-proj-" + "W" * 40 + "w0ng"
    failure = failure_of(make_config(key=wrong))
    assert failure.kind is FailureKind.INVALID_KEY
    assert "Incorrect API key provided" in failure.summary
    assert_no_key_in(failure, wrong)


def test_a_server_that_echoes_the_whole_key_is_redacted(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    openai_server.set(Scenario.UNAUTHORIZED_ECHO)
    failure = failure_of(make_config())
    assert failure.kind is FailureKind.INVALID_KEY
    assert "sk-proj-…" in failure.summary
    assert_no_key_in(failure)


def test_an_unknown_model_and_a_retired_model_are_different_failures(
    make_config: MakeConfig,
) -> None:
    def chat(model: str) -> Call:
        return lambda client: chat_completion(client, model, "hi", 8)

    missing = failure_of(make_config(), chat("gpt-9-imaginary"))
    retired = failure_of(make_config(), chat("text-davinci-003"))
    lookup = failure_of(make_config(), lambda client: retrieve_model(client, "gpt-9-imaginary"))
    assert (missing.kind, missing.error_code) == (FailureKind.MODEL_NOT_FOUND, "model_not_found")
    assert "gpt-9-imaginary" in missing.summary
    assert retired.kind is FailureKind.MODEL_RETIRED and "deprecated" in retired.summary
    assert lookup.kind is FailureKind.MODEL_NOT_FOUND


@pytest.mark.parametrize(
    ("scenario", "summary", "fix"),
    [
        (
            Scenario.VLLM_MODEL_NOT_FOUND,
            "vLLM does not serve that model (404): The model `llama-9b` does not exist.",
            "choose a model it serves (GET /v1/models lists them), then --api-model NAME",
        ),
        (
            Scenario.OLLAMA_MODEL_NOT_FOUND,
            'Ollama has not pulled that model (404): model "llama-9b" not found, try pulling it '
            "first",
            "ollama pull llama-9b",
        ),
    ],
)
def test_a_plain_404_naming_the_model_is_a_missing_model_of_that_server(
    openai_server: OpenAIServer, make_config: MakeConfig, scenario: Scenario, summary: str, fix: str
) -> None:
    """vLLM and Ollama send no `model_not_found` code; their message names the model, and
    the body says which server it is (vLLM's exception names as types, Ollama's wording)."""
    openai_server.set(scenario, paths=("/v1/chat/completions",))
    failure = failure_of(make_config(), lambda client: chat_completion(client, "llama-9b", "hi", 8))
    assert (failure.kind, failure.status_code) == (FailureKind.MODEL_NOT_FOUND, 404)
    assert (failure.summary, failure.fix) == (summary, fix)
    assert "platform.openai.com" not in failure.fix


def test_a_completions_only_model_asked_for_a_chat_completion_is_not_a_chat_model(
    make_config: MakeConfig,
) -> None:
    failure = failure_of(
        make_config(), lambda client: chat_completion(client, "gpt-3.5-turbo-instruct", "hi", 8)
    )
    assert failure.kind is FailureKind.NOT_A_CHAT_MODEL
    assert failure.summary.startswith(
        "the model is not a chat model: it takes only the legacy completions endpoint (404): "
        "This is not a chat model"
    )
    assert "--api-model gpt-4.1-nano" in (failure.fix or "")


def test_a_base_url_without_v1_is_an_endpoint_not_found(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    failure = failure_of(make_config(base_url=openai_server.base_url.removesuffix("/v1")))
    assert failure.kind is FailureKind.NOT_FOUND
    assert "/v1" in (failure.fix or "")


@pytest.mark.parametrize("scenario", [Scenario.MALFORMED, Scenario.HTML, Scenario.WRONG_SHAPE])
def test_a_body_that_is_not_the_api_is_malformed(
    openai_server: OpenAIServer, make_config: MakeConfig, scenario: Scenario
) -> None:
    openai_server.set(scenario)
    failure = failure_of(make_config())
    assert failure.kind is FailureKind.MALFORMED_RESPONSE
    assert failure.status_code == 200 and "base URL" in (failure.fix or "")


def test_no_answer_within_the_timeout_is_a_read_timeout(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    openai_server.set(Scenario.SLOW, slow_s=5)
    failure = failure_of(make_config(), timeout=0.3)
    assert (failure.kind, failure.cause) == (FailureKind.TIMEOUT, "read")
    assert failure.inconclusive


def test_a_connection_closed_mid_response_says_so(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    openai_server.set(Scenario.CLOSED)
    failure = failure_of(make_config())
    assert (failure.kind, failure.cause) == (FailureKind.CONNECTION, "closed")
    assert "closed the connection" in failure.summary


def test_connection_refused_on_localhost_asks_whether_the_local_server_runs(
    make_config: MakeConfig,
) -> None:
    port = closed_port()
    failure = failure_of(make_config(base_url=f"http://127.0.0.1:{port}/v1"))
    assert (failure.kind, failure.cause) == (FailureKind.CONNECTION, "refused")
    assert f"127.0.0.1:{port}" in failure.summary
    assert "running" in (failure.fix or "")
    assert failure.inconclusive


def test_an_unresolvable_host_is_a_dns_failure(make_config: MakeConfig) -> None:
    failure = failure_of(make_config(base_url="http://api.chatenv-test.invalid/v1"))
    assert (failure.kind, failure.cause) == (FailureKind.CONNECTION, "dns")
    assert "api.chatenv-test.invalid" in failure.summary


def test_https_to_a_plain_http_server_is_a_tls_failure_suggesting_http(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    url = openai_server.base_url.replace("http://", "https://")
    failure = failure_of(make_config(base_url=url))
    assert (failure.kind, failure.cause) == (FailureKind.CONNECTION, "tls")
    assert "http://" in (failure.fix or "")


def test_an_unreachable_proxy_is_named_without_its_password(
    make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://alice:s3cretPass@127.0.0.1:{port}")
    monkeypatch.setenv("HTTP_PROXY", f"http://alice:s3cretPass@127.0.0.1:{port}")
    failure = failure_of(make_config(base_url="http://api.chatenv-test.invalid/v1"))
    assert (failure.kind, failure.cause) == (FailureKind.CONNECTION, "proxy")
    assert f"127.0.0.1:{port}" in failure.summary and "HTTP_PROXY" in failure.summary
    assert "s3cretPass" not in failure.summary + (failure.fix or "")


def test_no_proxy_bypass_is_respected_when_naming_the_cause(
    make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    failure = failure_of(make_config(base_url=f"http://127.0.0.1:{closed_port()}/v1"))
    assert failure.cause == "refused"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server with a self-signed certificate: (its base URL, the certificate)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    made = subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip("openssl cannot make a test certificate here")
    server = OpenAIServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    raw: http.server.ThreadingHTTPServer = server._server
    raw.socket = context.wrap_socket(raw.socket, server_side=True)
    server.start()
    yield server.base_url.replace("http://", "https://"), cert
    server.close()


def test_an_untrusted_certificate_is_named_and_ssl_cert_file_fixes_it(
    tls_server: tuple[str, Path], make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert = tls_server
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    failure = failure_of(make_config(base_url=url))
    assert (failure.kind, failure.cause) == (FailureKind.CONNECTION, "tls-certificate")
    assert "SSL_CERT_FILE" in (failure.fix or "")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the fix, applied
    assert list_models(make_client(make_config(base_url=url))).model_ids


def test_no_key_is_a_failure_that_points_to_configure_key(make_config: MakeConfig) -> None:
    failure = failure_of(make_config(key=None))
    assert failure.kind is FailureKind.NO_KEY
    assert failure.fix == "chatenv configure-key"


def test_openai_not_installed(make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)  # `import openai` now raises ImportError
    failure = failure_of(make_config())
    assert failure.kind is FailureKind.OPENAI_MISSING
    assert failure.fix == "chatenv install api"


def test_openai_before_1_0_is_reported_with_the_version_and_the_pin(tmp_path: Path) -> None:
    """A real import of a package shaped like openai 0.28 (module functions, no client class)."""
    fake = tmp_path / "site" / "openai"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        '__version__ = "0.28.1"\napi_key = None\n\nclass ChatCompletion:\n    pass\n'
    )
    probe = textwrap.dedent(
        f"""
        import json
        from chatenv.api.failures import classify
        from chatenv.keys.config import OpenAIConfig
        from chatenv.keys.mask import Secret
        from chatenv.system.openai_client import make_client
        from pathlib import Path
        try:
            make_client(OpenAIConfig(env_file=Path(".env"), key=Secret({TEST_KEY!r})))
        except Exception as exc:
            print(json.dumps(classify(exc).to_json()))
        """
    )
    env = clean_env(PYTHONPATH=str(tmp_path / "site"))
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"kind": "openai-too-old"' in done.stdout
    assert "openai 0.28.1 is installed" in done.stdout and "openai>=1.40,<4" in done.stdout


def test_anything_else_is_unexpected_with_its_one_line() -> None:
    failure = classify(RuntimeError("first line\nsecond line"))
    assert failure.kind is FailureKind.UNEXPECTED
    assert failure.summary == "unexpected RuntimeError: first line"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("20s", 20.0), ("1m30s", 90.0), ("6ms", 0.006), ("1h2m", 3720.0), ("0.5s", 0.5), ("x", None)],
)
def test_rate_limit_reset_durations_are_read(text: str, seconds: float | None) -> None:
    if seconds is None:
        assert _duration(text) is None
    else:
        assert _duration(text) == pytest.approx(seconds)


def test_to_json_has_every_field(openai_server: OpenAIServer, make_config: MakeConfig) -> None:
    openai_server.set(Scenario.REGION)
    document = failure_of(make_config()).to_json()
    assert document["kind"] == "region-blocked"
    assert set(document) == {
        "kind",
        "summary",
        "fix",
        "status_code",
        "error_code",
        "error_type",
        "request_id",
        "cause",
        "retry_after_s",
        "server",
    }
    assert document["server"] == "openai"  # the test server sends OpenAI's own headers
