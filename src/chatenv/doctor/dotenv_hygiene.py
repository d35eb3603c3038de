"""The dotenv section: is the .env file that holds the key kept private?

Readable by group or others → warning (`chmod 600`). Inside a git work tree and not ignored →
warning (one `git add .` from being committed). Tracked by git, or committed in the past → failure:
the key is in the repository's history, so untracking is not enough; the key must be rotated.
git is asked through the `proc.run` seam; no git, or no repository, skips those checks.
"""

from __future__ import annotations

import os
import shlex
import stat
from typing import TYPE_CHECKING

from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.results import CheckResult, Status

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.doctor.context import Context
    from chatenv.system.proc import Runner

GIT_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class GitFacts:
    #: "tracked", "ignored", "not-ignored", or "unknown" (no git / no repository / error)
    state: str
    #: why the state is unknown
    reason: str | None = None
    #: a commit that once contained the file (when it is not tracked now)
    past_commit: str | None = None
    #: the repository's top folder
    root: Path | None = None


@dataclass(frozen=True)
class DotenvFacts:
    path: Path
    exists: bool
    is_file: bool
    mode: int | None  # permission bits, None on Windows or when stat fails
    git: GitFacts


def git_state(path: Path, run: Runner) -> GitFacts:
    """What git says of the file (`keys.git.status`, which configure-key asks too), and a past
    commit that held it."""
    from chatenv.keys import git

    found = git.status(path, run, timeout=GIT_TIMEOUT_S)
    if not found.available:
        return GitFacts("unknown", "git is not installed")
    if found.error:
        return GitFacts("unknown", found.error)
    if not found.in_work_tree or found.root is None:
        return GitFacts("unknown", "not in a git repository")
    if found.tracked:
        return GitFacts("tracked", root=found.root)
    history = run(
        ["git", "log", "--all", "--format=%h", "-n", "1", "--", path.name],
        timeout=GIT_TIMEOUT_S,
        cwd=path.parent,
    )
    past = history.stdout.strip() or None if history.ok else None
    state = "ignored" if found.ignored else "not-ignored"
    return GitFacts(state, past_commit=past, root=found.root)


def observe(path: Path, run: Runner) -> DotenvFacts:
    exists = path.exists()
    is_file = path.is_file()
    mode = None
    if is_file and os.name != "nt":
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            mode = None
    git = git_state(path, run) if is_file else GitFacts("unknown", "no file")
    return DotenvFacts(path, exists, is_file, mode, git)


def check_permissions(facts: DotenvFacts) -> CheckResult:
    data = {"path": str(facts.path), "mode": None if facts.mode is None else f"{facts.mode:04o}"}
    if facts.mode is None:
        return CheckResult.skip(
            "dotenv.permissions", f"permissions of {facts.path} not checked", data=data
        )
    if facts.mode & 0o077:
        who = " and ".join(
            w for w, bits in (("group", 0o070), ("others", 0o007)) if facts.mode & bits
        )
        return problem("dotenv.permissions-open").check(
            Status.WARN,
            "dotenv.permissions",
            data=data,
            path=facts.path,
            who=who,
            mode=facts.mode,
            quoted_path=shlex.quote(str(facts.path)),
        )
    return CheckResult.ok(
        "dotenv.permissions", f"{facts.path} is private (mode {facts.mode:04o})", data=data
    )


def check_git(facts: DotenvFacts) -> CheckResult:
    git = facts.git
    from chatenv.keys.git import ignore_command

    path = shlex.quote(str(facts.path))
    ignore = ignore_command(facts.path, git.root or facts.path.parent)
    name = shlex.quote(facts.path.name)
    data = {"state": git.state, "reason": git.reason, "past_commit": git.past_commit}
    if git.state == "unknown":
        return CheckResult.skip(
            "dotenv.git", f"git status of {facts.path} not checked: {git.reason}", data=data
        )
    if git.state == "tracked":
        return problem("dotenv.tracked").check(
            Status.FAIL,
            "dotenv.git",
            data=data,
            path=facts.path,
            quoted_path=path,
            ignore=ignore,
        )
    if git.past_commit:
        return problem("dotenv.in-history").check(
            Status.FAIL,
            "dotenv.git",
            data=data,
            path=facts.path,
            commit=git.past_commit,
            name=name,
        )
    if git.state == "not-ignored":
        return problem("dotenv.not-ignored").check(
            Status.WARN,
            "dotenv.git",
            data=data,
            path=facts.path,
            ignore=ignore,
        )
    return CheckResult.ok("dotenv.git", f"{facts.path} is ignored by git", data=data)


def check_dotenv(facts: DotenvFacts) -> list[CheckResult]:
    if not facts.exists:
        return [
            CheckResult.skip(
                "dotenv.file",
                f"no .env file at {facts.path} (fine when the key comes from the environment)",
                data={"path": str(facts.path), "exists": False},
            )
        ]
    if not facts.is_file:
        return [
            CheckResult.skip(
                "dotenv.file",
                f"{facts.path} is not a file",
                data={"path": str(facts.path), "exists": True},
            )
        ]
    return [check_permissions(facts), check_git(facts)]


def collect(ctx: Context) -> list[CheckResult]:
    return check_dotenv(observe(ctx.options.env_path, ctx.seams.runner()))
