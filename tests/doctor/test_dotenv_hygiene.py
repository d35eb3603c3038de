"""The .env section against real files and real git repositories in tmp_path."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from chatenv.doctor.dotenv_hygiene import check_dotenv, observe
from chatenv.results import Status
from chatenv.system import proc

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from chatenv.results import CheckResult
    from chatenv.system.proc import ProcResult

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    return repo


def _env_file(folder: Path, mode: int = 0o600) -> Path:
    path = folder / ".env"
    path.write_text("OPENAI_API_KEY=sk-proj-" + "k" * 40 + "\n")
    path.chmod(mode)
    return path


def _check(path: Path) -> dict[str, CheckResult]:
    return {r.id: r for r in check_dotenv(observe(path, proc.run))}


def test_private_and_ignored_is_ok(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / ".gitignore").write_text(".env\n")
    results = _check(_env_file(repo))
    assert results["dotenv.permissions"].status is Status.OK
    assert results["dotenv.permissions"].summary.endswith("is private (mode 0600)")
    assert results["dotenv.git"].status is Status.OK


def test_readable_by_others_warns_with_chmod(tmp_path: Path) -> None:
    path = _env_file(tmp_path, 0o644)
    perms = _check(path)["dotenv.permissions"]
    assert perms.status is Status.WARN
    assert "open to group and others (mode 0644)" in perms.summary
    assert perms.fix == f"chmod 600 {path}"


def test_not_ignored_warns_with_the_gitignore_line(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    git = _check(_env_file(repo))["dotenv.git"]
    assert git.status is Status.WARN and "not ignored" in git.summary
    assert git.fix == f"printf '\\n%s\\n' .env >> {repo / '.gitignore'}"


def test_tracked_fails_with_untrack_and_rotate(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    path = _env_file(repo)
    _git(repo, "add", ".env")
    git = _check(path)["dotenv.git"]
    assert git.status is Status.FAIL and "tracked by git" in git.summary
    assert git.fix is not None
    assert git.fix.startswith(f"git rm --cached {path} && ")
    assert "rotate the key" in git.fix


def test_committed_in_the_past_fails_even_when_now_ignored(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    path = _env_file(repo)
    _git(repo, "add", ".env")
    _git(repo, "commit", "-qm", "oops")
    _git(repo, "rm", "-q", "--cached", ".env")
    (repo / ".gitignore").write_text(".env\n")
    _git(repo, "add", ".gitignore")
    _git(repo, "commit", "-qm", "untrack")
    git = _check(path)["dotenv.git"]
    assert git.status is Status.FAIL and "committed in the past" in git.summary
    assert git.fix is not None and "rotate the key" in git.fix


def test_outside_a_repository_skips_git(tmp_path: Path) -> None:
    git = _check(_env_file(tmp_path))["dotenv.git"]
    assert git.status is Status.SKIP and "not in a git repository" in git.summary


def test_git_missing_skips_git(tmp_path: Path) -> None:
    def no_git(
        args: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ProcResult:
        return proc.run(args, timeout=timeout, env={"PATH": str(tmp_path / "empty")}, cwd=cwd)

    results = {r.id: r for r in check_dotenv(observe(_env_file(tmp_path), no_git))}
    assert results["dotenv.git"].status is Status.SKIP
    assert "git is not installed" in results["dotenv.git"].summary


def test_missing_file_is_a_skip(tmp_path: Path) -> None:
    (result,) = check_dotenv(observe(tmp_path / ".env", proc.run))
    assert result.status is Status.SKIP and result.id == "dotenv.file"


def test_path_with_brackets_is_quoted_in_fixes(tmp_path: Path) -> None:
    folder = tmp_path / "[local] project"
    folder.mkdir()
    path = _env_file(folder, 0o640)
    perms = _check(path)["dotenv.permissions"]
    assert perms.fix == f"chmod 600 '{path}'"
    assert "open to group (mode 0640)" in perms.summary
