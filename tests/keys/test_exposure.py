"""The secret scan: every command that touches a secret, run as users run it (the real
`chatenv` in a subprocess), in every output format, with secrets in every place the trial
found them printed; stdout and stderr are searched for each secret and for any 12-character
piece of it.

Secrets: an OpenAI-shaped key, a 4-character key (a local server's), a password, a token as
the user name and an `?api-key=` value in OPENAI_BASE_URL, a Hugging Face token (`hf_...`), and
keys pasted as arguments. The server (`EchoServer`) is as indiscreet as they come: its 401
echoes the key without its `sk-proj-` prefix, its 404 echoes the whole request URL, and as a
Hugging Face hub (HF_ENDPOINT) its 401 echoes the token without its `hf_` prefix in
X-Error-Message and the body, where huggingface_hub and chatenv read the hub's words."""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest

from tests.conftest import CHATENV, clean_env

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

LONG_KEY = "sk-proj-" + "Xq7Lm2Np9Rt4" * 5 + "Zz81"
SHORT_KEY = "tk5x"
PASSWORD = "PassW0rd-5e6f7a"
TOKEN_USER = "ghtok0123456789abcdefXYZ"
QUERY_SECRET = "QuerySecret-8899aa"
HF_TOKEN = "hf_" + "Wq8Lp3Zx" * 4 + "Mn"
#: httpx sends a URL's user:password as Basic auth, which a server may echo
BASIC = [base64.b64encode(p.encode()).decode() for p in (f"user:{PASSWORD}", f"{TOKEN_USER}:")]
SECRETS = (
    LONG_KEY,
    LONG_KEY.removeprefix("sk-proj-"),
    PASSWORD,
    TOKEN_USER,
    QUERY_SECRET,
    *BASIC,
    HF_TOKEN,
    HF_TOKEN.removeprefix("hf_"),
)
#: the outputs: text (plain and --verbose), JSON, Markdown
OUTPUTS = (["--format", "text"], ["--format", "text", "-v"], ["--json"], ["--format", "markdown"])
#: how many chatenv runs the scan made (printed at the end of the slow test, for the report)
RUNS: list[str] = []


def leaked(output: str) -> list[str]:
    """Each secret, or 12-character piece of one, found in `output`; the short key where it
    stands as a word."""
    found = []
    for secret in SECRETS:
        pieces = {secret[i : i + 12] for i in range(len(secret) - 11)} or {secret}
        found += [f"{secret[:6]}… piece {p!r}" for p in sorted(pieces) if p in output]
    words = output.replace("'", " ").replace('"', " ").replace(":", " ").split()
    if SHORT_KEY in (w.strip(".,;()") for w in words):
        found.append("the short key")
    return found


class _Echo(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        key = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        headers = {}
        if self.path.startswith("/api/"):  # as a Hugging Face hub
            echoed = key.removeprefix("hf_")
            message = f"Invalid credentials in Authorization header: {echoed} on {self.path}"
            body: dict[str, object] = {"error": message}
            headers["X-Error-Message"] = message
            status = 401
        elif "/models" in self.path or "/chat/completions" in self.path:
            echoed = key.removeprefix("sk-proj-")
            body = {
                "error": {
                    "message": f"Incorrect API key provided: {echoed}. Path {self.path}",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            }
            status = 401
        else:
            body = {"error": {"message": f"Not found: {self.path}", "type": "not_found"}}
            status = 404
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def echo_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def base_urls(port: int) -> dict[str, str]:
    host = f"127.0.0.1:{port}"
    return {
        "plain": f"http://{host}/v1",
        "password": f"http://user:{PASSWORD}@{host}/v1",
        "token-user": f"http://{TOKEN_USER}@{host}/v1",
        "query": f"http://{host}/v1?api-key={QUERY_SECRET}",
        "wrong-path": f"http://user:{PASSWORD}@{host}/nothing-here?token={QUERY_SECRET}",
    }


def run(args: list[str], tmp_path: Path, *, stdin: str = "", **env: str) -> str:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    done = subprocess.run(
        [str(CHATENV), *args],
        input=stdin,
        cwd=tmp_path,
        env=clean_env(HOME=str(home), NO_PROXY="127.0.0.1", no_proxy="127.0.0.1", **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    RUNS.append(" ".join(args))
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    return output


# -- the fast tier: one run per kind of secret ----------------------------------------------


def test_a_password_in_the_base_url_is_masked_by_doctor(tmp_path: Path, echo_port: int) -> None:
    url = base_urls(echo_port)["password"]
    (tmp_path / ".env").write_text(f"OPENAI_BASE_URL={url}\nOPENAI_API_KEY={LONG_KEY}\n")
    for args in (["doctor", "--offline", "--verbose"], ["doctor", "--offline", "--json"]):
        output = run(args, tmp_path)
        assert leaked(output) == []
        assert "user:***@127.0.0.1" in output


def test_a_prefixless_echo_and_the_base_url_are_masked_by_configure_key(
    tmp_path: Path, echo_port: int
) -> None:
    url = base_urls(echo_port)["plain"]
    output = run(
        ["configure-key", "--base-url", url, "--json", "--no-gitignore"], tmp_path, stdin=LONG_KEY
    )
    assert leaked(output) == []
    assert "Incorrect API key provided: sk-proj-…Zz81" in output


def test_a_password_in_the_base_url_and_its_basic_auth_echo_are_masked(
    tmp_path: Path, echo_port: int
) -> None:
    """httpx turns the URL's user:password into `Authorization: Basic ...` (instead of the
    key), and this server echoes it: the base64 form is a secret too."""
    url = base_urls(echo_port)["password"]
    output = run(["configure-key", "--base-url", url, "--no-gitignore"], tmp_path, stdin=LONG_KEY)
    assert leaked(output) == []
    assert f"http://user:***@127.0.0.1:{echo_port}/v1" in output
    assert "Incorrect API key provided: Basic …" in output


def test_a_secret_query_value_in_the_base_url_is_masked(tmp_path: Path, echo_port: int) -> None:
    url = base_urls(echo_port)["query"]
    output = run(["configure-key", "--base-url", url, "--no-gitignore"], tmp_path, stdin=LONG_KEY)
    assert leaked(output) == []
    assert "api-key=***" in output


def test_a_short_key_echoed_by_the_server_is_masked(tmp_path: Path, echo_port: int) -> None:
    url = base_urls(echo_port)["plain"]
    output = run(["configure-key", "--base-url", url, "--no-gitignore"], tmp_path, stdin=SHORT_KEY)
    assert leaked(output) == []
    assert "Incorrect API key provided: …" in output


def test_a_hugging_face_token_echoed_by_the_hub_is_masked_everywhere(
    tmp_path: Path, echo_port: int
) -> None:
    """doctor (the token from the environment, then from .env), configure-key --hf and
    --show --hf, against a hub that echoes the token without its hf_ prefix."""
    hub = f"http://127.0.0.1:{echo_port}"
    env = {"HF_ENDPOINT": hub, "HF_HOME": str(tmp_path / "hf")}
    outputs = [
        run(["doctor", "--model", "org/gated", "-v"], tmp_path, HF_TOKEN=HF_TOKEN, **env),
        run(["configure-key", "--hf", "--no-gitignore", "-v"], tmp_path, stdin=HF_TOKEN, **env),
        run(["configure-key", "--hf", "--save-anyway", "--json"], tmp_path, stdin=HF_TOKEN, **env),
        run(["doctor", "--model", "org/gated", "--json"], tmp_path, **env),
        run(["configure-key", "--show", "--hf", "--json"], tmp_path, **env),
    ]
    for output in outputs:
        assert leaked(output) == []
    assert "Invalid credentials in Authorization header: hf_…" in outputs[0]
    assert (tmp_path / ".env").read_text() == f"HF_TOKEN={HF_TOKEN}\n"


USAGE_ERRORS = [
    ["configure-key", LONG_KEY],
    ["configure-key", "--env-file", ".env", LONG_KEY],
    ["configure-key", f"--format={LONG_KEY}"],
    ["doctor", LONG_KEY],
    ["doctor", "--format", LONG_KEY],
    ["doctor", "--env-file", LONG_KEY],
    ["smoke-test", LONG_KEY],
    ["smoke-test", "--api-model", LONG_KEY],
    ["install", "--torch", LONG_KEY],
    ["setup", LONG_KEY],
    [LONG_KEY],
    ["schema", LONG_KEY],
    ["doctor", HF_TOKEN],
    ["configure-key", "--hf", HF_TOKEN],
    ["smoke-test", "--model", HF_TOKEN],
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=range(len(USAGE_ERRORS)))
def test_a_key_pasted_as_an_argument_is_never_echoed(tmp_path: Path, args: list[str]) -> None:
    output = run(args, tmp_path)
    assert leaked(output) == []
    kind = "a Hugging Face token" if HF_TOKEN in args else "an API key"
    assert f"looks like {kind}" in output and "pipe it in instead" in output


def test_the_key_of_the_environment_pasted_as_an_argument_is_refused(tmp_path: Path) -> None:
    """Not OpenAI-shaped, but the value of $OPENAI_API_KEY: still a key."""
    output = run(["doctor", "vllm-token-0123"], tmp_path, OPENAI_API_KEY="vllm-token-0123")
    assert "vllm-token-0123" not in output and "looks like an API key" in output


def test_the_token_of_the_environment_pasted_as_an_argument_is_refused(tmp_path: Path) -> None:
    output = run(["doctor", "tok-0123456789"], tmp_path, HF_TOKEN="tok-0123456789")
    assert "tok-0123456789" not in output and "looks like a Hugging Face token" in output


def test_configure_keys_own_key_option_still_takes_the_key(tmp_path: Path) -> None:
    output = run(["configure-key", "--no-verify", "--no-gitignore", "--key", LONG_KEY], tmp_path)
    assert leaked(output) == [] and "--key puts the key in your shell history" in output
    assert (tmp_path / ".env").read_text() == f"OPENAI_API_KEY={LONG_KEY}\n"


# -- the slow tier: the whole matrix ---------------------------------------------------------


@pytest.mark.slow
def test_no_secret_reaches_any_output_of_any_command(tmp_path: Path, echo_port: int) -> None:
    """configure-key (write and --show) in every output format, and the short key, --show
    from the environment, doctor and smoke-test in text --verbose and JSON; each base URL; then
    configure-key --hf and doctor with the Hugging Face token, in every output format."""
    outputs: dict[str, str] = {}
    urls = base_urls(echo_port)
    every, two = OUTPUTS, (OUTPUTS[1], OUTPUTS[2])
    for (name, url), (n, fmt) in itertools.product(urls.items(), enumerate(OUTPUTS)):
        folder = tmp_path / f"{name}-{n}"
        folder.mkdir()
        (folder / ".env").write_text(f"OPENAI_BASE_URL={url}\nOPENAI_API_KEY={LONG_KEY}\n")
        for args, stdin, env, formats in (
            (["configure-key", "--base-url", url, "--no-gitignore"], LONG_KEY, {}, every),
            (["configure-key", "--show"], "", {}, every),
            (["configure-key", "--base-url", url, "--no-gitignore"], SHORT_KEY, {}, two),
            (["configure-key", "--show"], "", {"OPENAI_BASE_URL": url}, two),
            (["doctor", "--offline"], "", {}, two),
            (
                ["smoke-test", "--no-local", "--timeout", "5"],
                "",
                {"OPENAI_API_KEY": SHORT_KEY},
                two,
            ),
        ):
            if fmt not in formats:
                continue
            output = run([*args, *fmt], folder, stdin=stdin, **env)
            outputs[f"{' '.join(args)} {' '.join(fmt)} {name} {env} {stdin[:3]}"] = output
    # the Hugging Face token: configure-key --hf (the echoing hub) and doctor, every format
    hub = {"HF_ENDPOINT": f"http://127.0.0.1:{echo_port}", "HF_HOME": str(tmp_path / "hf")}
    for n, fmt in enumerate(OUTPUTS):
        folder = tmp_path / f"hf-{n}"
        folder.mkdir()
        for args, stdin, env in (
            (["configure-key", "--hf", "--save-anyway", "--no-gitignore"], HF_TOKEN, hub),
            (["doctor", "--model", "org/gated"], "", {**hub, "HF_TOKEN": HF_TOKEN}),
        ):
            outputs[f"{' '.join(args)} {' '.join(fmt)}"] = run(
                [*args, *fmt], folder, stdin=stdin, **env
            )
    found = {run_: leaked(text) for run_, text in outputs.items() if leaked(text)}
    assert found == {}
    assert len(outputs) == 88
    print(f"secret scan: {len(outputs)} runs, {len(SECRETS) + 1} secrets, none exposed")
