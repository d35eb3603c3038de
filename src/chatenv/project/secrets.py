"""Saving the environment variables a project lists (`[tool.chatenv.env]`) that setup asked
for: into the .env file the way configure-key saves the OpenAI key (chatenv.keys.store: atomic,
mode 600, every other line kept), never into a file git tracks, with a warning when git would
commit it. The values are registered as secrets first, so no output can show them.

configure-key's own options for this (`--hf` and friends) are chatenv.keys' to add; setup
calls this until then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.keys import git, store
from chatenv.keys.mask import register
from chatenv.problems import problem
from chatenv.results import CheckResult, Status
from chatenv.system import proc

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path


def save_values(
    env_file: Path, values: Mapping[str, str], *, run: proc.Runner = proc.run
) -> list[CheckResult]:
    for value in values.values():
        register(value)
    target = store.inspect(env_file)
    repo = git.status(target.real, run)
    if repo.tracked:
        root = repo.root or target.real.parent
        entry = git.ignore_entry(target.real, root)
        raise problem("key.file-tracked").error(
            path=target.real,
            path_entry=entry.lstrip("/"),
            ignore=git.ignore_command(target.real, root),
            root=root,
        )
    outcome = store.update(env_file, values)
    names = ", ".join(values)
    results = [
        CheckResult.ok(
            "project.env.saved",
            f"saved {names} in {env_file} (mode {outcome.mode:o})",
            data={"names": list(values), "env_file": str(env_file)},
        )
    ]
    if repo.exposed and repo.root is not None:
        results.append(
            problem("key.file-not-ignored").check(
                Status.WARN,
                "git",
                path=target.real,
                ignore=git.ignore_command(target.real, repo.root),
            )
        )
    return results
