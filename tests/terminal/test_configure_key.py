"""`chatenv configure-key` at a terminal: the hidden prompt, the .gitignore question, Ctrl-C
at each of them and while the key is verified (the test OpenAI server on 127.0.0.1)."""

from __future__ import annotations

import stat
import termios
from typing import TYPE_CHECKING

import pytest
from dotenv import dotenv_values

from tests.openai_server import TEST_KEY, Scenario
from tests.terminal.conftest import git_init, wait_until
from tests.terminal.driver import CTRL_C, terminal_env

if TYPE_CHECKING:
    from pathlib import Path

    from tests.openai_server import OpenAIServer
    from tests.terminal.conftest import Spawn
    from tests.terminal.driver import Terminal

PROMPT = "OpenAI API key (input hidden):"
QUESTION = "add '.env' to"


def key_env(tmp_path: Path, server: OpenAIServer, **overrides: str | None) -> dict[str, str]:
    return terminal_env(
        HOME=str(tmp_path),
        GIT_CONFIG_NOSYSTEM="1",
        OPENAI_BASE_URL=server.base_url,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        **overrides,
    )


def assert_key_never_shown(terminal: Terminal, key: str = TEST_KEY) -> None:
    """Byte-checked: neither the key nor any 10 characters in a row of its secret part
    (between the kind prefix and the last four, which the mask shows) reached the terminal."""
    screen = bytes(terminal.output)
    assert key.encode() not in screen
    body = key[len("sk-proj-") : -4]
    runs = {body[i : i + 10] for i in range(len(body) - 9)}
    leaked = {run for run in runs if run.encode() in screen}
    assert not leaked, f"parts of the key on screen: {sorted(leaked)}"


def assert_echo_is_on(terminal: Terminal) -> None:
    """The terminal is left as it was found: getpass turned echo off and must turn it back on
    (the leader side of a Linux pty reports the terminal's settings)."""
    lflag = termios.tcgetattr(terminal.leader)[3]
    assert lflag & termios.ECHO, "the terminal was left with echo off"


@pytest.mark.parametrize(
    ("answer", "added"), [(b"y", True), (b"n", False), (b"", True), (b"maybe\rn", False)]
)
def test_typed_key_is_hidden_then_the_gitignore_question_is_answered(
    term: Spawn, tmp_path: Path, openai_server: OpenAIServer, answer: bytes, added: bool
) -> None:
    repo = git_init(tmp_path / "repo")
    terminal = term(["configure-key"], cwd=repo, env=key_env(tmp_path, openai_server))
    at = terminal.expect(PROMPT)
    terminal.type_line(TEST_KEY)
    at = terminal.expect(f"{QUESTION} {repo / '.gitignore'}? [Y/n]:", after=at)
    terminal.send(answer + b"\r")
    assert terminal.wait() == 0, terminal.text
    assert_key_never_shown(terminal)
    assert_echo_is_on(terminal)
    screen = "\n".join(terminal.screen_lines())
    assert "sk-proj-…Zq9w" in screen
    assert ("answer y or n (Enter: yes)" in screen) == answer.startswith(b"maybe")  # asked again
    assert dotenv_values(repo / ".env") == {"OPENAI_API_KEY": TEST_KEY}
    assert stat.S_IMODE((repo / ".env").stat().st_mode) == 0o600
    gitignore = repo / ".gitignore"
    if added:
        assert gitignore.read_text().splitlines()[-1] == ".env"
    else:
        assert not gitignore.exists()
        assert "--gitignore" in screen  # the warning names the way to add it later


def test_ctrl_c_at_the_hidden_prompt_exits_130_writes_nothing_and_restores_echo(
    term: Spawn, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=debug\n")
    terminal = term(["configure-key"], env=key_env(tmp_path, openai_server))
    terminal.expect(PROMPT)
    terminal.send(TEST_KEY[:20].encode())  # half typed
    terminal.send(CTRL_C)
    assert terminal.wait() == 130, terminal.text
    assert_echo_is_on(terminal)
    screen = terminal.screen_lines()
    assert "error: interrupted: nothing was written" in screen
    assert "Traceback" not in terminal.text
    assert (tmp_path / ".env").read_text() == "LOG_LEVEL=debug\n"
    assert openai_server.requests == []


def test_end_of_input_at_the_hidden_prompt_is_no_key_and_exit_2(
    term: Spawn, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    terminal = term(["configure-key"], env=key_env(tmp_path, openai_server))
    terminal.expect(PROMPT)
    terminal.send(b"\x04")  # Ctrl-D
    assert terminal.wait() == 2, terminal.text
    assert any(line.startswith("error: no key entered") for line in terminal.screen_lines())
    assert not (tmp_path / ".env").exists()


def test_ctrl_c_at_the_gitignore_question_exits_130_and_writes_nothing(
    term: Spawn, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    repo = git_init(tmp_path / "repo")
    terminal = term(["configure-key"], cwd=repo, env=key_env(tmp_path, openai_server))
    at = terminal.expect(PROMPT)
    terminal.type_line(TEST_KEY)
    terminal.expect(QUESTION, after=at)
    terminal.ctrl_c()
    assert terminal.wait() == 130, terminal.text
    assert "error: interrupted: nothing was written" in terminal.screen_lines()
    assert not (repo / ".env").exists() and not (repo / ".gitignore").exists()
    assert_key_never_shown(terminal)


def test_ctrl_c_while_the_key_is_verified_exits_130_and_writes_nothing(
    term: Spawn, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.set(Scenario.SLOW, slow_s=30)
    terminal = term(["configure-key"], env=key_env(tmp_path, openai_server))
    at = terminal.expect(PROMPT)
    terminal.type_line(TEST_KEY)
    terminal.expect("verifying the key with", after=at)
    wait_until(lambda: openai_server.requests)  # the request is at the server, unanswered
    terminal.ctrl_c()
    assert terminal.wait() == 130, terminal.text
    assert "error: interrupted: nothing was written" in terminal.screen_lines()
    assert not (tmp_path / ".env").exists()
    assert_key_never_shown(terminal)
