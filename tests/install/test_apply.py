"""Running an installer for real: a failed step with the end of its log, the log's place, the
lines worth showing. (Streaming a program's output is `chatenv.system.proc.stream`, tested in
tests/system/test_proc.py.)"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

import pytest

from chatenv.errors import ChatenvError
from chatenv.install.apply import (
    InstallerFailed,
    apply_steps,
    default_log_path,
    summarise,
)
from chatenv.install.installer import Installer, Step

if TYPE_CHECKING:
    from pathlib import Path

SCRIPT = (
    "import sys\n"
    "for i in range(3): print(f'line {i}')\n"
    "print('oops', file=sys.stderr)\n"
    "sys.exit(3)\n"
)


def test_failed_step_raises_with_the_end_of_the_log(tmp_path: Path) -> None:
    # A stand-in "installer" command: the real Python, told to fail like pip does.
    fake = Installer("pip", (sys.executable, "-c", SCRIPT), sys.executable)
    log = tmp_path / "logs" / "install.log"
    with pytest.raises(InstallerFailed) as err:
        apply_steps(fake, [Step("packages", ("openai<4",))], log)
    assert "pip failed in the packages step (exit status 3)" in err.value.message
    assert err.value.tail[-1] == "oops"
    text = log.read_text()
    assert "=== chatenv install: step packages" in text and "line 2" in text


def test_unwritable_log_is_one_error_before_anything_runs(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    fake = Installer("pip", (sys.executable, "-c", "raise SystemExit(0)"), sys.executable)
    with pytest.raises(ChatenvError) as err:
        apply_steps(fake, [Step("packages", ("x",))], blocker / "sub" / "install.log")
    assert "cannot write the installer log" in err.value.message


def test_log_location_follows_the_platform_conventions() -> None:
    now = datetime(2026, 8, 1, 12, 0, 0)
    linux = default_log_path({"HOME": "/home/u", "XDG_STATE_HOME": "/state"}, "linux", now)
    assert str(linux).startswith("/state/chatenv/logs/install-20260801-120000-")
    assert str(default_log_path({"HOME": "/home/u"}, "linux", now)).startswith(
        "/home/u/.local/state/chatenv/logs/"
    )
    assert "Library/Logs/chatenv" in str(default_log_path({"HOME": "/Users/u"}, "darwin", now))


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("Collecting openai<4,>=1.40", True),
        ("  Downloading torch-2.13.0%2Bcu132-cp311-linux_x86_64.whl (900.1 MB)", True),
        ("Requirement already satisfied: idna in ./lib", False),
        ("Successfully installed openai-1.99.0", True),
        (" + openai==1.99.0", True),
        ("ERROR: No matching distribution found for openai", True),
        ("", False),
    ],
)
def test_progress_shows_the_installers_milestones_only(line: str, shown: bool) -> None:
    assert (summarise(line) is not None) is shown
