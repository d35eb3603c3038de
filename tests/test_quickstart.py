"""The README's quick start, as a new user meets it: the package built from a clean checkout,
installed into a fresh virtualenv, and the quick start's chatenv command run there. The command
is read from README.md, so the README and this test cannot drift.

"Clean checkout" here is the working tree as git sees it: tracked files and new files git does
not ignore, copied to a temporary folder without anything ignored (.venv, build output, caches,
a developer's .env). That is what a clone would hold once the tree is committed, and it is what
CI, which runs from a fresh clone, builds too.

The second quick-start command (the test suite itself) is not run here, which would recurse;
its structure is checked instead, and `.ci/run`'s own check is run to prove it is the command
CI runs."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO, clean_env

if TYPE_CHECKING:
    from pathlib import Path

README = REPO / "README.md"


def quick_start_blocks() -> list[str]:
    """The shell blocks of the README's `## Quick start` section, in order."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Quick start\n(.*?)(?=^## )", text, re.M | re.S)
    assert section, "README.md has a '## Quick start' section"
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", section.group(1), re.S)]


def steps(command: str) -> list[str]:
    return [part.strip() for part in command.split("&&")]


def test_first_quick_start_command_makes_a_venv_installs_the_clone_and_runs_doctor() -> None:
    first = steps(quick_start_blocks()[0])
    assert first[0].startswith("python3 -m venv ")
    venv = first[0].split()[-1]
    assert f". {venv}/bin/activate" in first
    assert any(s.startswith("pip install ") and s.split()[-1] in (".", "-e .") for s in first)
    assert first[-1].startswith("chatenv doctor")


def test_second_quick_start_command_is_the_ci_test_command(tmp_path: Path) -> None:
    """The README's test command is what .ci/run runs, as .ci/run's own check finds it."""
    second = quick_start_blocks()[1]
    parts = steps(second)
    assert parts[0].startswith("python3 -m venv ") and parts[1].startswith(". ")
    install = shlex.split(parts[2])
    assert install[:2] == ["pip", "install"]
    assert "-e" in install and ".[test]" in install
    # the CPU wheel from local disk: a bare "torch" would download GBs of CUDA packages
    assert "torch==2.13.0" in install
    assert parts[-1] == "pytest"

    # .ci/run up to its test command, then print the command it checked and would run
    done = _ci_run_up_to_the_test_command(tmp_path, README.read_text(encoding="utf-8"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == second


def test_ci_refuses_to_run_when_the_readme_says_another_test_command(tmp_path: Path) -> None:
    readme = README.read_text(encoding="utf-8").replace("&& pytest\n", "&& pytest -x\n", 1)
    done = _ci_run_up_to_the_test_command(tmp_path, readme)
    assert done.returncode == 1
    assert "README.md's test command is not the one CI runs" in done.stderr
    assert "README.md: python3 -m venv .venv" in done.stderr and "pytest -x" in done.stderr
    assert done.stdout == ""  # stopped before running anything


def _ci_run_up_to_the_test_command(tmp_path: Path, readme: str) -> subprocess.CompletedProcess[str]:
    """.ci/run beside `readme`, stopped where its test command starts (after its own check that
    the command is the README's), printing that command instead of running it."""
    script = (REPO / ".ci/run").read_text(encoding="utf-8")
    marker = "\n# >>> test command ("  # the line itself, not the awk pattern that finds it
    assert script.count(marker) == 1 and "\npytest\n" in script.partition(marker)[2]
    probe = script.replace(marker, '\nprintf "%s\\n" "$ci_command"; exit 0' + marker, 1)
    (tmp_path / ".ci").mkdir()
    (tmp_path / ".ci/run").write_text(probe, encoding="utf-8")
    (tmp_path / "README.md").write_text(readme, encoding="utf-8")
    return subprocess.run(
        ["bash", str(tmp_path / ".ci/run")], capture_output=True, text=True, check=False
    )


def clean_checkout(dest: Path) -> Path:
    """Copy the working tree as git sees it (tracked, or new and not ignored) to `dest`."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: nothing to tell a clean checkout from")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if not source.is_file():  # deleted in the working tree, or a submodule
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return dest


def run(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload, no-any-return]


@pytest.mark.slow
def test_readme_quick_start_works_for_a_new_user(tmp_path: Path) -> None:
    checkout = clean_checkout(tmp_path / "chatenv")
    assert not (checkout / ".venv").exists() and (checkout / "pyproject.toml").is_file()

    # Build the wheel from the clean checkout; pip's own cache makes the build backend and
    # the dependencies local after the first run.
    dist = tmp_path / "dist"
    built = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(checkout)],
        env=clean_env(),
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("chatenv_cli-*.whl")

    venv = tmp_path / "venv"
    made = run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    assert made.returncode == 0, made.stderr
    pip = venv / "bin" / "pip"
    installed = run([str(pip), "install", "-q", str(wheel)], env=clean_env(), timeout=600)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # The quick start's chatenv part, as the README gives it, in the clone, with the new
    # virtualenv activated and a home of its own (no keys, no caches from this machine).
    commands = [s for s in steps(quick_start_blocks()[0]) if s.startswith("chatenv ")]
    assert commands, "the quick start runs chatenv"
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(
        HOME=str(home),
        VIRTUAL_ENV=str(venv),
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPATH=None,
        XDG_CACHE_HOME=None,
    )
    for command in commands:
        done = run(shlex.split(command), cwd=checkout, env=env, timeout=120)
        said = f"{command}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert done.returncode == 0, said
        assert done.stderr == "" or "error" not in done.stderr.lower()
        # the installed wheel answered, not the checkout's sources or this test's environment
        assert str(venv) in done.stdout, done.stdout
        assert "Traceback" not in done.stdout + done.stderr
        # a fresh machine: the profiles are not installed, and doctor says how to get them
        assert "chatenv install api" in done.stdout and "chatenv install local" in done.stdout
