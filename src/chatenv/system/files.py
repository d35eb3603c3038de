"""Reading a small text file that must be a regular file: never a FIFO that blocks, a device
that never ends (`/dev/zero`), a file far too large, or something swapped in between the
check and the read.

`read_regular` stats the path first and opens only a regular file, non-blocking, then checks
with `fstat` that the descriptor it read is what it checked (and the size limit), so nothing
can change the answer between the two. With `follow=False` the last component must not be a
symbolic link (`O_NOFOLLOW`): the writer's re-read, which has already resolved the link itself.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import TYPE_CHECKING

from chatenv.records import dataclass

if TYPE_CHECKING:
    from pathlib import Path

#: far more than any .env or .gitignore file holds; more is a mistake, not a file to read
MAX_TEXT_FILE_BYTES = 1 << 20

#: what a path is, in words, for messages
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


class FileRefused(Exception):
    """Why the file was not read: `reason` is one of "missing", "loop", "directory",
    "not-regular", "too-large", "changed", "os-error"."""

    def __init__(self, reason: str, path: Path, *, kind: str = "", size: int = 0, error: str = ""):
        super().__init__(f"{path}: {reason}")
        self.reason = reason
        self.path = path
        #: what the path is instead ("a named pipe (FIFO)"), for "not-regular"
        self.kind = kind
        self.size = size
        #: the operating system's words, for "os-error"
        self.error = error


@dataclass(frozen=True)
class Contents:
    data: bytes
    #: the `fstat` of the descriptor that was read
    info: os.stat_result


def kind_of(mode: int) -> str:
    """ "a named pipe (FIFO)", "a character device", ...; "a regular file"."""
    return next((words for test, words in _KINDS if test(mode)), "a regular file")


def read_regular(path: Path, *, limit: int = MAX_TEXT_FILE_BYTES, follow: bool = True) -> Contents:
    """The bytes of the regular file at `path`; FileRefused for anything else."""
    try:
        before = os.stat(path) if follow else os.lstat(path)
    except OSError as exc:
        raise _refused(exc, path) from None
    _check(before, path, limit)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _refused(exc, path) from None
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != (before.st_dev, before.st_ino):
            raise FileRefused("changed", path)
        _check(info, path, limit)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise _refused(exc, path) from None
    finally:
        os.close(fd)
    if total > limit:  # it grew while being read
        raise FileRefused("too-large", path, size=total)
    return Contents(b"".join(chunks), info)


def read_only_filesystem(path: Path) -> bool:
    """The file system holding `path` (a folder) is mounted read-only."""
    try:
        return bool(os.statvfs(path).f_flag & getattr(os, "ST_RDONLY", 1))
    except (OSError, AttributeError):  # no statvfs on Windows
        return False


def _check(info: os.stat_result, path: Path, limit: int) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise FileRefused("directory", path, kind="a directory")
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused("not-regular", path, kind=kind_of(info.st_mode))
    if info.st_size > limit:
        raise FileRefused("too-large", path, size=info.st_size)


def _refused(exc: OSError, path: Path) -> FileRefused:
    if exc.errno == errno.ENOENT:
        return FileRefused("missing", path)
    if exc.errno == errno.ELOOP:
        return FileRefused("loop", path)
    if exc.errno == errno.EISDIR:
        return FileRefused("directory", path, kind="a directory")
    return FileRefused("os-error", path, error=exc.strerror or str(exc))


def names_like(folder: Path, start: str, end: str) -> list[str]:
    """The sorted names in `folder` that start and end so: `Path.glob(f"{start}*{end}")`
    without the fnmatch expression it compiles (~0.3 ms a pattern; doctor looks for three),
    case-blind where glob is, on Windows."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    start, end = os.path.normcase(start), os.path.normcase(end)
    return sorted(
        name
        for name in names
        if len(name) >= len(start) + len(end)
        and os.path.normcase(name).startswith(start)
        and os.path.normcase(name).endswith(end)
    )
