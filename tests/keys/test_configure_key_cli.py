"""`chatenv configure-key` as users run it: the real console script in a subprocess (or on a
pseudo-terminal), real files, real git, and the test OpenAI server on 127.0.0.1.

Every run goes through `configure`, which also checks that no raw key reached stdout or stderr
and that nothing printed a traceback.
"""

from __future__ import annotations

import ctypes
import json
import os
import pty
import resource
import select
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from dotenv import dotenv_values

from tests.conftest import CHATENV, clean_env
from tests.keys.conftest import run_git
from tests.openai_server import TEST_KEY, Scenario, closed_port

if TYPE_CHECKING:
    from pathlib import Path

    from tests.openai_server import OpenAIServer

KEY = "OPENAI_API_KEY"
#: every raw key any test here hands to chatenv: none may ever be printed
OTHER_KEY = "sk-proj-" + "0ther" * 9 + "Kq7z"
ENV_KEY = "sk-proj-" + "EnvVar" * 8 + "Ev42"
ALL_KEYS = (TEST_KEY, OTHER_KEY, ENV_KEY)
ORIGINAL = (
    "# shared team settings\n"
    "export DATABASE_URL='postgres://localhost/app'  # local db\n"
    'GREETING="hello # not a comment"\n'
    "export OPENAI_API_KEY=sk-old-key-000000000000000000 # personal key\n"
    "\n"
    "LOG_LEVEL=debug\n"
)

Run = Callable[..., subprocess.CompletedProcess[str]]


def assert_clean(stdout: str, stderr: str) -> None:
    for key in ALL_KEYS:
        assert key not in stdout, "raw key on stdout"
        assert key not in stderr, "raw key on stderr"
    assert "Traceback" not in stdout + stderr


def key_env(home: Path, **overrides: str | None) -> dict[str, str]:
    return clean_env(
        HOME=str(home),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        GIT_CONFIG_NOSYSTEM="1",
        **overrides,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def configure(tmp_path: Path, home: Path) -> Run:
    """`configure("--flag", ..., key=... piped on stdin)`: run chatenv configure-key."""

    def run(
        *args: str,
        key: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        **popen: Any,
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(CHATENV), "configure-key", *args],
            input=key if key is not None else "",
            cwd=cwd or tmp_path,
            env=env if env is not None else key_env(home),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **popen,
        )
        assert_clean(done.stdout, done.stderr)
        return done

    return run


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / ".env"
    path.write_text(ORIGINAL)
    path.chmod(0o600)
    return path


def snapshot(path: Path) -> tuple[bytes, int] | None:
    if not path.exists():
        return None
    return path.read_bytes(), stat.S_IMODE(path.stat().st_mode)


def server_args(server: OpenAIServer) -> list[str]:
    return ["--base-url", server.base_url]


# -- the happy path ------------------------------------------------------------------------


def test_a_piped_key_is_verified_and_replaces_the_old_line_in_place(
    configure: Run, env_file: Path, openai_server: OpenAIServer
) -> None:
    done = configure(*server_args(openai_server), "--no-gitignore", key=f"  '{TEST_KEY}'\n")
    assert done.returncode == 0, done.stderr
    expected = (
        ORIGINAL.replace(
            "OPENAI_API_KEY=sk-old-key-000000000000000000 # personal key",
            f"OPENAI_API_KEY={TEST_KEY} # personal key",
        )
        + f"OPENAI_BASE_URL={openai_server.base_url}\n"
    )
    assert env_file.read_text() == expected
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "sk-proj-…Zq9w" in done.stdout and str(env_file) in done.stdout
    assert "key accepted by" in done.stdout and "3 models visible" in done.stdout
    [request] = openai_server.requests
    assert (request.path, request.key) == ("/v1/models", TEST_KEY)


def test_json_output_has_the_documented_shape(
    configure: Run, env_file: Path, openai_server: OpenAIServer
) -> None:
    done = configure(*server_args(openai_server), "--json", "--no-gitignore", key=TEST_KEY)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["schema"] == 1 and document["command"] == "configure-key"
    assert document["mode"] == "write" and document["ok"] is True and document["exit_code"] == 0
    assert document["saved"] is True and document["changed"] is True
    assert document["env_file"] == str(env_file) == document["written_to"]
    assert document["variables"] == {
        KEY: "sk-proj-…Zq9w",
        "OPENAI_BASE_URL": openai_server.base_url,
    }
    verification = document["verification"]
    assert verification["outcome"] == "valid" and verification["mode"] == "auto"
    assert verification["model_count"] == 3 and verification["request_id"].startswith("req_")
    assert {r["id"] for r in document["results"]} >= {"key-format", "verify", "env-file"}
    assert set(document["git"]) >= {"in_work_tree", "tracked", "ignored", "added_to_gitignore"}


def test_a_new_file_is_created_0600_with_organization_and_project(
    configure: Run, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    target = tmp_path / "config" / "dev.env"
    target.parent.mkdir()
    done = configure(
        "--env-file",
        str(target),
        *server_args(openai_server),
        "--organization",
        "org-chatenvtest",
        "--project",
        "proj_abc123",
        key=TEST_KEY,
    )
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    values = dotenv_values(target)
    assert values[KEY] == TEST_KEY
    assert values["OPENAI_ORG_ID"] == "org-chatenvtest"
    assert values["OPENAI_PROJECT_ID"] == "proj_abc123"
    [request] = openai_server.requests
    assert request.headers["openai-organization"] == "org-chatenvtest"
    assert request.headers["openai-project"] == "proj_abc123"


def test_a_group_readable_file_is_tightened_with_a_notice(configure: Run, env_file: Path) -> None:
    env_file.chmod(0o644)
    done = configure("--no-verify", key=OTHER_KEY)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "0644" in done.stderr and "0600" in done.stderr


def test_a_symlinked_env_is_written_through_to_its_target(configure: Run, tmp_path: Path) -> None:
    real = tmp_path / "vault" / "openai.env"
    real.parent.mkdir()
    real.write_text(ORIGINAL)
    (tmp_path / ".env").symlink_to(real)
    done = configure("--no-verify", key=OTHER_KEY)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / ".env").is_symlink()
    assert dotenv_values(real)[KEY] == OTHER_KEY
    assert str(real) in done.stdout


def test_key_option_works_but_warns_about_shell_history(configure: Run, env_file: Path) -> None:
    done = configure("--no-verify", "--key", OTHER_KEY)
    assert done.returncode == 0, done.stderr
    assert "shell history" in done.stderr
    assert dotenv_values(env_file)[KEY] == OTHER_KEY


def test_a_different_key_in_the_environment_is_reported_as_overriding(
    configure: Run, env_file: Path, home: Path
) -> None:
    done = configure("--no-verify", key=OTHER_KEY, env=key_env(home, OPENAI_API_KEY=ENV_KEY))
    assert done.returncode == 0, done.stderr
    assert "also set in this shell's environment (sk-proj-…Ev42)" in done.stdout
    assert "unset OPENAI_API_KEY" in done.stdout
    assert dotenv_values(env_file)[KEY] == OTHER_KEY


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["--show"], ["--no-verify", "--key", OTHER_KEY]],
    ids=["help", "show", "no-verify"],
)
def test_paths_without_verification_never_import_openai(
    argv: list[str], env_file: Path, openai_server: OpenAIServer, home: Path
) -> None:
    probe = (
        "import sys, json\nfrom chatenv.cli import app\n"
        "sys.argv = ['chatenv', 'configure-key', *json.loads(sys.argv[1])]\n"
        "try:\n    app(prog_name='chatenv')\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('OPENAI-IMPORTED=' + str('openai' in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(argv)],
        cwd=env_file.parent,
        env=key_env(home),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert_clean(done.stdout, done.stderr)
    assert done.stderr.endswith("OPENAI-IMPORTED=False")
    assert openai_server.requests == []


# -- verification outcomes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "words"),
    [
        (Scenario.UNAUTHORIZED, "rejected (401)"),
        (Scenario.FORBIDDEN, "not allowed"),
        (Scenario.REGION, "country or region"),
        (Scenario.QUOTA, "insufficient_quota"),
        (Scenario.HTML, "not what an OpenAI-compatible API sends"),
    ],
)
def test_a_refused_key_is_not_saved_and_the_file_is_untouched(
    configure: Run,
    env_file: Path,
    openai_server: OpenAIServer,
    scenario: Scenario,
    words: str,
) -> None:
    openai_server.set(scenario)
    before = snapshot(env_file)
    done = configure(*server_args(openai_server), key=TEST_KEY)
    assert done.returncode == 1
    assert words in done.stdout and "(not saved)" in done.stdout
    assert "--save-anyway" in done.stdout
    assert snapshot(env_file) == before


def test_save_anyway_writes_a_refused_key_but_still_exits_1(
    configure: Run, env_file: Path, openai_server: OpenAIServer
) -> None:
    openai_server.set(Scenario.QUOTA)
    done = configure(*server_args(openai_server), "--save-anyway", "--json", key=TEST_KEY)
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert document["saved"] is True and document["verification"]["outcome"] == "invalid"
    assert document["verification"]["failure"]["kind"] == "insufficient-quota"
    assert dotenv_values(env_file)[KEY] == TEST_KEY


def test_a_rate_limited_key_was_accepted_and_is_saved_with_a_warning(
    configure: Run, env_file: Path, openai_server: OpenAIServer
) -> None:
    openai_server.set(Scenario.RATE_LIMIT)
    done = configure(*server_args(openai_server), key=TEST_KEY)
    assert done.returncode == 0, done.stdout
    assert "rate limited" in done.stdout and "retry after 20 s" in done.stdout
    assert dotenv_values(env_file)[KEY] == TEST_KEY


def test_unreachable_server_saves_unverified_by_default_but_not_with_verify(
    configure: Run, env_file: Path
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    before = snapshot(env_file)
    strict = configure("--base-url", url, "--verify", key=OTHER_KEY)
    assert strict.returncode == 1
    assert "connection refused" in strict.stdout and "(not saved)" in strict.stdout
    assert snapshot(env_file) == before
    default = configure("--base-url", url, key=OTHER_KEY)
    assert default.returncode == 0, default.stdout
    assert "saved without verification" in default.stdout
    assert dotenv_values(env_file)[KEY] == OTHER_KEY


def test_a_server_error_names_the_request_id(
    configure: Run, env_file: Path, openai_server: OpenAIServer
) -> None:
    openai_server.set(Scenario.SERVER_ERROR)
    done = configure(*server_args(openai_server), "--verify", "--json", key=TEST_KEY)
    assert done.returncode == 1
    failure = json.loads(done.stdout)["verification"]["failure"]
    assert failure["kind"] == "server-error" and failure["status_code"] == 500
    assert failure["request_id"].startswith("req_") and failure["request_id"] in failure["summary"]


def test_a_slow_server_times_out_within_the_timeout_option(
    configure: Run, env_file: Path, openai_server: OpenAIServer
) -> None:
    openai_server.set(Scenario.SLOW, slow_s=30)
    started = time.monotonic()
    done = configure(*server_args(openai_server), "--verify", "--timeout", "0.5", key=TEST_KEY)
    assert done.returncode == 1
    assert "did not answer in time" in done.stdout
    assert time.monotonic() - started < 15


# -- bad input: one clear line, non-zero exit, the file untouched ----------------------------

BAD_INPUTS: list[tuple[str, list[str], str | None, str, int]] = [
    # (name, args, piped key, expected words on stderr, exit code)
    ("empty key", [], "", "no key on stdin", 2),
    ("blank key", [], "  \n\t\n", "no key on stdin", 2),
    ("empty quotes", [], "''\n", "the key is empty", 2),
    ("newline inside", [], f"{OTHER_KEY}\n{OTHER_KEY}\n", "line break", 2),
    ("space inside", [], f"{OTHER_KEY[:12]} {OTHER_KEY[12:]}", "space at character 13", 2),
    ("zero-width space", [], f"{OTHER_KEY[:9]}\u200b{OTHER_KEY[9:]}", "ZERO WIDTH SPACE", 2),
    ("bad base url", ["--base-url", "localhost:8000"], OTHER_KEY, "http:// or https://", 2),
    ("bad timeout", ["--timeout", "0"], OTHER_KEY, "--timeout", 2),
    ("show with key", ["--show", "--key", OTHER_KEY], None, "--show writes nothing", 2),
]


@pytest.mark.parametrize(
    ("args", "piped", "words", "code"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_key_input_is_one_line_and_changes_nothing(
    configure: Run,
    env_file: Path,
    args: list[str],
    piped: str | None,
    words: str,
    code: int,
) -> None:
    before = snapshot(env_file)
    done = configure("--no-verify", *args, key=piped)
    assert done.returncode == code
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and words in lines[0]
    assert len([line for line in lines if not line.startswith(("  fix:", "!"))]) == 1
    assert snapshot(env_file) == before


def _make_directory(path: Path) -> None:
    path.mkdir()


def _make_not_utf8(path: Path) -> None:
    path.write_bytes(ORIGINAL.encode() + b"NAME=caf\xe9\n")


def _make_malformed(path: Path) -> None:
    path.write_text(ORIGINAL + "this is not a dotenv line\n")


def _make_read_only(path: Path) -> None:
    path.write_text(ORIGINAL)
    path.chmod(0o400)


def _make_dangling_link(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere.env")


def _make_loop(path: Path) -> None:
    path.symlink_to(path.parent / "loop.env")
    (path.parent / "loop.env").symlink_to(path)


def _make_fifo(path: Path) -> None:
    os.mkfifo(path)


BAD_FILES = [
    ("directory", _make_directory, "is a directory"),
    ("symlink loop", _make_loop, "is a symbolic link that leads back to itself (a loop)"),
    ("fifo", _make_fifo, "is a named pipe (FIFO), not a regular file"),
    ("not utf-8", _make_not_utf8, "not valid UTF-8 (line 7"),
    ("malformed line", _make_malformed, "cannot parse (line 7)"),
    ("read-only", _make_read_only, "read-only (mode 0400)"),
    ("dangling symlink", _make_dangling_link, "does not exist"),
]


@pytest.mark.parametrize(
    ("make", "words"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_a_file_that_cannot_be_written_safely_is_refused_untouched(
    configure: Run,
    tmp_path: Path,
    openai_server: OpenAIServer,
    make: Callable[[Path], None],
    words: str,
) -> None:
    target = tmp_path / ".env"
    make(target)
    before = snapshot(target) if target.is_file() else None
    done = configure(*server_args(openai_server), key=TEST_KEY)
    assert done.returncode == 1
    assert done.stdout == ""
    first = done.stderr.strip().splitlines()[0]
    assert first.startswith("error: ") and words in first
    assert "fix:" in done.stderr
    assert openai_server.requests == []  # refused before any network call
    if before is not None:
        assert snapshot(target) == before
    assert os.path.lexists(target)


def _drop_root_override() -> None:
    """In the child, before exec: take CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH out of the
    capability bounding set, so that even root meets the folder's permission bits."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def permissions_apply() -> dict[str, Any]:
    """subprocess options under which permission bits are enforced, even for root."""
    return {"preexec_fn": _drop_root_override} if os.geteuid() == 0 else {}


def test_an_unwritable_folder_is_refused(configure: Run, tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / ".env").write_text(ORIGINAL)
    (folder / ".env").chmod(0o644)
    folder.chmod(0o555)
    probe = subprocess.run(
        [sys.executable, "-c", f"open({str(folder / 'probe')!r}, 'w')"],
        capture_output=True,
        check=False,
        **permissions_apply(),
    )
    if probe.returncode == 0:
        folder.chmod(0o755)
        pytest.skip("cannot make a folder unwritable for this user here")
    before = snapshot(folder / ".env")
    done = configure(
        "--no-verify", "--env-file", str(folder / ".env"), key=OTHER_KEY, **permissions_apply()
    )
    folder.chmod(0o755)
    assert done.returncode == 1
    first = done.stderr.strip().splitlines()[0]
    assert first.startswith("error: cannot write in the folder")
    assert snapshot(folder / ".env") == before


def test_a_full_disk_during_the_write_leaves_the_original(configure: Run, tmp_path: Path) -> None:
    """A real write failure: the file-size limit (RLIMIT_FSIZE) stops the temporary file
    part-way, as a full disk would; the original must survive whole."""
    env = tmp_path / ".env"
    padding = "".join(f"SETTING_{i}=value-{i:04d}\n" for i in range(300))
    env.write_text(ORIGINAL + padding)
    env.chmod(0o600)
    before = snapshot(env)
    limit = len(ORIGINAL + padding) // 2

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = configure("--no-verify", key=OTHER_KEY, preexec_fn=small_files)
    assert done.returncode == 1
    first = done.stderr.strip().splitlines()[0]
    assert "could not write" in first and "the file was not changed" in first
    assert snapshot(env) == before
    assert [p.name for p in tmp_path.iterdir() if p.name not in {".env", "home"}] == []


# -- the terminal: hidden prompt, Ctrl-C ----------------------------------------------------


def run_on_terminal(
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    steps: list[tuple[str, bytes]],
    program: list[str] | None = None,
) -> tuple[int, str]:
    """Run chatenv (or `program`, e.g. another venv's `python -m chatenv`) on a
    pseudo-terminal; for each (text, reply) wait for text, then type."""
    argv = [*(program or [str(CHATENV)]), *args]
    pid, fd = pty.fork()
    if pid == 0:  # the child: become chatenv at once
        os.chdir(cwd)
        os.execve(argv[0], argv, env)
    seen = b""
    deadline = time.monotonic() + 60

    def read_some() -> bytes:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            return b""
        try:
            return os.read(fd, 4096)
        except OSError:  # EIO: the child has exited
            return b"<eof>"

    for text, reply in steps:
        while text.encode() not in seen:
            chunk = read_some()
            if chunk == b"<eof>" or time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"never saw {text!r}; got {seen!r}")
            seen += chunk
        os.write(fd, reply)
    while (chunk := read_some()) != b"<eof>" and time.monotonic() < deadline:
        seen += chunk
    if chunk != b"<eof>":  # still running at the deadline: fail, never wait on it for ever
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
        raise AssertionError(f"chatenv did not exit within 60 s; the terminal showed {seen!r}")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_the_hidden_prompt_reads_the_key_without_echoing_it(env_file: Path, home: Path) -> None:
    code, screen = run_on_terminal(
        ["configure-key", "--no-verify"],
        env_file.parent,
        key_env(home),
        [("OpenAI API key (input hidden):", OTHER_KEY.encode() + b"\r")],
    )
    assert code == 0, screen
    assert OTHER_KEY not in screen
    assert "sk-proj-…Kq7z" in screen
    assert dotenv_values(env_file)[KEY] == OTHER_KEY


def test_ctrl_c_at_the_prompt_exits_130_and_writes_nothing(env_file: Path, home: Path) -> None:
    before = snapshot(env_file)
    code, screen = run_on_terminal(
        ["configure-key", "--no-verify"],
        env_file.parent,
        key_env(home),
        [("OpenAI API key (input hidden):", b"sk-proj-half-typed\x03")],
    )
    assert code == 130
    assert "interrupted" in screen and "Traceback" not in screen
    assert snapshot(env_file) == before


# -- git -------------------------------------------------------------------------------------


def test_a_tracked_env_file_is_refused_with_how_to_untrack_and_rotate(
    configure: Run, repo: Path
) -> None:
    (repo / ".env").write_text(ORIGINAL)
    run_git(repo, "add", ".env")
    run_git(repo, "commit", "-qm", "add env")
    before = snapshot(repo / ".env")
    done = configure("--no-verify", key=OTHER_KEY, cwd=repo)
    assert done.returncode == 1
    assert "tracked by git" in done.stderr
    assert "git rm --cached .env" in done.stderr and "rotate" in done.stderr
    assert snapshot(repo / ".env") == before
    forced = configure("--no-verify", "--force", key=OTHER_KEY, cwd=repo)
    assert forced.returncode == 0
    assert "tracked by git" in forced.stdout
    assert dotenv_values(repo / ".env")[KEY] == OTHER_KEY


def test_gitignore_option_adds_the_file_and_git_then_ignores_it(configure: Run, repo: Path) -> None:
    (repo / ".gitignore").write_text("node_modules/")
    done = configure("--no-verify", "--gitignore", key=OTHER_KEY, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert (
        (repo / ".gitignore")
        .read_text()
        .endswith("node_modules/\n# secrets (added by chatenv configure-key)\n.env\n")
    )
    assert (
        run_git(repo, "status", "--porcelain", "--untracked-files=all").strip() == "?? .gitignore"
    )
    again = configure("--no-verify", key=OTHER_KEY, cwd=repo)
    assert "ignored by git (.gitignore:3:.env)" in again.stdout


def test_a_read_only_gitignore_is_a_warning_after_the_key_is_saved(
    configure: Run, repo: Path
) -> None:
    (repo / ".gitignore").write_text("node_modules/\n")
    (repo / ".gitignore").chmod(0o444)
    done = configure("--no-verify", "--gitignore", key=OTHER_KEY, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "could not add .env to" in done.stdout and "read-only" in done.stdout
    assert (repo / ".gitignore").read_text() == "node_modules/\n"
    assert dotenv_values(repo / ".env")[KEY] == OTHER_KEY


def test_without_a_terminal_or_option_the_file_is_left_unignored_with_a_warning(
    configure: Run, repo: Path
) -> None:
    done = configure("--no-verify", key=OTHER_KEY, cwd=repo)
    assert done.returncode == 0
    assert "not ignored by git" in done.stdout and "--gitignore" in done.stdout
    assert not (repo / ".gitignore").exists()


def test_on_a_terminal_the_user_is_asked_about_gitignore(repo: Path, home: Path) -> None:
    code, screen = run_on_terminal(
        ["configure-key", "--no-verify"],
        repo,
        key_env(home),
        [
            ("OpenAI API key (input hidden):", OTHER_KEY.encode() + b"\r"),
            ("add '.env' to", b"y\r"),
        ],
    )
    assert code == 0, screen
    assert (repo / ".gitignore").read_text().endswith(".env\n")
    assert OTHER_KEY not in screen


def test_a_file_in_a_subfolder_is_anchored_in_the_top_gitignore(configure: Run, repo: Path) -> None:
    (repo / "services" / "api").mkdir(parents=True)
    done = configure(
        "--no-verify", "--gitignore", "--env-file", "services/api/.env", key=OTHER_KEY, cwd=repo
    )
    assert done.returncode == 0, done.stderr
    assert (repo / ".gitignore").read_text().endswith("/services/api/.env\n")


# -- --show ----------------------------------------------------------------------------------


def test_show_says_where_the_key_comes_from_masked(
    configure: Run, env_file: Path, home: Path
) -> None:
    configure("--no-verify", key=OTHER_KEY)
    from_file = configure("--show")
    assert from_file.returncode == 0
    assert f"OPENAI_API_KEY=sk-proj-…Kq7z from {env_file}" in from_file.stdout
    both = configure("--show", "--json", env=key_env(home, OPENAI_API_KEY=ENV_KEY))
    document = json.loads(both.stdout)
    assert document["mode"] == "show"
    assert document["key"] == {"masked": "sk-proj-…Ev42", "source": "environment"}
    assert any(r["id"] == "key-conflict" for r in document["results"])


def test_show_without_any_key_fails_with_the_fix(configure: Run, tmp_path: Path) -> None:
    done = configure("--show")
    assert done.returncode == 1
    assert "no OPENAI_API_KEY" in done.stdout and "chatenv configure-key" in done.stdout


# -- concurrency and the leak scan -----------------------------------------------------------


@pytest.mark.slow
def test_concurrent_runs_never_interleave(env_file: Path, home: Path) -> None:
    keys = [f"sk-proj-{i}" + "C0ncurrent" * 4 + f"{i:04d}" for i in range(6)]
    procs = [
        subprocess.Popen(
            [str(CHATENV), "configure-key", "--no-verify", "--no-gitignore"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=env_file.parent,
            env=key_env(home),
            text=True,
        )
        for _ in keys
    ]
    for proc, key in zip(procs, keys, strict=True):
        assert proc.stdin is not None
        proc.stdin.write(key)
        proc.stdin.close()
    for proc in procs:
        proc.wait(timeout=120)
        assert proc.returncode == 0
    text = env_file.read_text()
    assert text.count("OPENAI_API_KEY=") == 1
    assert dotenv_values(env_file)[KEY] in keys
    assert text.replace(dotenv_values(env_file)[KEY] or "", "X") == ORIGINAL.replace(
        "sk-old-key-000000000000000000", "X"
    )
    assert sorted(p.name for p in env_file.parent.iterdir()) == [".env", "home"]


def test_the_raw_key_never_appears_on_any_path(
    configure: Run, env_file: Path, openai_server: OpenAIServer, home: Path
) -> None:
    """A server that echoes the whole key in its 401, verbose output, JSON, the environment
    conflict, --show: every output is scanned (also by `configure` on each run)."""
    outputs = []
    openai_server.set(Scenario.UNAUTHORIZED_ECHO)
    for args in (
        [*server_args(openai_server), "--verbose"],
        [*server_args(openai_server), "--json", "--save-anyway"],
    ):
        done = configure(*args, key=TEST_KEY, env=key_env(home, OPENAI_API_KEY=ENV_KEY))
        outputs.append(done.stdout + done.stderr)
        assert done.returncode == 1
    outputs.append(
        configure("--show", "--verbose", env=key_env(home, OPENAI_API_KEY=ENV_KEY)).stdout
    )
    outputs.append(configure("--show", "--json").stdout)
    joined = "\n".join(outputs)
    assert "Incorrect API key provided: sk-proj-…Zq9w" in joined  # the echo, masked
    for key in ALL_KEYS:
        assert key not in joined
    assert dotenv_values(env_file)[KEY] == TEST_KEY  # saved anyway, on the second run
