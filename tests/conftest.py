"""Shared test fixtures: running the real `chatenv` entry point, and the expensive real things
(built once per session)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.openai_server import OpenAIServer

# A shell starts a background job (`pytest &`, a detached CI step) with SIGINT ignored, and an
# ignored signal stays ignored across exec: every chatenv the suite starts would then shrug off
# the Ctrl-C the terminal tests type, and wait at its prompt for ever. A handler (unlike SIG_IGN)
# is reset by exec, so the children start with SIGINT's default, as from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

REPO = Path(__file__).resolve().parents[1]
CHATENV = Path(sys.executable).with_name("chatenv")

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def clean_env(**overrides: str | None) -> dict[str, str]:
    """This process's environment without anything that would make a test depend on the
    machine's own OpenAI or Hugging Face settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "HF_", "HUGGING_FACE_", "TRANSFORMERS_", "GITHUB_"))
    }
    env.update({"NO_COLOR": "1", "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"})
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def server_env(tmp_path: Path, server: OpenAIServer, **overrides: str | None) -> dict[str, str]:
    """`clean_env` for a command that talks to the test server: OPENAI_BASE_URL at it, the proxy
    bypassed for it, and HOME, the Hugging Face cache and git's system config kept out of the
    machine's own."""
    return clean_env(
        **{
            "HF_HOME": str(tmp_path / "hf"),
            "HOME": str(tmp_path),
            "OPENAI_BASE_URL": server.base_url,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "GIT_CONFIG_NOSYSTEM": "1",
            **overrides,
        }
    )


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """Run the installed `chatenv` console script in a subprocess, in tmp_path by default."""

    def run(
        *args: str,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CHATENV), *args],
            cwd=cwd or tmp_path,
            env=dict(env) if env is not None else clean_env(),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


# -- the OpenAI-compatible server (tests/openai_server.py) ------------------------------------


@pytest.fixture(scope="session")
def _openai_server_session() -> Iterator[OpenAIServer]:
    server = OpenAIServer().start()
    yield server
    server.close()


@pytest.fixture
def openai_server(_openai_server_session: OpenAIServer) -> Iterator[OpenAIServer]:
    """The session's OpenAI-compatible server on 127.0.0.1, answering normally for TEST_KEY.

    Its URL is `openai_server.base_url` ("http://127.0.0.1:PORT/v1"); a test changes what it
    answers with `openai_server.set(Scenario.X)`. Reset before and after every test."""
    _openai_server_session.reset()
    yield _openai_server_session
    _openai_server_session.reset()
    assert _openai_server_session.errors == [], "the test OpenAI server itself failed"


# -- the tiny GPT-2 (tests/tiny_model.py) ----------------------------------------------------


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random GPT-2 and its tokenizer, saved to a folder once per test run (see
    tests/tiny_model.py); the smoke tests load it by path as `gpt2` is loaded by id."""
    from tests.tiny_model import build_tiny_gpt2

    return build_tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2"))


IMPORT_PROBE = (
    "import json, sys\n"
    "modules, args = json.loads(sys.argv[1]), sys.argv[2:]\n"
    "sys.argv = ['chatenv', *args]\n"
    "try:\n"
    "    if args[:1] == ['doctor']:\n"
    "        from chatenv.cli.doctor_fast import run_fast\n"
    "        run_fast(args[1:])  # exits when it takes the line; else Typer parses it\n"
    "    from chatenv.cli import main\n"
    "    main()\n"
    "except SystemExit as exc:\n"
    "    code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)\n"
    "else:\n"
    "    code = 0\n"
    "print(json.dumps({m: m in sys.modules for m in modules}), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def fresh_python(code: str) -> str:
    """What `code` prints, run in a fresh interpreter (what a module imports there is what a
    user's first import costs); a failure raises with its stderr."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout


def imported_by(
    args: list[str], modules: tuple[str, ...], env: dict[str, str]
) -> tuple[dict[str, bool], subprocess.CompletedProcess[str]]:
    """Which of `modules` a real `chatenv ARGS` run has imported when it is done, in any
    thread. doctor's console script ends with os._exit once its output is flushed, so the
    probe runs doctor's fast path itself (`run_fast`, what `chatenv.cli.main` calls) and then
    looks; every other command goes through `main`."""
    import json

    done = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, json.dumps(modules), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    return {m: bool(loaded[m]) for m in modules}, done
