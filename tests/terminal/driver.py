"""chatenv on a pseudo-terminal, as a person at a shell runs it.

`spawn` starts the real `chatenv` console script with a pty (of a set size) as its controlling
terminal and as whichever of stdin, stdout and stderr the test asks for; the others can be
pipes or files, as with `chatenv install api --json > f` typed at a prompt. A reader thread
keeps every byte the terminal receives (`Terminal.output`), so a test can wait for a prompt,
type an answer, press Ctrl-C (the line discipline turns b"\\x03" into SIGINT for the
foreground process group, as a real terminal does) and read back exactly what was on screen.

`screen_lines` replays those bytes through pyte, a VT100 emulator, at the terminal's size:
what the person saw after the cursor movements, carriage returns and erasures of a live
display, rather than the raw frames.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import struct
import subprocess
import termios
import threading
import time
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from tests.conftest import CHATENV, clean_env

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

CTRL_C = b"\x03"
ENTER = b"\r"  # what the Enter key sends; the terminal's ICRNL makes it "\n" for the program

#: Select Graphic Rendition sequences that set a colour (foreground 30-37/90-97, background
#: 40-47/100-107, 256-colour and true-colour 38;/48;): what NO_COLOR must keep off the screen.
#: Bold, dim and reverse are not colour (https://no-color.org), so they may stay.
_SGR = re.compile(rb"\x1b\[([0-9;]*)m")
_ANSI = re.compile(
    r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]"  # CSI: colours, cursor movement, erasing
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: window titles, hyperlinks
    r"|[()][0-9A-B]|[=>78])"  # character sets, keypad modes, cursor save/restore
)


def colour_codes(data: bytes) -> list[bytes]:
    """The SGR sequences in `data` that set a colour."""
    found = []
    for match in _SGR.finditer(data):
        params = match.group(1).split(b";")
        i = 0
        while i < len(params):
            p = params[i]
            if p in (b"38", b"48"):
                found.append(match.group(0))
                break
            if p.isdigit() and (30 <= int(p) <= 47 or 90 <= int(p) <= 107):
                found.append(match.group(0))
                break
            i += 1
    return found


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def terminal_env(**overrides: str | None) -> dict[str, str]:
    """`clean_env` for a terminal: a colour-capable TERM, and no COLUMNS/LINES, so chatenv
    (Rich) asks the terminal for its size as it does for a person. NO_COLOR is off unless a
    test sets it."""
    base: dict[str, str | None] = {
        "TERM": "xterm-256color",
        "COLUMNS": None,
        "LINES": None,
        "NO_COLOR": None,
        "PYTHONIOENCODING": None,
        "LANG": "C.UTF-8",
        "LC_ALL": None,
    }
    base.update(overrides)
    return clean_env(**base)


@dataclass
class Terminal:
    """A running chatenv and the leader (master) side of its terminal."""

    process: subprocess.Popen[bytes]
    leader: int
    rows: int
    cols: int
    output: bytearray = field(default_factory=bytearray)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _closed: bool = False
    _reader: threading.Thread | None = None

    # -- reading -------------------------------------------------------------------------------

    def _read_all(self) -> None:
        while True:
            try:
                chunk = os.read(self.leader, 65536)
            except OSError:  # EIO: every holder of the follower side has closed it
                chunk = b""
            with self._changed:
                if not chunk:
                    self._closed = True
                    self._changed.notify_all()
                    return
                self.output += chunk
                self._changed.notify_all()

    @property
    def text(self) -> str:
        """Everything the terminal received, decoded (escape sequences kept)."""
        return bytes(self.output).decode("utf-8", errors="replace")

    def expect(self, pattern: str | re.Pattern[str], *, after: int = 0, timeout: float = 60) -> int:
        """Wait until `pattern` (a literal string or a regex) appears in the decoded output
        after byte offset `after`, with escape sequences removed; returns the byte offset
        reached, to pass as `after` for the next wait. Fails with the screen so far."""
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                seen = strip_ansi(bytes(self.output[after:]).decode("utf-8", errors="replace"))
                if regex.search(seen):
                    return len(self.output)
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    why = "chatenv exited" if self._closed else f"{timeout:g} s passed"
                    raise AssertionError(
                        f"{why} before {regex.pattern!r} appeared; the terminal showed:\n"
                        + strip_ansi(self.text)
                    )
                self._changed.wait(min(left, 0.5))

    # -- typing --------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        os.write(self.leader, data)

    def type_line(self, text: str) -> None:
        self.send(text.encode() + ENTER)

    def ctrl_c(self) -> None:
        self.send(CTRL_C)

    # -- ending --------------------------------------------------------------------------------

    def wait(self, timeout: float = 120) -> int:
        """The exit code, once chatenv has exited and its terminal output is all read."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"chatenv still running after {timeout:g} s; the terminal showed:\n"
                + strip_ansi(self.text)
            ) from None
        if self._reader is not None:
            self._reader.join(timeout=10)
        return code

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
        if self._reader is not None:
            self._reader.join(timeout=10)
        with contextlib.suppress(OSError):
            os.close(self.leader)

    # -- what was on screen --------------------------------------------------------------------

    def screen_lines(self) -> list[str]:
        """The lines on screen once everything was drawn, each without trailing blanks, the
        empty rows at the end dropped: what a person scrolling back would read. The "^C" the
        terminal itself echoes for Ctrl-C (ECHOCTL, as for any program) is left out, so a line
        reads as chatenv wrote it."""
        return [
            line.replace("^C", "") for line in render_screen(bytes(self.output), cols=self.cols)
        ]


def render_screen(data: bytes, *, cols: int, rows: int = 2000) -> list[str]:
    """`data` replayed on a VT100 emulator `cols` wide (and tall enough that nothing scrolls
    off): each row without trailing blanks, the empty rows at the end dropped."""
    import pyte

    screen = pyte.Screen(cols, rows)
    # The bytes read from the leader went through the tty's ONLCR ("\n" -> "\r\n") already,
    # so the emulator keeps LNM off, as xterm does.
    pyte.ByteStream(screen).feed(data)
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines


Stream = int | IO[bytes] | None
TERMINAL = -10  # a marker: this stream is the terminal


def spawn(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    rows: int = 50,
    cols: int = 100,
    stdin: Stream = TERMINAL,
    stdout: Stream = TERMINAL,
    stderr: Stream = TERMINAL,
    program: Sequence[str] | None = None,
) -> Terminal:
    """Start `chatenv ARGS` (or `program ARGS`) in its own session with a fresh pty as its
    controlling terminal, `rows` x `cols` in size. Each of stdin, stdout and stderr is the
    terminal (TERMINAL), or what subprocess.Popen takes (a file, subprocess.PIPE, DEVNULL)."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def controlling_terminal() -> None:
        # start_new_session made this process a session leader without a terminal; taking the
        # pty as its controlling terminal makes it the terminal's foreground process group, so
        # Ctrl-C reaches it and getpass can open /dev/tty, as in a login shell.
        fcntl.ioctl(follower, termios.TIOCSCTTY, 0)

    def pick(stream: Stream) -> Stream:
        return follower if stream == TERMINAL else stream

    argv = [*(program or [str(CHATENV)]), *args]
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env) if env is not None else terminal_env(),
            stdin=pick(stdin),
            stdout=pick(stdout),
            stderr=pick(stderr),
            start_new_session=True,
            # preexec_fn runs between fork and exec; it only makes an ioctl (fcntl and termios
            # are imported already), so the test process's threads cannot deadlock it
            preexec_fn=controlling_terminal,  # noqa: PLW1509
        )
    finally:
        os.close(follower)
    term = Terminal(process, leader, rows, cols)
    term._reader = threading.Thread(target=term._read_all, daemon=True)
    term._reader.start()
    return term
