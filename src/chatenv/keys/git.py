"""Is the .env file about to be committed? Asked of git itself, through the `proc.run` seam.

git decides what is ignored (nested .gitignore files, .git/info/exclude, the global excludes
file, negations), so chatenv asks `git check-ignore` rather than reading .gitignore files.
"""

from __future__ import annotations

import os
from pathlib import Path

from chatenv.records import dataclass
from chatenv.system import proc

GIT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class GitStatus:
    #: git could be run at all
    available: bool
    in_work_tree: bool = False
    root: Path | None = None
    tracked: bool = False
    ignored: bool = False
    #: where the ignore rule is: ".gitignore:3:.env"
    ignored_by: str | None = None
    #: git failed in a way we cannot interpret (e.g. "dubious ownership")
    error: str | None = None

    @property
    def exposed(self) -> bool:
        """In a work tree, not ignored: `git add .` would commit it."""
        return self.in_work_tree and not self.tracked and not self.ignored and not self.error


def status(path: Path, run: proc.Runner = proc.run, timeout: float = GIT_TIMEOUT_S) -> GitStatus:
    """What git thinks of `path` (which need not exist yet)."""
    folder = path.parent
    env = proc.child_env(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    top = run(["git", "rev-parse", "--show-toplevel"], timeout=timeout, env=env, cwd=folder)
    if top.not_found:
        return GitStatus(available=False)
    if not top.ok:
        message = _first_line(top.stderr)
        if "not a git repository" in message:
            return GitStatus(available=True)
        return GitStatus(available=True, error=message or f"git exited {top.returncode}")
    root = Path(top.stdout.strip())
    name = path.name
    tracked = run(
        ["git", "ls-files", "--error-unmatch", "--", f":(literal){name}"],
        timeout=timeout,
        env=env,
        cwd=folder,
    )
    ignored = run(
        ["git", "check-ignore", "--verbose", "--", name],
        timeout=timeout,
        env=env,
        cwd=folder,
    )
    if ignored.returncode not in (0, 1):
        error = _first_line(ignored.stderr) or f"git check-ignore exited {ignored.returncode}"
        return GitStatus(True, True, root, tracked.ok, error=error)
    rule = ignored.stdout.split("\t", 1)[0].strip() if ignored.returncode == 0 else None
    return GitStatus(True, True, root, tracked.ok, ignored.returncode == 0, rule or None)


def ignore_entry(path: Path, root: Path) -> str:
    """The .gitignore line for `path`: its name at the top of the repository (which also
    covers same-named files below it), its anchored path further down."""
    real = Path(os.path.realpath(path.parent)) / path.name
    relative = Path(os.path.relpath(real, os.path.realpath(root))).as_posix()
    return relative if "/" not in relative else "/" + relative


def ignore_command(path: Path, root: Path) -> str:
    """The one line every fix gives for keeping `path` out of git, doctor's and
    configure-key's alike: what `configure-key --gitignore` itself writes (`ignore_entry` in
    the repository's top .gitignore)."""
    import shlex

    gitignore = shlex.quote(str(Path(root) / ".gitignore"))
    return f"printf '\\n%s\\n' {shlex.quote(ignore_entry(path, root))} >> {gitignore}"


def gitignore_with(current: str, entry: str) -> str:
    """The text of .gitignore with `entry` appended under a comment saying why."""
    prefix = current
    if prefix and not prefix.endswith("\n"):
        prefix += "\n"
    return prefix + "# secrets (added by chatenv configure-key)\n" + entry + "\n"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""
