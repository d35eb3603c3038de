"""`chatenv configure-key --hf`: the Hugging Face token through the OpenAI key's store, as users
run it (the real console script in a subprocess, real files), verified against the hub
stand-in on 127.0.0.1 (HF_ENDPOINT; tests/smoke/fake_hub.py says where its answers come from).
Every run checks that the raw token reached neither stdout nor stderr."""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

from tests.conftest import CHATENV, clean_env
from tests.openai_server import closed_port
from tests.smoke.fake_hub import fake_hub

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.smoke.fake_hub import FakeHub

TOKEN = "hf_" + "c0nf1g" * 5 + "QwEr"
REVOKED = "hf_" + "st4leT" * 5 + "TyUi"
ENV_TOKEN = "hf_" + "3nvT0k" * 5 + "OpAs"
TOKENS = (TOKEN, REVOKED, ENV_TOKEN)
ORIGINAL = (
    "# shared team settings\n"
    "export OPENAI_API_KEY=sk-proj-keep-this-one-00000000 # personal key\n"
    'GREETING="hello # not a comment"\n'
    "\n"
    "LOG_LEVEL=debug\n"
)

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with fake_hub() as server:
        server.state.add_user(TOKEN, "alice", token_name="laptop", role="read")
        yield server


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / ".env"
    path.write_text(ORIGINAL)
    path.chmod(0o600)
    return path


@pytest.fixture
def configure(tmp_path: Path, hub: FakeHub) -> Run:
    home = tmp_path / "home"
    home.mkdir()

    def run(*args: str, token: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        environ = clean_env(
            HOME=str(home),
            HF_HOME=str(tmp_path / "hf"),
            HF_ENDPOINT=env.pop("HF_ENDPOINT", hub.endpoint),
            NO_PROXY="127.0.0.1",
            no_proxy="127.0.0.1",
            GIT_CONFIG_NOSYSTEM="1",
            **env,
        )
        done = subprocess.run(
            [str(CHATENV), "configure-key", *args],
            input=token,
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        for raw in TOKENS:
            assert raw not in done.stdout + done.stderr, "a raw token was printed"
        assert "Traceback" not in done.stdout + done.stderr
        return done

    return run


def _schema() -> dict[str, Any]:
    from chatenv.schemas import schema_text

    return dict(json.loads(schema_text("configure-key")))


def test_the_token_is_verified_with_whoami_and_stored_keeping_every_other_line(
    configure: Run, env_file: Path, hub: FakeHub
) -> None:
    done = configure("--hf", "--no-gitignore", token=f"  {TOKEN}\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert env_file.read_text() == ORIGINAL + f"HF_TOKEN={TOKEN}\n"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "hf_…QwEr (Hugging Face token)" in done.stdout
    assert f"token accepted by {hub.endpoint}: alice (token 'laptop', read)" in done.stdout
    assert "HF_TOKEN=hf_…QwEr (added)" in done.stdout
    assert hub.state.requests == [("GET", "/api/whoami-v2")]
    assert hub.state.tokens == [TOKEN]


def test_a_pasted_hf_token_line_is_taken_apart_and_replaces_the_old_one(
    configure: Run, env_file: Path
) -> None:
    env_file.write_text(ORIGINAL + "HF_TOKEN=hf_old_one_000000000000000000000000000\n")
    done = configure("--hf", "--no-gitignore", token=f"export HF_TOKEN={TOKEN}\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "took the key from the pasted HF_TOKEN=... line" in done.stderr
    assert env_file.read_text() == ORIGINAL + f"HF_TOKEN={TOKEN}\n"
    assert "replaced line 6" in done.stdout


def test_json_has_the_documented_shape(configure: Run, env_file: Path, hub: FakeHub) -> None:
    done = configure("--hf", "--json", "--no-gitignore", token=TOKEN)
    document = json.loads(done.stdout)
    jsonschema.validate(document, _schema())
    assert document["variable"] == "HF_TOKEN"
    assert document["variables"] == {"HF_TOKEN": "hf_…QwEr"}
    verification = document["verification"]
    assert (verification["outcome"], verification["base_url"]) == ("valid", hub.endpoint)
    assert verification["whoami"]["user"] == "alice"


def test_a_revoked_token_is_not_saved_unless_save_anyway(configure: Run, env_file: Path) -> None:
    done = configure("--hf", "--no-gitignore", token=REVOKED)
    assert done.returncode == 1
    assert env_file.read_text() == ORIGINAL
    assert "token refused by" in done.stdout
    assert "Invalid credentials in Authorization header (not saved)" in done.stdout
    assert "/settings/tokens, then: chatenv configure-key --hf" in done.stdout
    anyway = configure("--hf", "--no-gitignore", "--save-anyway", token=REVOKED)
    assert anyway.returncode == 1
    assert env_file.read_text() == ORIGINAL + f"HF_TOKEN={REVOKED}\n"
    assert "(saved anyway)" in anyway.stdout


def test_an_unreachable_hub_saves_unverified_but_not_with_verify(
    configure: Run, env_file: Path
) -> None:
    closed = f"http://127.0.0.1:{closed_port()}"
    strict = configure("--hf", "--verify", "--no-gitignore", token=TOKEN, HF_ENDPOINT=closed)
    assert strict.returncode == 1
    assert env_file.read_text() == ORIGINAL
    assert f"could not verify the token with {closed}: connection refused (not saved)" in (
        strict.stdout
    )
    default = configure("--hf", "--no-gitignore", token=TOKEN, HF_ENDPOINT=closed)
    assert default.returncode == 0
    assert "saved without verification" in default.stdout
    assert env_file.read_text().endswith(f"HF_TOKEN={TOKEN}\n")


def test_a_different_hf_token_in_the_environment_is_reported_as_overriding(
    configure: Run, env_file: Path
) -> None:
    done = configure("--hf", "--no-gitignore", token=TOKEN, HF_TOKEN=ENV_TOKEN)
    assert done.returncode == 0
    assert "HF_TOKEN is also set in this shell's environment (hf_…OpAs)" in done.stdout
    assert "overrides the file for huggingface_hub" in done.stdout


def test_a_token_of_another_shape_warns_and_is_kept_if_the_hub_accepts_it(
    configure: Run, env_file: Path, hub: FakeHub
) -> None:
    odd = "oauth-style-token-0123456789abcdef"
    hub.state.add_user(odd, "carol")
    done = configure("--hf", "--no-gitignore", token=odd)
    assert done.returncode == 0
    assert "does not look like a Hugging Face token (they start with hf_)" in done.stdout
    assert env_file.read_text().endswith(f"HF_TOKEN={odd}\n")


def test_openai_settings_with_hf_are_a_usage_error(configure: Run, env_file: Path) -> None:
    done = configure("--hf", "--base-url", "http://localhost:8000/v1", token=TOKEN)
    assert done.returncode == 2
    assert "--hf stores the Hugging Face token only; drop --base-url" in done.stderr
    assert env_file.read_text() == ORIGINAL


def test_show_hf_says_where_the_token_comes_from_and_what_it_hides(
    configure: Run, env_file: Path
) -> None:
    configure("--hf", "--no-gitignore", token=TOKEN)
    from_file = configure("--show", "--hf")
    assert from_file.returncode == 0
    assert f"HF_TOKEN=hf_…QwEr from HF_TOKEN in {env_file}" in from_file.stdout
    both = configure("--show", "--hf", "--json", HF_TOKEN=ENV_TOKEN)
    document = json.loads(both.stdout)
    jsonschema.validate(document, _schema())
    assert document["key"] == {"masked": "hf_…OpAs", "source": "environment", "name": "HF_TOKEN"}
    [conflict] = [r for r in document["results"] if r["id"] == "key-conflict"]
    assert "holds another token (hf_…QwEr)" in conflict["summary"]


def test_show_hf_without_any_token_fails_with_the_fix(configure: Run, env_file: Path) -> None:
    done = configure("--show", "--hf")
    assert done.returncode == 1
    assert "no Hugging Face token: no HF_TOKEN in the environment" in done.stdout
    assert "chatenv configure-key --hf" in done.stdout
