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

from chatenv.api.calls import chat_completion, list_models, responses_completion, retrieve_model
from chatenv.api.failures import FailureKind, HttpAnswer, _duration, classify, classify_answer
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


# -- other servers: each answer recorded from the real server (tests/openai_server.py) -------


def _chat(model: str = "gpt-4o-mini") -> Call:
    return lambda client: chat_completion(client, model, "hi", 16)


def _responses(client: Any) -> object:
    return responses_completion(client, "gpt-4o-mini", "hi", 16)


@pytest.mark.parametrize(
    ("scenario", "call", "kind", "summary", "fix"),
    [
        (
            Scenario.LITELLM_NO_DB,
            list_models,
            FailureKind.INVALID_KEY,
            "the LiteLLM proxy refused the key: it is not the master key, and a proxy without a "
            "database knows no other (400 no_db_connection): No connected db.",
            "use the proxy's master key (general_settings.master_key), or give the proxy a "
            "database (DATABASE_URL) so it can check virtual keys; then: chatenv configure-key",
        ),
        (
            Scenario.LITELLM_UNKNOWN_MODEL,
            _chat("gpt-9-imaginary"),
            FailureKind.MODEL_NOT_FOUND,
            "the LiteLLM proxy has no model of that name (400): /chat/completions: Invalid model "
            "name passed in model=gpt-9-imaginary. Call `/v1/models` to view available models "
            "for your key.",
            "use a model_name from the proxy's config.yaml: GET /v1/models lists the ones this "
            "key may use; then --api-model NAME",
        ),
        (
            Scenario.LITELLM_BUDGET,
            _chat(),
            FailureKind.BUDGET_EXCEEDED,
            "the LiteLLM proxy's budget is spent (422): Budget has been exceeded! Current cost: "
            "1.0, Max budget: 1e-06",
            "raise the budget that ran out (max_budget in the proxy's config.yaml, or the key's "
            "with POST /key/update), or wait until its budget_duration resets it",
        ),
        (
            Scenario.LITELLM_BUDGET_429,
            _chat(),
            FailureKind.BUDGET_EXCEEDED,
            "the LiteLLM proxy's budget is spent (429): Budget has been exceeded! Current cost: "
            "1.0, Max budget: 1e-06",
            None,
        ),
        (
            Scenario.LITELLM_MODEL_BUDGET,
            _chat("mock-budget"),
            FailureKind.BUDGET_EXCEEDED,
            "the LiteLLM proxy's budget is spent (429): No deployments available - crossed "
            "budget: Exceeded budget for deployment model_name: mock-budget, litellm_params.model:"
            " openai/gpt-4o-mini, model_id: 510d5167870e7c0da34d3f"
            "b1032c741ceae9f64c7cfcbdb8…",  # quoted up to 200 characters
            None,
        ),
        (
            Scenario.LITELLM_TIMEOUT,
            _chat("mock-timeout"),
            FailureKind.TIMEOUT,
            "the LiteLLM proxy gave up waiting for the model behind it (408): litellm.Timeout: "
            "This is a mock timeout error",
            "raise the model's timeout (litellm_params.timeout in the proxy's config.yaml), or "
            "check the provider behind it",
        ),
        (
            Scenario.AZURE_DEPLOYMENT_NOT_FOUND,
            _chat("gpt-4o-mini"),
            FailureKind.MODEL_NOT_FOUND,
            "Azure OpenAI has no deployment of that name (404 DeploymentNotFound): The API "
            "deployment for this resource does not exist. If you created the deployment within "
            "the last 5 minutes, please wait a moment and try again.",
            "pass your deployment's name: --api-model DEPLOYMENT-NAME (see Deployments in the "
            "Azure AI Foundry portal)",
        ),
        (
            Scenario.AZURE_UNAUTHORIZED,
            list_models,
            FailureKind.INVALID_KEY,
            "Azure OpenAI refused the key (401): Access denied due to invalid subscription key or "
            "wrong API endpoint. Make sure to provide a valid key for an active subscription and "
            "use a correct regional API endpoint for your resource.",
            "copy KEY 1 from your resource's Keys and Endpoint page in the Azure portal, then: "
            "chatenv configure-key",
        ),
        (
            Scenario.LLAMA_CPP_UNAUTHORIZED,
            list_models,
            FailureKind.INVALID_KEY,
            "llama.cpp's server refused the key (401): Invalid API Key",
            "use the key llama-server was started with (--api-key KEY, or LLAMA_API_KEY), then: "
            "chatenv configure-key",
        ),
        (
            Scenario.VLLM_UNAUTHORIZED,
            list_models,
            FailureKind.INVALID_KEY,
            "the server at {host} refused the key (401): Unauthorized",
            "use the key this server expects (from whoever runs it, or its configuration), then: "
            "chatenv configure-key",
        ),
        (
            Scenario.PRISM_UNPROCESSABLE,
            _chat(),
            FailureKind.BAD_REQUEST,
            "the server refused the request (422): Invalid request: Your request is not valid and "
            "no HTTP validation response was found in the spec, so Prism is generating this "
            "error for you.; Request body property max_tokens must be >= 1",
            "check the model and base URL; run again with --verbose for details",
        ),
    ],
)
def test_each_other_servers_answer_is_told_with_a_fix_for_that_server(
    openai_server: OpenAIServer,
    make_config: MakeConfig,
    scenario: Scenario,
    call: Call,
    kind: FailureKind,
    summary: str,
    fix: str | None,
) -> None:
    openai_server.set(scenario)
    failure = failure_of(make_config(), call)
    host = f"127.0.0.1:{openai_server.port}"
    assert failure.kind is kind
    assert failure.summary == summary.format(host=host)
    if fix is not None:
        assert failure.fix == fix
    assert "openai.com" not in (failure.fix or "")
    assert f"{failure.status_code} {failure.status_code}" not in failure.summary  # "400 400"
    assert_no_key_in(failure)


@pytest.mark.parametrize("scenario", [Scenario.LITELLM_UNKNOWN_MODEL, Scenario.LITELLM_BUDGET])
def test_litellm_answers_carry_its_call_id_as_the_request_id(
    openai_server: OpenAIServer, make_config: MakeConfig, scenario: Scenario
) -> None:
    openai_server.set(scenario)
    failure = failure_of(make_config(), _chat())
    assert failure.server == "litellm"
    assert failure.request_id and len(failure.request_id) == 36  # a uuid, as LiteLLM sends


def test_azure_answers_carry_the_apim_request_id(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    openai_server.set(Scenario.AZURE_DEPLOYMENT_NOT_FOUND)
    failure = failure_of(make_config(), _chat())
    assert (failure.server, failure.error_code) == ("azure", "DeploymentNotFound")
    assert failure.request_id and len(failure.request_id) == 36


@pytest.mark.parametrize(
    ("scenario", "said"),
    [
        (Scenario.FASTAPI_NOT_FOUND, "Not Found"),
        (
            Scenario.PRISM_NOT_FOUND,
            "Route not resolved, no path matched: The route /v1/responses hasn't been found in "
            "the specification file",
        ),
    ],
)
def test_a_server_without_the_responses_api_says_so_and_offers_chat(
    openai_server: OpenAIServer, make_config: MakeConfig, scenario: Scenario, said: str
) -> None:
    openai_server.set(scenario, paths=("/v1/responses",))
    failure = failure_of(make_config(), _responses)
    url = f"{openai_server.base_url}/responses"
    assert failure.kind is FailureKind.NO_RESPONSES_API
    assert failure.summary == (
        f"the server at 127.0.0.1:{openai_server.port} has no Responses API (404 at {url}): {said}"
    )
    assert failure.fix == "use chat completions: --api-mode chat"


def test_another_missing_endpoint_under_v1_does_not_say_add_v1(
    openai_server: OpenAIServer, make_config: MakeConfig
) -> None:
    openai_server.set(Scenario.FASTAPI_NOT_FOUND, paths=("/v1/chat/completions",))
    failure = failure_of(make_config(), _chat())
    assert failure.kind is FailureKind.NOT_FOUND
    assert "/v1" not in (failure.fix or "").replace("OPENAI_BASE_URL", "")
    assert (
        failure.fix == "check that OPENAI_BASE_URL points at the OpenAI-compatible server you meant"
    )


@pytest.mark.parametrize(
    ("scenario", "kind", "summary", "fix"),
    [
        (
            Scenario.UNAUTHORIZED,
            FailureKind.INVALID_KEY,
            "the server at {host} refused the key (401): Incorrect API key provided",
            "use the key this server expects (from whoever runs it, or its configuration), then: "
            "chatenv configure-key",
        ),
        (
            Scenario.RATE_LIMIT,
            FailureKind.RATE_LIMITED,
            "rate limited by the server at {host} (429 rate_limit_exceeded); retry after 20 s: ",
            "wait and try again; the server at {host} sets the limits (its settings or its "
            "operator)",
        ),
        (
            Scenario.UNAVAILABLE,
            FailureKind.SERVER_ERROR,
            "the server at {host} failed (503): The engine is currently overloaded",
            "the server at {host}'s log (its terminal or service log) says why; then try again",
        ),
        (
            Scenario.FORBIDDEN,
            FailureKind.PERMISSION_DENIED,
            "the server at {host} does not let this key do this (403): ",
            "ask whoever runs the server at {host} to allow this key, or use a key that is allowed",
        ),
    ],
)
def test_401_429_403_and_5xx_from_a_server_that_is_not_openai_get_no_openai_page(
    openai_server: OpenAIServer,
    make_config: MakeConfig,
    scenario: Scenario,
    kind: FailureKind,
    summary: str,
    fix: str,
) -> None:
    """The same answers as OpenAI's, from a server that does not send OpenAI's headers: the
    fixes are the server's, not platform.openai.com's or status.openai.com's."""
    openai_server.set(scenario, as_openai=False)
    failure = failure_of(make_config())
    host = f"127.0.0.1:{openai_server.port}"
    assert failure.kind is kind
    assert failure.summary.startswith(summary.format(host=host))
    assert failure.fix == fix.format(host=host)
    assert failure.server == "other"


@pytest.mark.parametrize(
    ("url", "status", "body", "kind", "summary", "fix"),
    [
        # OpenRouter's documented error shape (openrouter.ai/docs, API errors): a numeric code
        (
            "https://openrouter.ai/api/v1/chat/completions",
            402,
            {"error": {"code": 402, "message": "Insufficient credits"}},
            FailureKind.INSUFFICIENT_QUOTA,
            "OpenRouter wants payment: the account has no credit left (402): Insufficient credits",
            "add credit to the account behind this key at OpenRouter, then try again",
        ),
        # Groq's 401 (console.groq.com/docs/errors): OpenAI's shape with its own wording
        (
            "https://api.groq.com/openai/v1/models",
            401,
            {
                "error": {
                    "message": "Invalid API Key",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
            FailureKind.INVALID_KEY,
            "Groq refused the key (401): Invalid API Key",
            "create a new key at https://console.groq.com/keys, then: chatenv configure-key",
        ),
        (
            "https://api.together.xyz/v1/chat/completions",
            503,
            {"error": {"message": "service unavailable", "type": "server_error"}},
            FailureKind.SERVER_ERROR,
            "Together AI failed (503): service unavailable",
            "try again in a minute; if it persists, Together AI may have an outage",
        ),
        (
            "https://my-res.openai.azure.com/openai/v1/chat/completions",
            429,
            {
                "error": {
                    "code": "429",
                    "message": "Requests to the ChatCompletions_Create Operation have exceeded "
                    "token rate limit of your current pricing tier.",
                }
            },
            FailureKind.RATE_LIMITED,
            "rate limited by Azure OpenAI (429): Requests to the ChatCompletions_Create Operation "
            "have exceeded token rate limit of your current pricing tier.",
            "wait and try again; a deployment's rate limit is raised in the Azure AI Foundry "
            "portal, under Deployments",
        ),
    ],
)
def test_hosted_apis_are_known_by_their_host(
    url: str, status: int, body: object, kind: FailureKind, summary: str, fix: str
) -> None:
    answer = HttpAnswer(status, url, {"content-type": "application/json"}, body)
    failure = classify_answer(answer)
    assert (failure.kind, failure.summary, failure.fix) == (kind, summary, fix)


def test_fastapi_validation_details_are_quoted() -> None:
    """FastAPI's own 422: `detail` is a list of {loc, msg, type}."""
    body = {"detail": [{"loc": ["body", "model"], "msg": "Field required", "type": "missing"}]}
    answer = HttpAnswer(422, "http://127.0.0.1:8000/v1/chat/completions", {}, body)
    assert classify_answer(answer).summary == (
        "the server refused the request (422): Field required"
    )
