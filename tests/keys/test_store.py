"""Writing the .env file on a real file system: atomic, private, symlink-safe, one at a time."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import textwrap
import time
from typing import TYPE_CHECKING

import pytest
from dotenv import dotenv_values

from chatenv.keys import store
from chatenv.keys.config import EnvFileError
from tests.conftest import REPO, clean_env

if TYPE_CHECKING:
    from pathlib import Path

KEY = "OPENAI_API_KEY"
NEW = "sk-proj-" + "S7ore" * 9 + "wxyz"
ORIGINAL = "# team settings\nexport DATABASE_URL='postgres://x'  # local\nOPENAI_API_KEY=old\n"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(folder: Path) -> list[str]:
    """Anything chatenv could have left behind: temporary files, lock files."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".chatenv-lock")))


def test_a_new_file_is_created_0600(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    outcome = store.update(env, {KEY: NEW})
    assert outcome.created and outcome.changed
    assert env.read_text() == f"{KEY}={NEW}\n"
    assert mode_of(env) == 0o600
    assert leftovers(tmp_path) == []


def test_an_existing_file_keeps_its_other_lines_and_is_tightened(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(ORIGINAL)
    env.chmod(0o644)
    outcome = store.update(env, {KEY: NEW})
    assert env.read_text() == ORIGINAL.replace("=old", f"={NEW}")
    assert (outcome.tightened_from, outcome.mode, mode_of(env)) == (0o644, 0o600, 0o600)
    assert outcome.replaced == {KEY: [3]}


def test_a_private_mode_is_kept(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(ORIGINAL)
    env.chmod(0o600)
    assert store.update(env, {KEY: NEW}).tightened_from is None
    assert mode_of(env) == 0o600


def test_rewriting_the_same_value_changes_nothing(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    store.update(env, {KEY: NEW})
    before = env.stat()
    time.sleep(0.01)
    outcome = store.update(env, {KEY: NEW})
    assert not outcome.changed and not outcome.created
    assert env.stat().st_ino == before.st_ino  # not even replaced


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    real = secrets / "openai.env"
    real.write_text(ORIGINAL)
    link = tmp_path / "project" / ".env"
    link.parent.mkdir()
    link.symlink_to(real)
    outcome = store.update(link, {KEY: NEW})
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert outcome.target.symlink and outcome.target.real == real
    assert dotenv_values(link)[KEY] == NEW
    assert leftovers(secrets) == [] and leftovers(link.parent) == []


def test_a_dangling_symlink_is_refused(tmp_path: Path) -> None:
    link = tmp_path / ".env"
    link.symlink_to(tmp_path / "missing.env")
    with pytest.raises(EnvFileError, match="does not exist"):
        store.update(link, {KEY: NEW})
    assert link.is_symlink() and not (tmp_path / "missing.env").exists()


def test_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".env").mkdir()
    with pytest.raises(EnvFileError, match="is a directory"):
        store.update(tmp_path / ".env", {KEY: NEW})


def test_a_read_only_file_is_refused_and_untouched(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(ORIGINAL)
    env.chmod(0o400)
    with pytest.raises(EnvFileError, match="read-only"):
        store.update(env, {KEY: NEW})
    assert env.read_text() == ORIGINAL and mode_of(env) == 0o400


def test_a_file_that_is_not_utf8_is_refused_and_untouched(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    raw = b"A=1\nNAME=caf\xe9\n"
    env.write_bytes(raw)
    with pytest.raises(EnvFileError, match=r"not valid UTF-8 \(line 2"):
        store.update(env, {KEY: NEW})
    assert env.read_bytes() == raw


def test_malformed_lines_are_refused_with_their_number(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("A=1\nthis line is not KEY=value\n")
    with pytest.raises(EnvFileError, match=r"line 2\)"):
        store.update(env, {KEY: NEW})
    assert env.read_text() == "A=1\nthis line is not KEY=value\n"


def test_a_full_disk_during_the_write_leaves_the_original_intact(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(ORIGINAL)
    env.chmod(0o600)
    calls: list[int] = []

    def write_until_full(fd: int, data: bytes) -> int:
        """The first chunk lands, then the disk is full: what ENOSPC looks like mid-write."""
        calls.append(len(data))
        if len(calls) == 1:
            return os.write(fd, data[:10])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(EnvFileError) as caught:
        store.update(env, {KEY: NEW}, write=write_until_full)
    assert "No space left on device" in caught.value.message
    assert "not changed" in caught.value.message
    assert caught.value.fix and "disk space" in caught.value.fix
    assert len(calls) == 2
    assert env.read_text() == ORIGINAL and mode_of(env) == 0o600
    assert leftovers(tmp_path) == []


def test_a_write_error_is_reported_without_the_key(tmp_path: Path) -> None:
    def broken(fd: int, data: bytes) -> int:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with pytest.raises(EnvFileError) as caught:
        store.update(tmp_path / ".env", {KEY: NEW}, write=broken)
    assert NEW not in caught.value.message + (caught.value.fix or "")
    assert not (tmp_path / ".env").exists()


def test_hard_links_are_counted_so_the_user_can_be_told(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(ORIGINAL)
    os.link(env, tmp_path / "copy.env")
    assert store.update(env, {KEY: NEW}).target.other_links == 1
    assert "old" in (tmp_path / "copy.env").read_text()


def test_the_lock_excludes_a_second_holder_until_released(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from chatenv.keys.store import locked\n"
            f"with locked(Path({str(target)!r})):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(1.0)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=clean_env(),
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(EnvFileError, match="another process"), store.locked(target, timeout=0.2):
        pass
    started = time.monotonic()
    with store.locked(target, timeout=10):
        waited = time.monotonic() - started
    holder.wait(timeout=10)
    assert waited > 0.3
    assert leftovers(tmp_path) == []


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from chatenv.keys.store import update
    path, name, rounds, start = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    while time.time() < start:
        time.sleep(0.001)
    for i in range(rounds):
        update(path, {name: f"{name.lower()}-{i}"})
    """
)


@pytest.mark.slow
def test_concurrent_processes_writing_different_variables_lose_nothing(tmp_path: Path) -> None:
    """Eight processes, each setting its own variable 15 times at once: without the lock,
    read-modify-write races drop variables; with it every one is there at the end."""
    env = tmp_path / ".env"
    env.write_text(ORIGINAL)
    names = [f"VAR_{i}" for i in range(8)]
    start = time.time() + 1.5
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(env), name, "15", str(start)],
            cwd=REPO,
            env=clean_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    values = dotenv_values(env)
    assert {name: values.get(name) for name in names} == {
        name: f"{name.lower()}-14" for name in names
    }
    assert env.read_text().startswith(ORIGINAL)
    assert leftovers(tmp_path) == []
