"""Running other programs for real: to completion, or streamed line by line."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from chatenv.system.proc import run, stream

if TYPE_CHECKING:
    from pathlib import Path

SCRIPT = (
    "import sys\n"
    "for i in range(3): print(f'line {i}')\n"
    "print('oops', file=sys.stderr)\n"
    "sys.exit(3)\n"
)


def test_stream_copies_stdout_and_stderr_to_log_and_callback(tmp_path: Path) -> None:
    seen: list[str] = []
    log = tmp_path / "log.txt"
    with log.open("w") as fh:
        result = stream([sys.executable, "-c", SCRIPT], log=fh, on_line=seen.append)
    assert result.returncode == 3
    assert seen == ["line 0", "line 1", "line 2", "oops"]
    assert log.read_text() == "line 0\nline 1\nline 2\noops\n"


def test_stream_of_a_missing_program_is_not_found(tmp_path: Path) -> None:
    with (tmp_path / "log").open("w") as fh:
        result = stream([str(tmp_path / "no-such-installer")], log=fh, on_line=print)
    assert result.not_found and result.returncode == 127


def test_run_keeps_both_streams_and_the_exit_status() -> None:
    result = run([sys.executable, "-c", SCRIPT], timeout=30)
    assert (result.returncode, result.ok, result.not_found) == (3, False, False)
    assert result.stdout == "line 0\nline 1\nline 2\n" and result.stderr == "oops\n"


def test_run_of_a_missing_program_is_not_found(tmp_path: Path) -> None:
    result = run([str(tmp_path / "nope")], timeout=30)
    assert result.not_found and result.returncode == 127 and "nope" in result.stderr


def test_run_past_its_time_limit_is_timed_out() -> None:
    result = run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert result.timed_out and not result.ok
