"""What git thinks of the .env file, asked of a real git in real repositories."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.keys import git
from chatenv.system.proc import ProcResult
from tests.keys.conftest import run_git

if TYPE_CHECKING:
    from pathlib import Path


def test_outside_a_work_tree_nothing_is_exposed(tmp_path: Path) -> None:
    status = git.status(tmp_path / ".env")
    assert status.available and not status.in_work_tree and not status.exposed


def test_an_unignored_file_in_a_repo_is_exposed(repo: Path) -> None:
    status = git.status(repo / ".env")
    assert status.in_work_tree and status.root == repo.resolve()
    assert status.exposed and not status.tracked and not status.ignored


def test_an_ignored_file_names_the_rule(repo: Path) -> None:
    (repo / ".gitignore").write_text("*.log\n.env\n")
    status = git.status(repo / ".env")
    assert status.ignored and not status.exposed
    assert status.ignored_by == ".gitignore:2:.env"


def test_a_tracked_file_is_tracked_even_if_a_rule_matches_it_now(repo: Path) -> None:
    (repo / ".env").write_text("A=1\n")
    run_git(repo, "add", ".env")
    run_git(repo, "commit", "-qm", "oops")
    (repo / ".gitignore").write_text(".env\n")
    assert git.status(repo / ".env").tracked


def test_a_file_in_a_subfolder_gets_an_anchored_entry(repo: Path) -> None:
    sub = repo / "services" / "api"
    sub.mkdir(parents=True)
    assert git.ignore_entry(sub / ".env", repo) == "/services/api/.env"
    assert git.ignore_entry(repo / ".env", repo) == ".env"
    entry = git.ignore_entry(sub / ".env", repo)
    (repo / ".gitignore").write_text(git.gitignore_with("node_modules/", entry))
    assert (repo / ".gitignore").read_text() == (
        "node_modules/\n# secrets (added by chatenv configure-key)\n/services/api/.env\n"
    )
    assert git.status(sub / ".env").ignored


def test_no_git_on_the_machine_is_not_an_error(tmp_path: Path) -> None:
    def no_git(args: object, **_: object) -> ProcResult:
        return ProcResult(("git",), 127, "", "git: No such file or directory", not_found=True)

    status = git.status(tmp_path / ".env", run=no_git)
    assert not status.available and not status.exposed


def test_a_git_error_is_reported_not_guessed(tmp_path: Path) -> None:
    def dubious(args: object, **_: object) -> ProcResult:
        message = "fatal: detected dubious ownership in repository at '/srv/app'\n"
        return ProcResult(("git",), 128, "", message)

    status = git.status(tmp_path / ".env", run=dubious)
    assert status.error and "dubious ownership" in status.error
    assert not status.exposed
