"""Off a terminal no command waits for input: stdin from /dev/null, and from a pipe nobody writes
to (what a CI runner or `ssh host cmd` can hand a process). Each run must end on its own, well
inside the timeout, and where chatenv would have asked, it says in one line what to set instead.
(setup: tests/test_setup_cli.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

from tests.conftest import CHATENV, server_env
from tests.openai_server import TEST_KEY

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.openai_server import OpenAIServer

KEY = "sk-proj-" + "N0Term1nal" * 5 + "Nt77"


@pytest.fixture(params=["devnull", "open-pipe"])
def stdin(request: pytest.FixtureRequest) -> Iterator[int]:
    """The child's stdin: /dev/null, or the read end of a pipe whose write end stays open (and
    silent) until the child has finished."""
    if request.param == "devnull":
        fd = os.open(os.devnull, os.O_RDONLY)
        yield fd
        os.close(fd)
        return
    read_end, write_end = os.pipe()
    yield read_end
    os.close(read_end)
    os.close(write_end)


def run(
    args: list[str], stdin: int, cwd: Path, env: dict[str, str], timeout: float = 90
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [str(CHATENV), *args],
        stdin=stdin,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in done.stderr
    return done, time.monotonic() - started


def env_for(tmp_path: Path, server: OpenAIServer, **extra: str) -> dict[str, str]:
    return server_env(tmp_path, server, **{"CHATENV_STDIN_TIMEOUT": "1", **extra})


@pytest.mark.parametrize(
    "args",
    [
        ["doctor", "--offline"],
        ["install", "api"],
        ["configure-key", "--show"],
        ["smoke-test", "--no-local"],
        ["schema", "doctor"],
    ],
)
def test_commands_that_never_read_stdin_finish_whatever_it_is(
    stdin: int, tmp_path: Path, openai_server: OpenAIServer, args: list[str]
) -> None:
    env = env_for(tmp_path, openai_server, OPENAI_API_KEY=TEST_KEY)
    done, _ = run(args, stdin, tmp_path, env)
    assert done.returncode == 0, done.stderr


def test_configure_key_with_nothing_on_stdin_says_how_to_give_the_key(
    stdin: int, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    done, took = run(["configure-key"], stdin, tmp_path, env_for(tmp_path, openai_server))
    assert done.returncode == 2
    error, fix = done.stderr.splitlines()[:2]
    assert error in (
        "error: no key on stdin: the input was empty",  # /dev/null: end of input at once
        "error: nothing arrived on stdin within 1 s (it is a pipe nobody writes to)",
    )
    assert 'printf %s "$OPENAI_API_KEY" | chatenv configure-key' in fix
    assert took < 30
    assert not (tmp_path / ".env").exists()


def test_a_piped_key_in_a_git_work_tree_is_saved_without_the_gitignore_question(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    done = subprocess.run(
        [str(CHATENV), "configure-key", "--no-verify", "--json"],
        input=KEY,
        cwd=tmp_path,
        env=env_for(tmp_path, openai_server),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    [git] = [r for r in doc["results"] if r["id"] == "git"]
    assert git["status"] == "warn"
    assert git["fix"].endswith("(or run again with --gitignore)")
    assert not (tmp_path / ".gitignore").exists()
    assert KEY not in done.stdout + done.stderr


def test_a_slow_key_source_can_be_given_longer(tmp_path: Path, openai_server: OpenAIServer) -> None:
    """A password manager that asks for its passphrase first: the key arrives after a while."""
    child = subprocess.Popen(
        [str(CHATENV), "configure-key", "--no-verify"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env_for(tmp_path, openai_server, CHATENV_STDIN_TIMEOUT="20"),
        text=True,
    )
    time.sleep(1.5)  # longer than the default's test setting above, shorter than 20 s
    out, err = child.communicate(KEY, timeout=60)
    assert child.returncode == 0, err
    assert (tmp_path / ".env").read_text().strip() == f"OPENAI_API_KEY={KEY}"
    assert KEY not in out + err


def test_a_model_that_wants_to_run_its_own_code_fails_at_once_instead_of_asking(
    stdin: int, tmp_path: Path, tiny_model: Path, openai_server: OpenAIServer
) -> None:
    """Left to itself transformers would print a question to stdout and wait 15 s for y/N."""
    model = tmp_path / "custom-model"
    model.mkdir()
    for item in tiny_model.iterdir():
        (model / item.name).write_bytes(item.read_bytes())
    config = json.loads((model / "config.json").read_text())
    config["model_type"] = "chatenv-custom"
    config["auto_map"] = {
        "AutoConfig": "configuration_custom.CustomConfig",
        "AutoModelForCausalLM": "modeling_custom.CustomModel",
    }
    (model / "config.json").write_text(json.dumps(config))
    for name in ("configuration_custom.py", "modeling_custom.py"):
        (model / name).write_text("raise SystemExit('the model's own code ran')\n")
    done, took = run(
        ["smoke-test", "--no-api", "--model", str(model), "--json"],
        stdin,
        tmp_path,
        env_for(tmp_path, openai_server),
    )
    assert done.returncode == 1
    [load] = json.loads(done.stdout)["results"]
    assert load["id"] == "local.load" and "trust_remote_code" in load["summary"]
    assert took < 18  # the question alone would hold it 15 s
