"""Run the installer for real: one step after the other, its whole output in a log file, a
summary of it to a progress callback, Ctrl-C passed on to it.

The seam is `chatenv.system.proc.stream` (runs one command, feeds its output line by line, passes
Ctrl-C on); tests can hand `apply_steps` another function with the same signature. What is
install's own stays here: the steps, the log's place and headings, the error for a failed or
interrupted step, and which installer lines are worth showing.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatenv.errors import ChatenvError, Interrupted
from chatenv.install.installer import command
from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.system import proc

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from chatenv.install.installer import Installer, Step

TAIL_LINES = 15


class InstallerFailed(ChatenvError):
    """The installer exited non-zero. `tail` is the end of its log, shown above the error."""

    def __init__(self, message: str, *, fix: str | None, tail: Sequence[str]) -> None:
        super().__init__(message, fix=fix)
        self.tail = tuple(tail)


def default_log_path(
    environ: Mapping[str, str] | None = None,
    platform: str = sys.platform,
    now: datetime | None = None,
) -> Path:
    """Where the installer's full output goes: the user's state/log directory, one file a run."""
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or Path.home())
    if platform == "win32":
        base = Path(env.get("LOCALAPPDATA") or home / "AppData" / "Local") / "chatenv" / "logs"
    elif platform == "darwin":
        base = home / "Library" / "Logs" / "chatenv"
    else:
        base = Path(env.get("XDG_STATE_HOME") or home / ".local" / "state") / "chatenv" / "logs"
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return base / f"install-{stamp}-{os.getpid()}.log"


@dataclass(frozen=True)
class StepRun:
    step: str
    command: tuple[str, ...]
    returncode: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "command": list(self.command),
            "returncode": self.returncode,
            "seconds": round(self.seconds, 2),
        }


def write_constraints(path: Path, constraints: Sequence[str]) -> Path:
    path.write_text("".join(f"{c}\n" for c in constraints), encoding="utf-8")
    return path


def apply_steps(
    installer: Installer,
    steps: Sequence[Step],
    log_path: Path,
    *,
    on_step: Callable[[Step], None] = lambda step: None,
    on_line: Callable[[str], None] = lambda line: None,
    runner: proc.LineRunner = proc.stream,
) -> list[StepRun]:
    """Run each step; stop at the first failure with the end of the log in the error."""
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = log_path.open("a", encoding="utf-8")
    except OSError as exc:
        raise problem("install.log-unwritable").error(
            path=log_path, reason=exc.strerror or exc
        ) from None
    runs: list[StepRun] = []
    with log_file as log:
        for step in steps:
            constraints = None
            if step.constraints:
                constraints = write_constraints(
                    log_path.with_name(f"{log_path.stem}.{step.name}.constraints.txt"),
                    step.constraints,
                )
            args = command(installer, step, constraints_file=constraints, dry_run=False)
            log.write(f"\n=== chatenv install: step {step.name}\n$ {' '.join(args)}\n")
            if step.constraints:
                log.write(f"# constraints: {', '.join(step.constraints)}\n")
            log.flush()
            on_step(step)
            tail: deque[str] = deque(maxlen=TAIL_LINES)

            def line(text: str, tail: deque[str] = tail) -> None:
                tail.append(text)
                on_line(text)

            started = time.monotonic()
            try:
                result = runner(args, log=log, on_line=line, env=_install_env())
            except KeyboardInterrupt:
                log.write("\n=== interrupted (Ctrl-C)\n")
                raise problem("install.interrupted").error(
                    Interrupted, installer=installer.kind, step=step.name, log=log_path
                ) from None
            runs.append(
                StepRun(step.name, tuple(args), result.returncode, time.monotonic() - started)
            )
            if result.not_found:
                raise problem("install.installer-not-started").error(
                    installer=installer.kind,
                    error=result.stderr.strip(),
                    other="pip" if installer.kind == "uv" else "uv",
                )
            if not result.ok:
                log.write(f"\n=== {installer.kind} exited with status {result.returncode}\n")
                message, fix = problem("install.installer-failed").pair(
                    installer=installer.kind,
                    step=step.name,
                    status=result.returncode,
                    log=log_path,
                )
                raise InstallerFailed(message, fix=fix, tail=list(tail))
    return runs


def _install_env() -> dict[str, str]:
    return proc.child_env(NO_COLOR="1", PIP_NO_INPUT="1", PYTHONIOENCODING="utf-8")


#: Lines worth showing while an installer runs; the log file has everything.
_SUMMARY_PREFIXES = (
    "Collecting ",
    "Processing ",
    "Downloading ",
    "Installing collected packages",
    "Successfully installed",
    "Attempting uninstall",
    "Building wheel",
    "Resolved ",
    "Prepared ",
    "Installed ",
    "Uninstalled ",
    "Audited ",
    "Looking in indexes",
)


def summarise(line: str) -> str | None:
    """The line to show for progress, or None for noise (pip's 'Requirement already ...')."""
    text = line.strip()
    if not text:
        return None
    if text.startswith(("ERROR", "error", "WARNING: Retrying", "warning")):
        return text
    if line.startswith((" + ", " - ", " ~ ")):  # uv's changes
        return text
    if text.startswith(_SUMMARY_PREFIXES):
        return text
    return None
