"""Writing a .env file so that it can never be left half-written, world-readable or clobbered.

- Atomic: the new text goes to a temporary file in the same folder, is flushed and fsync'ed,
  then `os.replace`d over the old one (and the folder is fsync'ed), so a crash or a full disk
  leaves either the old file or the new one, never a mix.
- Private: a new file is created 0600; an existing group/world-readable one is tightened to
  0600 (the caller tells the user).
- Symlinks are written through, but only where no one else could have planted them (the
  kernel's `protected_symlinks` reasoning): every link on the way must sit in a folder owned
  by you (or root) that no one else can write, and the file it ends at must be yours.
  Otherwise the write is refused with the reason, as python-dotenv's `set_key` (1.2.2+,
  CVE-2026-28684) refuses by default. A regular file someone else owns is written only when
  its folder is private too (`protected_regular`): root setting a key for a user in the
  user's project keeps the file that user's; root writing into a planted `/tmp/.env` does
  not happen. A link to nothing, a loop, a folder or a device is refused.
- No window between the check and the use: the file is read through a descriptor whose
  `fstat` must match what was checked, and written by renaming a new private file over it
  (a rename never follows a link).
- Read back: after the rename the file is read again through python-dotenv; if any variable
  does not come back exactly as meant, the original is put back and the write fails.
- One writer at a time: an exclusive `flock` on a lock file beside the target, held from the
  read to the replace, so concurrent runs setting different variables all land. A run killed
  mid-write leaves its temporary file behind; the next one, holding the lock, removes those
  of its own making (`remove_stale_temp_files`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv.keys.config import EnvFileError, refused
from chatenv.keys.dotenv_file import parse, set_values
from chatenv.problems import problem
from chatenv.records import dataclass, field
from chatenv.system import files

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
    #: the existing file's owner and group (a new file is ours)
    owner: int | None = None
    group: int | None = None
    #: (st_dev, st_ino) of the file checked, so that the one read is provably the same
    identity: tuple[int, int] | None = None

    @property
    def owner_name(self) -> str | None:
        """The owner's name when it is someone else (root writing a user's file), else None."""
        if self.owner is None or self.owner == _euid():
            return None
        return _user_name(self.owner)


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
    #: temporary files that runs killed mid-write had left, removed by this one
    removed_temp_files: list[Path] = field(default_factory=list)


def inspect(path: Path) -> EnvTarget:
    """Resolve `path` and refuse what cannot be written safely, with the reason and the fix."""
    path = Path(os.path.abspath(path))
    info = _stat(path)
    symlink = path.is_symlink()
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise problem("env-file.is-directory").error(EnvFileError, path=path)
    if info is not None and not stat.S_ISREG(info.st_mode):
        what = files.kind_of(info.st_mode)
        raise problem("env-file.not-regular").error(EnvFileError, path=path, what=what)
    if symlink:
        real = Path(os.path.realpath(path))
        _check_links(path)
        if info is None:
            raise problem("env-file.dangling-symlink").error(EnvFileError, path=path, target=real)
        if info.st_uid != _euid():
            raise problem("env-file.link-target-not-yours").error(
                EnvFileError,
                path=path,
                target=real,
                owner=_user_name(info.st_uid),
                you=_user_name(_euid()),
            )
    else:
        real = path
        others = info is not None and info.st_uid != _euid()
        if (
            others
            and info is not None
            and not _someone_elses_file_allowed(path.parent, info.st_uid)
        ):
            raise problem("env-file.others-file-in-shared-folder").error(
                EnvFileError, path=path, owner=_user_name(info.st_uid), folder=path.parent
            )
    folder = real.parent
    if not folder.is_dir():
        raise problem("env-file.no-folder").error(EnvFileError, folder=folder)
    if files.read_only_filesystem(folder):
        raise problem("env-file.read-only-filesystem").error(EnvFileError, path=real)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise problem("env-file.folder-not-writable").error(EnvFileError, folder=folder)
    if info is None:
        return EnvTarget(path, real, exists=False, symlink=symlink)
    mode = stat.S_IMODE(info.st_mode)
    # The owner-write bit is the user's "do not change this file" (root could write anyway).
    if not mode & stat.S_IWUSR or not os.access(real, os.W_OK):
        raise problem("env-file.read-only").error(EnvFileError, path=real, mode=mode)
    if not os.access(real, os.R_OK):
        raise problem("env-file.not-readable").error(EnvFileError, path=real)
    return EnvTarget(
        path,
        real,
        True,
        symlink,
        mode,
        other_links=max(0, info.st_nlink - 1),
        owner=info.st_uid,
        group=info.st_gid,
        identity=(info.st_dev, info.st_ino),
    )


def read_text(target: EnvTarget) -> str:
    """The file's text, refusing what python-dotenv would misread: bad UTF-8, unparsable lines.

    Read through a descriptor that must be the file `inspect` checked (no link followed)."""
    if not target.exists:
        return ""
    raw = _read_checked(target)
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
    """Set `values` in the .env file at `path`, keeping every other line, atomically; then
    read it back and put the original back if any variable does not read as meant."""
    first = inspect(path)
    with locked(first.real):
        target = inspect(path)  # again, now that no one else is writing it
        removed = remove_stale_temp_files(target.real)
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
            _verify_or_restore(target, text, values)
    return WriteOutcome(
        target=target,
        created=not target.exists,
        changed=changed,
        mode=mode,
        tightened_from=tightened,
        replaced=edit.replaced,
        added=edit.added,
        removed_temp_files=removed,
    )


def expected_values(before: str, values: Mapping[str, str]) -> dict[str, str | None]:
    """What python-dotenv should read from the file once `values` are set in `before`'s text:
    every variable as it was, the ones set as given (uninterpolated: `${...}` stays)."""
    return {**_raw_values(before), **values}


def _verify_or_restore(target: EnvTarget, before: str, values: Mapping[str, str]) -> None:
    """Read the file just written back through python-dotenv; if it does not say what was
    meant, put the original back (or remove the new file) and fail, naming the variables."""
    try:
        after = files.read_regular(target.real, follow=False).data.decode("utf-8", "replace")
    except files.FileRefused as exc:
        raise refused(exc) from None
    expected, found = expected_values(before, values), _raw_values(after)
    wrong = sorted(n for n in expected.keys() | found.keys() if expected.get(n) != found.get(n))
    if not wrong:
        return
    if target.exists:
        original = before.encode("utf-8")
        atomic_write(target.real, original, mode=target.mode or PRIVATE_MODE, owner=target)
    else:
        with contextlib.suppress(OSError):
            os.unlink(target.real)
    raise problem("env-file.read-back-mismatch").error(
        EnvFileError, path=target.real, names=", ".join(wrong)
    )


def _raw_values(text: str) -> dict[str, str | None]:
    import io

    from dotenv import dotenv_values

    return dict(dotenv_values(stream=io.StringIO(text), interpolate=False))


def rewrite(path: Path, change: Callable[[str], str], *, write: Writer = os.write) -> None:
    """Atomically replace a small UTF-8 text file (e.g. .gitignore) with `change(its text)`,
    read and written under the lock, keeping its mode (0644 for a new one: not a secret)."""
    target = inspect(path)
    with locked(target.real):
        target = inspect(path)
        remove_stale_temp_files(target.real)
        current = _read_checked(target).decode("utf-8") if target.exists else ""
        _write_replace(target, change(current).encode("utf-8"), target.mode or 0o644, write)


def _write_replace(target: EnvTarget, data: bytes, mode: int, write: Writer) -> None:
    try:
        atomic_write(target.real, data, mode=mode, write=write, owner=target)
    except OSError as exc:
        reason = exc.strerror or exc
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise problem("env-file.write-failed-disk-full").error(
                EnvFileError, path=target.real, reason=reason
            ) from None
        if exc.errno == errno.EROFS:
            raise problem("env-file.read-only-filesystem").error(
                EnvFileError, path=target.real
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
    owner: EnvTarget | None = None,
) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, and rename it over `path`.

    Until the rename nothing at `path` changes; on any error the temporary file is removed and
    the error raised. The temporary file's name (`.NAME.chatenv-PID.XXXXXXXX.tmp`) says whose
    it is, so that a run killed before the rename can be cleaned up after."""
    prefix = f".{path.name}{TEMP_MARK}{os.getpid()}."
    fd, temp = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, mode)
        _keep_owner(fd, owner)
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


def _keep_owner(fd: int, target: EnvTarget | None) -> None:
    """A replaced file keeps its owner when we may set it (root writing a user's file)."""
    if target is None or target.owner is None or not hasattr(os, "fchown"):
        return
    group = target.group if target.group is not None else os.getegid()
    if (target.owner, group) != (_euid(), os.getegid()):
        with contextlib.suppress(OSError):
            os.fchown(fd, target.owner, group)


# -- temporary files left by killed runs --------------------------------------------------------

TEMP_MARK = ".chatenv-"
TEMP_SUFFIX = ".tmp"
#: a temporary file whose writer may still be running (its pid is alive, or unknown) is removed
#: only once it is this old: pids are reused, and no write takes more than a second
STALE_AFTER_S = 600.0


def remove_stale_temp_files(target: Path, *, now: float | None = None) -> list[Path]:
    """Remove the temporary files beside `target` that runs killed mid-write left.

    Called with the lock held, so no live chatenv is writing one. Only files of our own making
    go: the name chatenv gives them (`.NAME.chatenv-PID.XXXXXXXX.tmp`, or the older
    `.NAME.XXXXXXXX.tmp`), regular, ours; and of those only where the writer's pid is gone,
    or the file is older than STALE_AFTER_S (an older name, or a pid reused since)."""
    now = time.time() if now is None else now
    ours = re.compile(
        re.escape(f".{target.name}{TEMP_MARK}")
        + r"(\d+)\.[A-Za-z0-9_]{6,}"
        + re.escape(TEMP_SUFFIX)
    )
    older = re.compile(re.escape(f".{target.name}.") + r"[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))
    removed: list[Path] = []
    try:
        names = os.listdir(target.parent)
    except OSError:
        return removed
    for name in names:
        match = ours.fullmatch(name)
        if match is None and older.fullmatch(name) is None:
            continue
        candidate = target.parent / name
        try:
            info = os.lstat(candidate)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or info.st_uid != _euid():
            continue
        writer_gone = match is not None and not _alive(int(match.group(1)))
        if writer_gone or now - info.st_mtime > STALE_AFTER_S:
            with contextlib.suppress(OSError):
                os.unlink(candidate)
                removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # someone else's process, or cannot tell: not ours to judge
    return True


# -- who owns what --------------------------------------------------------------------------


def _euid() -> int:
    return os.geteuid() if hasattr(os, "geteuid") else 0


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def _stat(path: Path) -> os.stat_result | None:
    """`os.stat` (following links); None when nothing is there; loops and other errors
    refused with their own message."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise problem("env-file.symlink-loop").error(EnvFileError, path=path) from None
        if exc.errno == errno.ENOTDIR:
            raise problem("env-file.no-folder").error(EnvFileError, folder=path.parent) from None
        raise problem("env-file.unreadable").error(
            EnvFileError, path=path, reason=exc.strerror or exc
        ) from None


def _check_links(path: Path) -> None:
    """Every link from `path` to the file must sit in a folder that is yours (`_folder_owner`
    is you or root, and no one else can write it): elsewhere someone else could have planted
    it."""
    current = path
    for _ in range(40):  # the kernel's own limit on links in a row
        try:
            if not stat.S_ISLNK(os.lstat(current).st_mode):
                return
            folder = Path(os.path.realpath(current.parent))
            link = os.readlink(current)
        except OSError:
            return  # a link to nothing: inspect says so
        owner, shared = _folder_owner(folder)
        if shared or owner not in (_euid(), 0):
            why = "which other users can write" if shared else f"which {_user_name(owner)} owns"
            raise problem("env-file.link-in-shared-folder").error(
                EnvFileError, path=path, link=current, folder=folder, why=why
            )
        current = folder / link
    raise problem("env-file.symlink-loop").error(EnvFileError, path=path)


def _someone_elses_file_allowed(folder: Path, file_owner: int) -> bool:
    """Another user's file may be written (and stays theirs) only where no third user could
    have put it: a folder no one but its owner can write, owned by you, root or that user."""
    owner, shared = _folder_owner(folder)
    return not shared and owner in (_euid(), 0, file_owner)


def _folder_owner(folder: Path) -> tuple[int, bool]:
    """The folder's owner, and whether anyone else can add or replace entries in it: others,
    or its group, unless the group is its owner's private one (a group named after the user,
    as most Linux systems give each)."""
    if os.name == "nt":  # pragma: no cover - no POSIX owners; chatenv is tested on POSIX
        return _euid(), False
    try:
        info = os.stat(folder)
    except OSError:
        return -1, True
    shared = bool(info.st_mode & stat.S_IWOTH) or (
        bool(info.st_mode & stat.S_IWGRP) and not _private_group(info.st_gid, info.st_uid)
    )
    return info.st_uid, shared


def _private_group(gid: int, uid: int) -> bool:
    try:
        import grp
        import pwd

        group = grp.getgrgid(gid)
        return group.gr_name == pwd.getpwuid(uid).pw_name and not set(group.gr_mem) - {
            group.gr_name
        }
    except (ImportError, KeyError):
        return False


def _read_checked(target: EnvTarget) -> bytes:
    """The bytes of the file `inspect` checked: not through a link, and the same inode."""
    try:
        contents = files.read_regular(target.real, follow=False)
    except files.FileRefused as exc:
        raise refused(exc) from None
    info = contents.info
    if target.identity is not None and (info.st_dev, info.st_ino) != target.identity:
        raise problem("env-file.changed").error(EnvFileError, path=target.real)
    return contents.data


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
