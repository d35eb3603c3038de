"""Every command that reads the .env file, handed something that is not one: a FIFO nobody
writes to, /dev/stdin on an idle pipe, /dev/zero. Each answers at once, saying what the path
is (the trial saw `--show` and smoke-test hang, doctor time out blaming the openai check, and
/dev/zero read until memory ran out)."""

from __future__ import annotations

import os
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

from tests.conftest import CHATENV, clean_env

if TYPE_CHECKING:
    from pathlib import Path

COMMANDS = {
    "doctor": ["doctor", "--offline"],
    "show": ["configure-key", "--show"],
    "smoke-test": ["smoke-test", "--no-local", "--timeout", "2"],
}
PATHS = {
    "fifo": "a named pipe (FIFO)",
    "/dev/stdin": "a named pipe (FIFO)",
    "/dev/zero": "a character device",
}


@pytest.mark.parametrize(
    ("command", "path"),
    [
        pytest.param(c, p, marks=[] if p == "/dev/stdin" else [pytest.mark.slow])
        for c in COMMANDS
        for p in PATHS
    ],
)
def test_a_path_that_is_not_a_file_is_named_at_once(
    tmp_path: Path, command: str, path: str
) -> None:
    if path == "fifo":
        os.mkfifo(tmp_path / "fifo")
        path_arg = str(tmp_path / "fifo")
    else:
        path_arg = path
    reader, writer = os.pipe()  # stdin: a pipe nobody writes to
    started = time.monotonic()
    try:
        done = subprocess.run(
            [str(CHATENV), *COMMANDS[command], "--env-file", path_arg],
            stdin=reader,
            cwd=tmp_path,
            env=clean_env(HOME=str(tmp_path), CHATENV_STDIN_TIMEOUT="0"),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(reader)
        os.close(writer)
    elapsed = time.monotonic() - started
    output = done.stdout + done.stderr
    assert f"{path_arg} is {PATHS[path]}, not a regular file" in output, output
    assert "Traceback" not in output and "timed out" not in output
    assert "rm " not in output and "create it first" not in output
    assert elapsed < 30
