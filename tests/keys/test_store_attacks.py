"""The .env writer against a hostile machine: planted links and files, loops, pipes and
devices, read-only mounts, a write that does not read back, files left by killed runs.

The cases with another user need root (to make files another user owns, as that user would):
they run as root, as CI does, and are skipped elsewhere."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dotenv import dotenv_values

from chatenv.keys import store
from chatenv.keys.config import EnvFileError, read_env_file

KEY = "OPENAI_API_KEY"
NEW = "sk-proj-" + "Att4ck" * 8 + "wxyz"
NOBODY = 65534
as_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to act as another user"
)


def shared_folder(parent: Path) -> Path:
    """A world-writable sticky folder, as /tmp is."""
    folder = parent / "tmp"
    folder.mkdir()
    folder.chmod(0o1777)
    return folder


def nobody_file(path: Path, text: str, mode: int = 0o644) -> Path:
    path.write_text(text)
    os.chown(path, NOBODY, NOBODY)
    path.chmod(mode)
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- links and files someone else planted ---------------------------------------------------


@as_root
def test_a_link_planted_in_a_sticky_shared_folder_is_not_written_through(tmp_path: Path) -> None:
    """The trial's case: root in a world-writable sticky folder where another user planted
    .env -> a file of theirs. The key must not land in a file that user can read."""
    home = tmp_path / "nobody-home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    loot = nobody_file(home / "loot.env", "")
    folder = shared_folder(tmp_path)
    link = folder / ".env"
    link.symlink_to(loot)
    os.lchown(link, NOBODY, NOBODY)
    with pytest.raises(EnvFileError) as caught:
        store.update(link, {KEY: NEW})
    assert "other users can write" in caught.value.message
    assert "planted" in caught.value.message
    assert loot.read_text() == "" and mode_of(loot) == 0o644
    assert sorted(p.name for p in folder.iterdir()) == [".env"]


@as_root
def test_a_link_in_another_users_folder_to_a_root_only_ini_file_is_refused(tmp_path: Path) -> None:
    """INI parses as dotenv: through the link, root would rewrite a system file and chmod it."""
    system = tmp_path / "etc"
    system.mkdir()
    ini = system / "app.ini"
    ini.write_text("[main]\nKEY=1\n")
    ini.chmod(0o640)
    project = tmp_path / "project"
    project.mkdir()
    os.chown(project, NOBODY, NOBODY)
    (project / ".env").symlink_to(ini)
    with pytest.raises(EnvFileError, match="which nobody owns"):
        store.update(project / ".env", {KEY: NEW})
    assert ini.read_text() == "[main]\nKEY=1\n" and mode_of(ini) == 0o640


@as_root
def test_a_link_to_another_users_file_is_refused_even_from_a_private_folder(
    tmp_path: Path,
) -> None:
    theirs = nobody_file(tmp_path / "theirs.env", "A=1\n")
    (tmp_path / "project").mkdir()
    link = tmp_path / "project" / ".env"
    link.symlink_to(theirs)
    with pytest.raises(EnvFileError) as caught:
        store.update(link, {KEY: NEW})
    assert "which nobody owns, not you (root)" in caught.value.message
    assert caught.value.fix == f"sudo -u nobody chatenv configure-key --env-file {link}"
    assert theirs.read_text() == "A=1\n"


@as_root
def test_a_link_in_a_group_writable_folder_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.env"
    real.write_text("A=1\n")
    folder = tmp_path / "team"
    folder.mkdir()
    os.chown(folder, -1, 0 if os.getegid() != 0 else 1)  # a group that is not ours alone
    folder.chmod(0o775)
    (folder / ".env").symlink_to(real)
    with pytest.raises(EnvFileError, match="other users can write"):
        store.update(folder / ".env", {KEY: NEW})
    assert real.read_text() == "A=1\n"


def test_a_chain_of_links_in_private_folders_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "secrets" / "openai.env"
    real.parent.mkdir()
    real.write_text("A=1\n")
    middle = tmp_path / "middle.env"
    middle.symlink_to(real)
    link = tmp_path / ".env"
    link.symlink_to("middle.env")  # relative, as `ln -s` makes them
    outcome = store.update(link, {KEY: NEW})
    assert outcome.target.real == real and link.is_symlink() and middle.is_symlink()
    assert dotenv_values(real) == {"A": "1", KEY: NEW}


@as_root
def test_another_users_file_in_a_shared_folder_is_refused(tmp_path: Path) -> None:
    """protected_regular: a .env someone left in /tmp for root to fill in."""
    planted = nobody_file(shared_folder(tmp_path) / ".env", "", mode=0o666)
    with pytest.raises(EnvFileError, match="belongs to nobody"):
        store.update(planted, {KEY: NEW})
    assert planted.read_text() == ""


@as_root
def test_root_writing_a_users_file_in_their_own_folder_keeps_it_theirs(tmp_path: Path) -> None:
    from chatenv.keys.configure import _mode_result

    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    env = nobody_file(home / ".env", "A=1\n", mode=0o600)
    outcome = store.update(env, {KEY: NEW})
    info = env.stat()
    assert (info.st_uid, info.st_gid, mode_of(env)) == (NOBODY, NOBODY, 0o600)
    summary = _mode_result(outcome, lambda _: None).summary
    assert "only you" not in summary and "nobody" in summary


# -- things that are not files ----------------------------------------------------------------


def test_a_symlink_loop_is_named_a_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    (tmp_path / ".env").symlink_to(tmp_path / "a")
    for call in (
        lambda: store.update(tmp_path / ".env", {KEY: NEW}),
        lambda: read_env_file(tmp_path / ".env"),
    ):
        with pytest.raises(EnvFileError) as caught:
            call()
        assert "loop" in caught.value.message
        assert "create" not in (caught.value.fix or "") and "rm " not in (caught.value.fix or "")


def test_a_fifo_nobody_writes_to_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / ".env"
    os.mkfifo(fifo)
    started = time.monotonic()
    for call in (lambda: store.update(fifo, {KEY: NEW}), lambda: read_env_file(fifo)):
        with pytest.raises(EnvFileError, match=r"is a named pipe \(FIFO\), not a regular file"):
            call()
    assert time.monotonic() - started < 5
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_dev_zero_is_refused_without_reading_it() -> None:
    for call in (
        lambda: store.update(Path("/dev/zero"), {KEY: NEW}),
        lambda: read_env_file(Path("/dev/zero")),
    ):
        with pytest.raises(EnvFileError, match="is a character device") as caught:
            call()
        assert "rm " not in (caught.value.fix or "")


def test_dev_stdin_on_an_idle_pipe_is_refused_not_waited_on() -> None:
    """In a child whose stdin is a pipe nobody writes to: /dev/stdin is that pipe."""
    code = (
        "from pathlib import Path\n"
        "from chatenv.keys.config import EnvFileError, read_env_file\n"
        "from chatenv.keys import store\n"
        "for call in (read_env_file, lambda p: store.update(p, {'K': 'v'})):\n"
        "    try:\n"
        "        call(Path('/dev/stdin'))\n"
        "    except EnvFileError as e:\n"
        "        print(e.message, '|', e.fix)\n"
    )
    reader, writer = os.pipe()
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            stdin=reader,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(reader)
        os.close(writer)
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stderr
    for line in lines:
        assert "/dev/stdin is a named pipe (FIFO), not a regular file" in line
        assert "rm /dev/stdin" not in line


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / ".env"
    with big.open("wb") as f:
        f.truncate(2 << 20)  # sparse: 2 MiB of zeros
    with pytest.raises(EnvFileError, match=r"2097152 bytes; a \.env file is never over 1 MiB"):
        read_env_file(big)
    with pytest.raises(EnvFileError, match="never over"):
        store.update(big, {KEY: NEW})


def test_a_file_swapped_between_the_check_and_the_read_is_not_read(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("A=1\n")
    target = store.inspect(env)
    swapped = tmp_path / "other"
    swapped.write_text("B=2\n")
    os.replace(swapped, env)
    with pytest.raises(EnvFileError, match="was replaced while chatenv was reading it"):
        store.read_text(target)


@as_root
def test_a_read_only_mount_is_named_and_not_blamed_on_permissions(tmp_path: Path) -> None:
    mount = tmp_path / "ro"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        (mount / ".env").write_text("A=1\n")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        for path in (mount / ".env", mount / "new.env"):
            with pytest.raises(EnvFileError) as caught:
                store.update(path, {KEY: NEW})
            assert "mounted read-only" in caught.value.message
            assert "permission" not in caught.value.message + (caught.value.fix or "")
        assert (mount / ".env").read_text() == "A=1\n"
    finally:
        subprocess.run(["umount", str(mount)], check=True)


# -- the write is read back ------------------------------------------------------------------


def test_a_write_that_does_not_read_back_is_undone(tmp_path: Path) -> None:
    """A writer that corrupts one byte (as a faulty disk or filter would): python-dotenv reads
    something else back, so the original is put back and the command fails."""
    env = tmp_path / ".env"
    original = "# keep\nA=1\nOPENAI_API_KEY=old\n"
    env.write_text(original)
    env.chmod(0o644)

    def corrupting(fd: int, data: bytes) -> int:
        os.write(fd, data.replace(b"wxyz", b"wx#z"))
        return len(data)

    with pytest.raises(EnvFileError) as caught:
        store.update(env, {KEY: NEW}, write=corrupting)
    assert "did not read back" in caught.value.message and KEY in caught.value.message
    assert NEW not in caught.value.message
    assert env.read_text() == original and mode_of(env) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == [".env"]


def test_a_new_file_that_does_not_read_back_is_removed(tmp_path: Path) -> None:
    def corrupting(fd: int, data: bytes) -> int:
        os.write(fd, data.replace(b"=", b" "))
        return len(data)

    with pytest.raises(EnvFileError, match="did not read back"):
        store.update(tmp_path / ".env", {KEY: NEW}, write=corrupting)
    assert list(tmp_path.iterdir()) == []


# -- temporary files left by killed runs -----------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_temp_files_of_dead_runs_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    dead = tmp_path / f"..env.chatenv-{dead_pid()}.abcd1234.tmp"
    live = tmp_path / f"..env.chatenv-{os.getpid()}.efgh5678.tmp"
    live_but_old = tmp_path / f"..env.chatenv-{os.getpid()}.ijkl9012.tmp"
    older_name_old = tmp_path / "..env.x1y2z3w4.tmp"
    older_name_new = tmp_path / "..env.a1b2c3d4.tmp"
    not_ours = [tmp_path / "..env.swp", tmp_path / "..env.chatenv-1.tmp", tmp_path / ".x.env.tmp"]
    for path in (dead, live, live_but_old, older_name_old, older_name_new, *not_ours):
        path.write_text("OPENAI_API_KEY=sk-half-written")
    hour_ago = time.time() - 3600
    for path in (live_but_old, older_name_old):
        os.utime(path, (hour_ago, hour_ago))
    link = tmp_path / f"..env.chatenv-{dead_pid()}.mnop3456.tmp"
    link.symlink_to(tmp_path / "..env.swp")

    outcome = store.update(env, {KEY: NEW})
    assert sorted(p.name for p in outcome.removed_temp_files) == sorted(
        p.name for p in (dead, live_but_old, older_name_old)
    )
    assert all(p.exists() for p in (live, older_name_new, *not_ours)) and link.is_symlink()


@as_root
def test_temp_files_of_another_user_are_left(tmp_path: Path) -> None:
    theirs = nobody_file(tmp_path / f"..env.chatenv-{dead_pid()}.abcd1234.tmp", "x")
    store.update(tmp_path / ".env", {KEY: NEW})
    assert theirs.exists()


def test_the_temp_file_name_says_whose_it_is(tmp_path: Path) -> None:
    names: list[str] = []

    def spy(fd: int, data: bytes) -> int:
        names.extend(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
        return os.write(fd, data)

    store.update(tmp_path / ".env", {KEY: NEW}, write=spy)
    [name] = names
    assert name.startswith(f"..env.chatenv-{os.getpid()}.") and name.endswith(".tmp")
    assert not (tmp_path / name).exists()  # renamed into place
