"""Running other programs. One function, one result type, so tests can hand in a fake."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


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
    except (FileNotFoundError, PermissionError, NotADirectoryError, OSError) as exc:
        return ProcResult(argv, 127, "", f"{argv[0]}: {exc.strerror or exc}", not_found=True)
    return ProcResult(argv, done.returncode, done.stdout, done.stderr)


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
