"""Writing a .env file so that it can never be left half-written, world-readable or clobbered.

- Atomic: the new text goes to a temporary file in the same folder, is flushed and fsync'ed,
  then `os.replace`d over the old one (and the folder is fsync'ed), so a crash or a full disk
  leaves either the old file or the new one, never a mix.
- Private: a new file is created 0600; an existing group/world-readable one is tightened to
  0600 (the caller tells the user).
- Symlinks are written through: the link stays, its target gets the new text (python-dotenv's
  `set_key` would replace the link with a regular file unless told `follow_symlinks=True`).
  A link to nothing or to a folder is refused.
- One writer at a time: an exclusive `flock` on a lock file beside the target, held from the
  read to the replace, so concurrent runs setting different variables all land.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv.keys.config import EnvFileError
from chatenv.keys.dotenv_file import parse, set_values
from chatenv.problems import problem

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from chatenv.keys.dotenv_file import Edit

#: permissions of a file that holds a secret
PRIVATE_MODE = 0o600
#: how long to wait for another chatenv writing the same file
LOCK_TIMEOUT_S = 30.0

#: writes bytes to a file descriptor: os.write, or a test's stand-in (a full disk)
Writer = Callable[[int, bytes], int]


@dataclass(frozen=True)
class EnvTarget:
    """Where the text really goes, and what is there now."""

    path: Path
    #: the file written: `path`, or the file its symlink chain ends at
    real: Path
    exists: bool
    symlink: bool
    #: permission bits of the existing file
    mode: int | None = None
    #: other hard links to the file (they keep the old text after a replace)
    other_links: int = 0


@dataclass(frozen=True)
class WriteOutcome:
    target: EnvTarget
    created: bool
    #: the text changed (False: the file already said exactly this)
    changed: bool
    mode: int
    #: the mode before, when it was tightened
    tightened_from: int | None
    replaced: dict[str, list[int]] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)


def inspect(path: Path) -> EnvTarget:
    """Resolve `path` and refuse what cannot be written safely, with the reason and the fix."""
    path = Path(os.path.abspath(path))
    symlink = path.is_symlink()
    real = Path(os.path.realpath(path)) if symlink else path
    if symlink and not real.exists():
        raise problem("env-file.dangling-symlink").error(EnvFileError, path=path, target=real)
    if real.is_dir():
        raise problem("env-file.is-directory").error(EnvFileError, path=real)
    folder = real.parent
    if not folder.is_dir():
        raise problem("env-file.no-folder").error(EnvFileError, folder=folder)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise problem("env-file.folder-not-writable").error(EnvFileError, folder=folder)
    if not real.exists():
        return EnvTarget(path, real, exists=False, symlink=symlink)
    info = real.stat()
    if not stat.S_ISREG(info.st_mode):
        raise problem("env-file.not-regular").error(EnvFileError, path=real)
    mode = stat.S_IMODE(info.st_mode)
    # The owner-write bit is the user's "do not change this file" (root could write anyway).
    if not mode & stat.S_IWUSR or not os.access(real, os.W_OK):
        raise problem("env-file.read-only").error(EnvFileError, path=real, mode=mode)
    if not os.access(real, os.R_OK):
        raise problem("env-file.not-readable").error(EnvFileError, path=real)
    return EnvTarget(path, real, True, symlink, mode, other_links=max(0, info.st_nlink - 1))


def read_text(target: EnvTarget) -> str:
    """The file's text, refusing what python-dotenv would misread: bad UTF-8, unparsable lines."""
    if not target.exists:
        return ""
    try:
        raw = target.real.read_bytes()
    except OSError as exc:
        raise problem("env-file.unreadable").error(
            EnvFileError, path=target.real, reason=exc.strerror or exc
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise problem("env-file.not-utf8").error(
            EnvFileError, path=target.real, position=f"line {line}, byte {exc.start}"
        ) from None
    bad = parse(text).malformed_lines
    if bad:
        lines = ", ".join(str(n) for n in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise problem("env-file.unparsable-lines").error(
            EnvFileError, path=target.real, lines=lines, first=bad[0]
        )
    return text


def update(path: Path, values: Mapping[str, str], *, write: Writer = os.write) -> WriteOutcome:
    """Set `values` in the .env file at `path`, keeping every other line, atomically."""
    first = inspect(path)
    with locked(first.real):
        target = inspect(path)  # again, now that no one else is writing it
        text = read_text(target)
        try:
            edit: Edit = set_values(text, values)
        except ValueError as exc:
            raise EnvFileError(str(exc)) from None
        tightened = None
        mode = PRIVATE_MODE
        if target.mode is not None:
            mode = target.mode
            if target.mode & 0o077:
                tightened, mode = target.mode, PRIVATE_MODE
        changed = edit.text != text
        if changed or tightened is not None or not target.exists:
            _write_replace(target, edit.text.encode("utf-8"), mode, write)
    return WriteOutcome(
        target=target,
        created=not target.exists,
        changed=changed,
        mode=mode,
        tightened_from=tightened,
        replaced=edit.replaced,
        added=edit.added,
    )


def rewrite(path: Path, change: Callable[[str], str], *, write: Writer = os.write) -> None:
    """Atomically replace a small UTF-8 text file (e.g. .gitignore) with `change(its text)`,
    read and written under the lock, keeping its mode (0644 for a new one: not a secret)."""
    target = inspect(path)
    with locked(target.real):
        target = inspect(path)
        current = target.real.read_text(encoding="utf-8") if target.exists else ""
        _write_replace(target, change(current).encode("utf-8"), target.mode or 0o644, write)


def _write_replace(target: EnvTarget, data: bytes, mode: int, write: Writer) -> None:
    try:
        atomic_write(target.real, data, mode=mode, write=write, owner_of=target.real)
    except OSError as exc:
        reason = exc.strerror or exc
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise problem("env-file.write-failed-disk-full").error(
                EnvFileError, path=target.real, reason=reason
            ) from None
        raise problem("env-file.write-failed").error(
            EnvFileError, path=target.real, reason=reason, folder=target.real.parent
        ) from None


def atomic_write(
    path: Path,
    data: bytes,
    *,
    mode: int = PRIVATE_MODE,
    write: Writer = os.write,
    owner_of: Path | None = None,
) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, and rename it over `path`.

    Until the rename nothing at `path` changes; on any error the temporary file is removed and
    the error raised."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        _keep_owner(fd, owner_of)
        view = memoryview(data)
        while view:
            written = write(fd, view.tobytes())
            view = view[written:]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(temp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(path.parent)


def _keep_owner(fd: int, owner_of: Path | None) -> None:
    """A replaced file keeps its owner when we may set it (running as root for someone)."""
    if owner_of is None or not hasattr(os, "fchown"):
        return
    try:
        info = owner_of.stat()
    except OSError:
        return
    if (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
        with contextlib.suppress(OSError):
            os.fchown(fd, info.st_uid, info.st_gid)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- the lock ------------------------------------------------------------------------------


def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.chatenv-lock"


@contextlib.contextmanager
def locked(target: Path, *, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive lock for writing `target`.

    The lock file is removed on release, so none is left beside the user's .env. That is safe
    because a waiter, once it holds the lock, checks that the file it locked is still the one
    at the lock path (not one that was removed meanwhile) and starts over otherwise."""
    path = lock_path(target)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise problem("env-file.lock-failed").error(
                EnvFileError, path=path, reason=exc.strerror or exc, folder=path.parent
            ) from None
        if _try_lock(fd):
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
        os.close(fd)
        if time.monotonic() > deadline:
            raise problem("env-file.locked").error(
                EnvFileError, path=target, timeout=timeout, lock=path
            )
        time.sleep(0.01)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)  # closing releases the lock


if sys.platform == "win32":  # pragma: no cover - chatenv is tested on Linux and macOS
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
