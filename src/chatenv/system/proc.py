"""Running other programs: `run` to completion with a time limit, or `stream` its output line
by line as it comes (a long installer run). One result type, so tests can hand in a fake."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Protocol, TextIO

from chatenv.records import dataclass

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path


@dataclass(frozen=True)
class ProcResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False
    #: the program could not be started at all (not found, not executable)
    not_found: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


class Runner(Protocol):
    def __call__(
        self,
        args: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ProcResult: ...


def run(
    args: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ProcResult:
    """Run a program to completion with a time limit; never raises for the program's failures."""
    argv = tuple(str(a) for a in args)
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return ProcResult(argv, -1, _text(exc.stdout), _text(exc.stderr), timed_out=True)
    except OSError as exc:  # not found, not executable, not a directory, ...
        return _not_started(argv, exc)
    return ProcResult(argv, done.returncode, done.stdout, done.stderr)


def _not_started(argv: tuple[str, ...], exc: OSError) -> ProcResult:
    return ProcResult(argv, 127, "", f"{argv[0]}: {exc.strerror or exc}", not_found=True)


class LineRunner(Protocol):
    def __call__(
        self,
        args: Sequence[str],
        *,
        log: TextIO,
        on_line: Callable[[str], None],
        env: Mapping[str, str] | None = None,
    ) -> ProcResult: ...


def stream(
    args: Sequence[str],
    *,
    log: TextIO,
    on_line: Callable[[str], None],
    env: Mapping[str, str] | None = None,
) -> ProcResult:
    """Run a program, copying its output (stdout and stderr together) to `log` and, line by
    line, to `on_line`. On Ctrl-C the child gets SIGINT too (it already has it when the terminal
    sent it to the whole process group), is given time to stop, and the interrupt propagates."""
    argv = tuple(str(a) for a in args)
    try:
        child = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            bufsize=1,
            env=dict(env) if env is not None else None,
        )
    except OSError as exc:
        return _not_started(argv, exc)
    assert child.stdout is not None
    try:
        for line in child.stdout:
            log.write(line)
            log.flush()
            on_line(line.rstrip("\r\n"))
        returncode = child.wait()
    except KeyboardInterrupt:
        _stop(child)
        raise
    return ProcResult(argv, returncode, "", "")


def _stop(child: subprocess.Popen[str]) -> None:
    """Let the program finish its own clean-up after SIGINT; insist if it does not."""
    try:
        if child.poll() is None and sys.platform != "win32":
            child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.terminate()
            child.wait(timeout=5)
    except (KeyboardInterrupt, subprocess.TimeoutExpired):
        child.kill()
        child.wait()


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def child_env(**overrides: str | None) -> dict[str, str]:
    """A copy of this process's environment with some variables set or (None) removed."""
    env = dict(os.environ)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env
