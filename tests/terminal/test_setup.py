"""`chatenv setup` at a terminal: every question it asks (install's plan, the hidden key
prompt, the .gitignore entry), the live install progress between them, `--yes` asking nothing,
and Ctrl-C at each question and during the install: exit 130, the summary says where it
stopped, and the disk shows exactly that.

Runs that install use another virtualenv's `python -m chatenv` (its site-packages first, this
test environment's after it: tests/test_setup_cli.py's `overlay_venv`), in which python-dotenv
1.0.0 is below the pins, so setup has something to install; pip installs 99.0.0 from a
find-links folder (a wheel whose module is `python_dotenv`, so the real `dotenv` stays)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from dotenv import dotenv_values

from tests.install.conftest import site_packages
from tests.openai_server import TEST_KEY
from tests.sites import write_dist
from tests.terminal.conftest import git_init, hanging_build, installed_version, wait_until
from tests.terminal.test_configure_key import assert_echo_is_on, assert_key_never_shown
from tests.terminal.test_install import assert_live_display_was_shown_and_cleared
from tests.test_setup_cli import overlay_venv

if TYPE_CHECKING:
    from pathlib import Path

    from tests.openai_server import OpenAIServer
    from tests.terminal.conftest import Spawn
    from tests.terminal.driver import Terminal

PLAN_QUESTION = "Install this plan? [Y/n]:"
KEY_PROMPT = "OpenAI API key (input hidden):"
GITIGNORE_QUESTION = "add '.env' to"
API_ONLY = ["setup", "api", "--no-local", "--offline"]


@pytest.fixture
def old_dotenv_venv(tmp_path: Path) -> Path:
    venv = overlay_venv(tmp_path / "venv")
    write_dist(site_packages(venv), "python-dotenv", "1.0.0")
    return venv


def setup_env(install_env: dict[str, str], server: OpenAIServer) -> dict[str, str]:
    return {**install_env, "OPENAI_BASE_URL": server.base_url}


def chatenv_in(venv: Path) -> list[str]:
    return [str(venv / "bin" / "python"), "-m", "chatenv"]


def stage_lines(terminal: Terminal) -> list[str]:
    """The summary's line per stage (`✓ doctor (0.1 s): ...`), without its indent."""
    marks = ("  ✓ ", "  ✗ ", "  – ", "  ! ")
    names = ("doctor", "install", "configure-key", "smoke-test")
    return [
        line.strip()
        for line in terminal.screen_lines()
        if line.startswith(marks) and line[4:].startswith(names)
    ]


@pytest.mark.slow
def test_every_question_answered_installs_stores_the_key_and_ends_ready(
    term: Spawn,
    tmp_path: Path,
    old_dotenv_venv: Path,
    install_env: dict[str, str],
    openai_server: OpenAIServer,
) -> None:
    repo = git_init(tmp_path / "project")
    terminal = term(
        API_ONLY,
        cwd=repo,
        env=setup_env(install_env, openai_server),
        program=chatenv_in(old_dotenv_venv),
        cols=200,
    )
    at = terminal.expect(PLAN_QUESTION)
    assert "  upgrade   python-dotenv  1.0.0 -> 99.0.0" in terminal.screen_lines()
    terminal.type_line("y")
    at = terminal.expect(KEY_PROMPT, after=at)
    assert installed_version(old_dotenv_venv, "python-dotenv") == "99.0.0"
    terminal.type_line(TEST_KEY)
    terminal.expect(GITIGNORE_QUESTION, after=at)
    terminal.type_line("")  # Enter: the default, yes
    assert terminal.wait() == 0, terminal.text
    assert_live_display_was_shown_and_cleared(terminal)  # pip's progress, between questions
    assert_key_never_shown(terminal)
    assert_echo_is_on(terminal)
    assert dotenv_values(repo / ".env") == {"OPENAI_API_KEY": TEST_KEY}
    assert (repo / ".gitignore").read_text().splitlines()[-1] == ".env"
    assert terminal.screen_lines()[-1].endswith("ready.")
    assert [line.split()[1] for line in stage_lines(terminal)] == [
        "doctor",
        "install",
        "configure-key",
        "smoke-test",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("answer", ["n", "ctrl-c"])
def test_no_or_ctrl_c_at_the_plan_question_installs_nothing(
    term: Spawn,
    tmp_path: Path,
    old_dotenv_venv: Path,
    install_env: dict[str, str],
    openai_server: OpenAIServer,
    answer: str,
) -> None:
    terminal = term(
        API_ONLY,
        env=setup_env(install_env, openai_server),
        program=chatenv_in(old_dotenv_venv),
        cols=200,
    )
    terminal.expect(PLAN_QUESTION)
    if answer == "n":
        terminal.type_line("n")
    else:
        terminal.ctrl_c()
    code = terminal.wait()
    screen = terminal.screen_lines()
    if answer == "n":
        assert code == 1, terminal.text
        assert "Install this plan? [Y/n]: n" in screen  # the answer echoed, the line ended
        install = stage_lines(terminal)[1]
        assert install.endswith("not installed: you declined the plan; nothing was changed")
        assert "– configure-key: not run: install failed" in stage_lines(terminal)
    else:
        assert code == 130, terminal.text
        assert "error: interrupted" in screen
        assert "– configure-key: not run: interrupted" in stage_lines(terminal)
    assert "Traceback" not in terminal.text
    assert installed_version(old_dotenv_venv, "python-dotenv") == "1.0.0"
    assert not (tmp_path / "state" / "chatenv" / "logs").exists()  # no installer ever ran
    assert not (tmp_path / ".env").exists()


@pytest.mark.slow
def test_ctrl_c_during_setups_install_exits_130_and_runs_no_later_stage(
    term: Spawn,
    tmp_path: Path,
    old_dotenv_venv: Path,
    install_env: dict[str, str],
    links: Path,
    openai_server: OpenAIServer,
) -> None:
    hanging_build(links)
    terminal = term(
        API_ONLY,
        env=setup_env(install_env, openai_server),
        program=chatenv_in(old_dotenv_venv),
        cols=400,
    )
    terminal.expect(PLAN_QUESTION)
    terminal.type_line("y")
    wait_until((tmp_path / "build-started").exists, timeout=120)
    terminal.ctrl_c()
    assert terminal.wait() == 130, terminal.text
    screen = terminal.screen_lines()
    assert any(
        line.startswith("error: interrupted while pip was installing (packages step)")
        for line in screen
    ), screen
    assert "– configure-key: not run: interrupted" in stage_lines(terminal)
    assert KEY_PROMPT not in terminal.text
    assert installed_version(old_dotenv_venv, "python-dotenv") == "1.0.0"  # as pip left it
    assert not (tmp_path / ".env").exists()


# -- the key's questions: this environment satisfies the api pins, so install asks nothing ----


def test_ctrl_c_at_setups_key_prompt_exits_130_and_writes_no_key(
    term: Spawn, tmp_path: Path, install_env: dict[str, str], openai_server: OpenAIServer
) -> None:
    terminal = term(API_ONLY, env=setup_env(install_env, openai_server), cols=200)
    terminal.expect(KEY_PROMPT)
    terminal.send(TEST_KEY[:12].encode())
    terminal.ctrl_c()
    assert terminal.wait() == 130, terminal.text
    assert_echo_is_on(terminal)
    assert "error: interrupted: nothing was written" in terminal.screen_lines()
    assert "– smoke-test: not run: interrupted" in stage_lines(terminal)
    assert not (tmp_path / ".env").exists()
    assert openai_server.requests == []


def test_ctrl_c_at_setups_gitignore_question_exits_130_and_writes_nothing(
    term: Spawn, tmp_path: Path, install_env: dict[str, str], openai_server: OpenAIServer
) -> None:
    repo = git_init(tmp_path / "project")
    terminal = term(API_ONLY, cwd=repo, env=setup_env(install_env, openai_server), cols=200)
    at = terminal.expect(KEY_PROMPT)
    terminal.type_line(TEST_KEY)
    terminal.expect(GITIGNORE_QUESTION, after=at)
    terminal.ctrl_c()
    assert terminal.wait() == 130, terminal.text
    assert "error: interrupted: nothing was written" in terminal.screen_lines()
    assert not (repo / ".env").exists() and not (repo / ".gitignore").exists()
    assert_key_never_shown(terminal)


def test_yes_on_a_terminal_asks_nothing(
    term: Spawn, tmp_path: Path, install_env: dict[str, str], openai_server: OpenAIServer
) -> None:
    """--yes: no plan question, no prompt; without OPENAI_API_KEY the key stage is skipped
    and says how to give the key, and the API smoke test fails for want of one."""
    git_init(tmp_path / "project")
    terminal = term([*API_ONLY, "--yes"], cwd=tmp_path / "project",
                    env=setup_env(install_env, openai_server), cols=200)  # fmt: skip
    assert terminal.wait() == 1, terminal.text
    assert "[Y/n]" not in terminal.text and KEY_PROMPT not in terminal.text
    lines = stage_lines(terminal)
    assert lines[2].startswith("– configure-key: ")
    assert lines[3].startswith("✗ smoke-test")
