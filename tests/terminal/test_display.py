"""What every command shows on a terminal, against what it prints to a pipe: NO_COLOR, a
60-column terminal, the C locale and a console that is not UTF-8 at all, and the same outcome
on a terminal as through pipes.

The commands run against the test OpenAI server with the test key where they need the API,
offline otherwise; `install api` is the no-op here (this environment satisfies the pins): a
real install at 60 columns is the slow test at the end.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from dotenv import dotenv_values
from rich.cells import cell_len

from tests.conftest import CHATENV
from tests.openai_server import TEST_KEY, Scenario
from tests.terminal.conftest import installed_version, wait_until
from tests.terminal.driver import colour_codes, strip_ansi, terminal_env
from tests.terminal.test_install import SPINNER, assert_live_display_was_shown_and_cleared

if TYPE_CHECKING:
    from pathlib import Path

    from tests.openai_server import OpenAIServer
    from tests.terminal.conftest import Spawn
    from tests.terminal.driver import Terminal


@dataclass(frozen=True)
class Command:
    args: tuple[str, ...]
    exit_code: int = 0
    #: typed at the hidden prompt on a terminal, piped on stdin otherwise
    key: str | None = None
    #: OPENAI_API_KEY in the environment
    key_in_env: bool = True
    #: its report has result marks (install's no-op is a plan; schema is JSON)
    marks: bool = True


COMMANDS = {
    "doctor": Command(("doctor", "--offline")),
    "install": Command(("install", "api"), marks=False),
    "configure-key": Command(("configure-key", "--no-verify"), key=TEST_KEY, key_in_env=False),
    "smoke-test": Command(("smoke-test", "--no-local")),
    "setup": Command(("setup", "api", "--no-local", "--offline", "--yes")),
    "schema": Command(("schema", "doctor"), marks=False),
}


def command_env(tmp_path: Path, server: OpenAIServer, cmd: Command, **extra: str | None) -> dict:
    return terminal_env(
        HOME=str(tmp_path),
        HF_HOME=str(tmp_path / "hf"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        GIT_CONFIG_NOSYSTEM="1",
        OPENAI_BASE_URL=server.base_url,
        OPENAI_API_KEY=TEST_KEY if cmd.key_in_env else None,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        **extra,
    )


def run_on_terminal(term: Spawn, cmd: Command, env: dict[str, str], cols: int) -> Terminal:
    terminal = term(list(cmd.args), env=env, cols=cols)
    if cmd.key is not None:
        terminal.expect("OpenAI API key (input hidden):")
        terminal.type_line(cmd.key)
    assert terminal.wait() == cmd.exit_code, strip_ansi(terminal.text)
    return terminal


def rows_too_wide(terminal: Terminal) -> list[str]:
    """Every row chatenv wrote (each frame of a live display too) wider than the terminal,
    except the two kinds it never breaks: a command to paste (fix:, the installer's command
    line and log) and a row that ends in one word longer than half the terminal (a path or a
    URL, kept whole so it copies whole)."""
    wide = []
    for line in strip_ansi(terminal.text).split("\n"):
        for row in line.split("\r"):
            if cell_len(row) <= terminal.cols:
                continue
            body = row.strip()
            if body.startswith(("fix:", "Installer:", "| ", "$ ")):
                continue
            if cell_len(body.split()[-1]) > terminal.cols // 2:
                continue
            wide.append(row)
    return wide


@pytest.mark.parametrize("name", [name for name in COMMANDS if name != "schema"])  # JSON
def test_no_color_at_60_columns_every_row_fits_and_nothing_is_left_behind(
    term: Spawn, tmp_path: Path, openai_server: OpenAIServer, name: str
) -> None:
    cmd = COMMANDS[name]
    env = command_env(tmp_path, openai_server, cmd, NO_COLOR="1")
    terminal = run_on_terminal(term, cmd, env, cols=60)
    assert colour_codes(bytes(terminal.output)) == []
    assert rows_too_wide(terminal) == []
    screen = terminal.screen_lines()
    assert not any(SPINNER.search(line) for line in screen), screen
    assert "Traceback" not in terminal.text


def test_without_no_color_a_terminal_gets_colour(
    term: Spawn, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """The other side of the NO_COLOR test: the same run in colour, so that test can fail."""
    cmd = COMMANDS["doctor"]
    terminal = run_on_terminal(term, cmd, command_env(tmp_path, openai_server, cmd), cols=60)
    assert b"\x1b[32m" in colour_codes(bytes(terminal.output))  # the green ✓


# Python coerces the C locale to C.UTF-8 (PEP 538) or turns on its UTF-8 mode (PEP 540), so
# LANG=C and LC_ALL=C still print UTF-8; with both switched off the console is ASCII, as on a
# machine whose locale really is C or POSIX.
ASCII_CONSOLE = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


@pytest.mark.parametrize("name", COMMANDS)
def test_an_ascii_console_gets_ascii_marks_and_no_encoding_error(
    term: Spawn, tmp_path: Path, openai_server: OpenAIServer, name: str
) -> None:
    cmd = COMMANDS[name]
    env = command_env(tmp_path, openai_server, cmd, **ASCII_CONSOLE)
    terminal = run_on_terminal(term, cmd, env, cols=100)
    raw = bytes(terminal.output)
    assert raw.isascii(), sorted({chr(b) for b in raw if b > 127})
    text = raw.decode()
    assert "Traceback" not in text and "UnicodeEncodeError" not in text
    if cmd.marks:
        assert re.search(r"^  ok ", strip_ansi(text).replace("\r", ""), re.MULTILINE), text


@pytest.mark.parametrize("locale", [{"LANG": "C"}, {"LC_ALL": "C"}])
@pytest.mark.parametrize("name", ["doctor", "smoke-test"])
def test_the_c_locale_still_shows_unicode_marks(
    term: Spawn, tmp_path: Path, openai_server: OpenAIServer, name: str, locale: dict[str, str]
) -> None:
    cmd = COMMANDS[name]
    env = command_env(tmp_path, openai_server, cmd, **{"LANG": None, **locale})
    terminal = run_on_terminal(term, cmd, env, cols=100)
    assert "✓" in terminal.text and "Traceback" not in terminal.text


# -- the same outcome on a terminal and through pipes --------------------------------------------

_VARYING = re.compile(r"\d+(?:\.\d+)? ?(?:ms|s)\b|\d+(?:\.\d+)? tokens/s|req_[0-9a-f]+")


def report_lines(text: str) -> list[str]:
    """A report's lines with what differs run to run (timings, request ids) blanked."""
    return [_VARYING.sub("X", line.rstrip()) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("name", COMMANDS)
def test_a_terminal_and_a_pipe_get_the_same_report_and_outcome(
    term: Spawn, tmp_path: Path, openai_server: OpenAIServer, name: str
) -> None:
    cmd = COMMANDS[name]
    (tmp_path / "tty").mkdir()
    (tmp_path / "pipe").mkdir()
    with (tmp_path / "stderr.txt").open("wb") as stderr:  # `2>stderr.txt`: the report alone
        on_terminal = term(
            list(cmd.args), cwd=tmp_path / "tty", env=command_env(tmp_path, openai_server, cmd),
            cols=300, stderr=stderr,
        )  # fmt: skip
        if cmd.key is not None:  # the prompt is on the terminal even so (/dev/tty)
            on_terminal.expect("OpenAI API key (input hidden):")
            on_terminal.type_line(cmd.key)
        assert on_terminal.wait() == cmd.exit_code, strip_ansi(on_terminal.text)
    piped = subprocess.run(
        [str(CHATENV), *cmd.args],
        cwd=tmp_path / "pipe",
        env=command_env(tmp_path, openai_server, cmd),
        input=cmd.key or "",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert piped.returncode == cmd.exit_code, piped.stderr
    terminal_report = [
        line.replace(str(tmp_path / "tty"), "DIR")
        for line in on_terminal.screen_lines()
        if not line.startswith("OpenAI API key (input hidden):")
    ]
    pipe_report = [line.replace(str(tmp_path / "pipe"), "DIR") for line in piped.stdout.split("\n")]
    if name == "schema":
        assert json.loads("\n".join(on_terminal.screen_lines())) == json.loads(piped.stdout)
    else:
        assert report_lines("\n".join(terminal_report)) == report_lines("\n".join(pipe_report))
    if cmd.key is not None:  # and the same file on disk
        assert dotenv_values(tmp_path / "tty" / ".env") == {"OPENAI_API_KEY": TEST_KEY}
        assert dotenv_values(tmp_path / "pipe" / ".env") == {"OPENAI_API_KEY": TEST_KEY}


# -- smoke-test's live progress ---------------------------------------------------------------


def test_smoke_tests_progress_at_60_columns_then_ctrl_c_during_the_api_call(
    term: Spawn, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """The API stage's spinner at 60 columns (the base URL makes its phase wider than the
    terminal), then Ctrl-C while the server holds the request: exit 130, the spinner gone."""
    cmd = COMMANDS["smoke-test"]
    env = command_env(tmp_path, openai_server, cmd)
    shown = run_on_terminal(term, cmd, env, cols=60)
    assert_live_display_was_shown_and_cleared(shown)
    assert rows_too_wide(shown) == []

    openai_server.set(Scenario.SLOW, slow_s=30)
    before = len(openai_server.requests)
    terminal = term(list(cmd.args), env=env, cols=60)
    wait_until(lambda: len(openai_server.requests) > before)  # held by the server
    terminal.ctrl_c()
    assert terminal.wait() == 130, strip_ansi(terminal.text)
    assert_live_display_was_shown_and_cleared(terminal)
    assert "error: interrupted" in terminal.screen_lines()


@pytest.mark.slow
def test_local_generation_on_a_terminal_shows_its_phases_and_the_text(
    term: Spawn, tmp_path: Path, tiny_model: Path, openai_server: OpenAIServer
) -> None:
    cmd = Command(("smoke-test", "--no-api", "--model", str(tiny_model), "--max-new-tokens", "5"))
    terminal = run_on_terminal(term, cmd, command_env(tmp_path, openai_server, cmd), cols=60)
    assert_live_display_was_shown_and_cleared(terminal)
    assert "generating 5 tokens" in terminal.text
    screen = terminal.screen_lines()
    assert screen[-1] == "2 ok, 0 warnings, 0 failed, 0 skipped"
    assert rows_too_wide(terminal) == []


@pytest.mark.slow
def test_a_real_install_at_60_columns_keeps_its_live_line_on_one_row(
    term: Spawn, pip_venv: Path, install_env: dict[str, str]
) -> None:
    args = ["install", "api", "--python", str(pip_venv), "--installer", "pip"]
    terminal = term(args, env={**install_env, "NO_COLOR": "1"}, cols=60)
    assert terminal.wait() == 0, strip_ansi(terminal.text)
    assert_live_display_was_shown_and_cleared(terminal)
    assert rows_too_wide(terminal) == []
    assert colour_codes(bytes(terminal.output)) == []
    assert installed_version(pip_venv, "openai") == "3.99.0"
