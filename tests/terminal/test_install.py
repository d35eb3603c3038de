"""`chatenv install` at a terminal: the plan, the live progress while pip runs (a Rich status
line on stderr), `--json > file` typed at a prompt, and Ctrl-C during the install. Real pip in
a real virtualenv, from a find-links folder of tiny wheels."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from tests.terminal.conftest import hanging_build, installed_version, wait_until

if TYPE_CHECKING:
    from tests.terminal.conftest import Spawn
    from tests.terminal.driver import Terminal

#: the frames of Rich's "dots" spinner: Braille patterns
SPINNER = re.compile("[\u2800-\u28ff]")
HIDE_CURSOR, SHOW_CURSOR = b"\x1b[?25l", b"\x1b[?25h"


def assert_live_display_was_shown_and_cleared(terminal: Terminal) -> None:
    """The spinner ran (the cursor hidden, Braille frames drawn), and when it stopped the
    cursor came back and no frame was left on screen."""
    raw = bytes(terminal.output)
    assert HIDE_CURSOR in raw and SPINNER.search(raw.decode()), "no live display was shown"
    assert raw.rfind(SHOW_CURSOR) > raw.rfind(HIDE_CURSOR), "the cursor was left hidden"
    left = [line for line in terminal.screen_lines() if SPINNER.search(line)]
    assert left == [], "spinner frames left on screen"


def install_args(venv: Path) -> list[str]:
    return ["install", "api", "--python", str(venv), "--installer", "pip"]


def test_install_shows_the_plan_then_pips_progress_live_then_the_verified_report(
    term: Spawn, pip_venv: Path, install_env: dict[str, str]
) -> None:
    terminal = term(install_args(pip_venv), env=install_env, cols=200)
    assert terminal.wait() == 0, terminal.text
    assert_live_display_was_shown_and_cleared(terminal)
    # the status line followed pip: installer lines replaced "starting the installer"
    assert "packages: Successfully installed" in terminal.text
    screen = terminal.screen_lines()
    plan = screen.index("Plan")
    assert screen[plan + 1 : plan + 4] == [
        "  install   openai         3.99.0",
        "  install   python-dotenv  99.0.0",
        "  install   1 dependency: httpx 0.28.1",
    ]
    log = next(line for line in screen if line.startswith("full installer log: "))
    assert "packages step: openai==3.99.0 python-dotenv==99.0.0" in screen
    assert "  ✓ api profile: openai 3.99.0, python-dotenv 99.0.0" in screen
    assert screen[-1].startswith("Installed and verified. Full log: ")
    log_file = Path(log.removeprefix("full installer log: "))
    assert "Successfully installed" in log_file.read_text()
    assert installed_version(pip_venv, "openai") == "3.99.0"


def test_json_redirected_to_a_file_at_a_terminal_keeps_progress_on_the_screen(
    term: Spawn, pip_venv: Path, install_env: dict[str, str], tmp_path: Path
) -> None:
    """`chatenv install api --json > report.json` typed in a terminal: stdout is the file,
    stderr the terminal (where this crashed with NameError before the installer started)."""
    report = tmp_path / "report.json"
    with report.open("wb") as out:
        terminal = term([*install_args(pip_venv), "--json"], env=install_env, stdout=out, cols=200)
        assert terminal.wait() == 0, terminal.text
    assert_live_display_was_shown_and_cleared(terminal)
    doc = json.loads(report.read_text())
    assert doc["ok"] is True and doc["command"] == "install"
    assert [r["step"] for r in doc["applied"]] == ["packages"]
    screen = terminal.screen_lines()
    assert screen[0].startswith("full installer log: ")  # the plan went to the file only
    assert "Plan" not in screen and "{" not in "\n".join(screen)
    assert installed_version(pip_venv, "openai") == "3.99.0"


def test_ctrl_c_while_pip_builds_exits_130_and_leaves_what_it_says(
    term: Spawn, pip_venv: Path, install_env: dict[str, str], links: Path, tmp_path: Path
) -> None:
    hanging_build(links)
    terminal = term(install_args(pip_venv), env=install_env, cols=400)  # the error on one row
    wait_until((tmp_path / "build-started").exists, timeout=120)
    terminal.expect("packages: ")  # the live display is up, showing pip's lines
    terminal.ctrl_c()
    assert terminal.wait() == 130, terminal.text
    assert_live_display_was_shown_and_cleared(terminal)
    screen = terminal.screen_lines()
    errors = [line for line in screen if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in terminal.text, screen
    match = re.fullmatch(
        r"error: interrupted while pip was installing \(packages step\); the environment is as"
        r" pip left it\. Full log: (\S+)",
        errors[0],
    )
    assert match, errors
    # "as pip left it": pip builds every wheel before installing any, so nothing changed
    assert installed_version(pip_venv, "openai") is None
    assert installed_version(pip_venv, "python-dotenv") is None
    log = Path(match.group(1)).read_text()
    assert log.rstrip().endswith("=== interrupted (Ctrl-C)")
