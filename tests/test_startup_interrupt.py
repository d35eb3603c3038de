"""Ctrl-C while chatenv is starting (importing Typer, the problem table, the command) is one
line and exit 130, never a traceback.

The trial's 3-6 tracebacks in 100 came from SIGINT landing before any command's own handler.
Here each child arms a timer right after importing `chatenv.cli` (so the interrupt always lands
inside `main`, never in the interpreter's own start-up, which no program can guard) and sends
itself a real SIGINT from it, at delays spread over the whole start-up."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO, clean_env

CHILD = """
import os, signal, sys
import chatenv.cli
done = []
def ctrl_c(*_):
    if not done:  # once main has ended, the interpreter's own shutdown is not ours to test
        os.kill(os.getpid(), signal.SIGINT)
signal.signal(signal.SIGALRM, ctrl_c)
signal.setitimer(signal.ITIMER_REAL, float(sys.argv[1]))
sys.argv = ["chatenv", *sys.argv[2:]]
try:
    chatenv.cli.main()
finally:
    done.append(True)
    signal.setitimer(signal.ITIMER_REAL, 0)  # else SIGALRM's default kills the shutdown
"""
DELAYS = [0.0005 * 1.35**i for i in range(24)]  # 0.5 ms .. ~500 ms


def _child(code: str, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("args", [["doctor", "--offline"], ["configure-key", "--show"]])
def test_ctrl_c_during_start_up_is_one_line_never_a_traceback(args: list[str]) -> None:
    interrupted = 0
    for delay in DELAYS:
        done = _child(CHILD, str(delay), *args)
        assert "Traceback" not in done.stderr, (delay, done.stderr)
        if done.returncode == 130:
            interrupted += 1
            assert done.stderr.startswith("error: interrupted"), (delay, done.stderr)
        else:  # it had finished
            assert done.returncode in (0, 1), (delay, done.returncode, done.stderr)
    assert interrupted >= 5  # most delays land in start-up


UNRAISABLE_CHILD = """
import time, weakref
import chatenv.cli as cli

def body():
    class Lock:
        pass
    def cleanup(_):
        raise KeyboardInterrupt  # SIGINT landing in a weak reference's callback, as in importlib
    lock = Lock()
    ref = weakref.ref(lock, cleanup)
    del lock  # Python cannot raise from the callback: it can only call sys.unraisablehook
    time.sleep(5)
    print("not interrupted")

cli._main = body
cli.main()
"""


def test_ctrl_c_inside_a_callback_python_cannot_raise_from_still_interrupts() -> None:
    """Once in a few hundred start-ups SIGINT lands in the import system's module-lock cleanup
    (a weakref callback): Python printed "Exception ignored ... Traceback" and went on. main's
    unraisable hook delivers the Ctrl-C again, where it is raised: one line, exit 130."""
    done = _child(UNRAISABLE_CHILD, timeout=60)
    assert done.returncode == 130, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.stderr.startswith("error: interrupted") and "not interrupted" not in done.stdout
