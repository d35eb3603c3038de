"""Shell completion (Typer's `--install-completion` / `--show-completion`) works for bash: the
real script, sourced by a real bash, completes commands, options and choices. docs/
shell-completion.md describes exactly this."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.conftest import CHATENV, clean_env

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def bash(script: str, home: Path) -> subprocess.CompletedProcess[str]:
    """`script` in a non-interactive bash that is chatenv's parent (so chatenv detects bash),
    with chatenv on PATH and a home of its own. The `exit` after it keeps bash from exec'ing a
    lone command in its own place, which would leave chatenv to find a shell among the test
    run's ancestors (there is none when the suite runs detached from a terminal)."""
    env = clean_env(HOME=str(home), PATH=f"{CHATENV.parent}:/usr/bin:/bin")
    return subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", f"{script}\nexit $?"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def complete(words: str) -> str:
    """Bash lines that ask the loaded completion function for `words` (the last word is the
    one being completed) and print the candidates, one per line."""
    count = len(words.split()) - (0 if words.endswith(" ") else 1)
    empty = '""' if words.endswith(" ") else ""
    return (
        f"COMP_WORDS=({words}{empty}); COMP_CWORD={count}; "
        "_chatenv_completion chatenv; printf '%s\\n' \"${COMPREPLY[@]}\""
    )


def test_show_completion_prints_a_bash_script_that_completes(tmp_path: Path) -> None:
    shown = bash("chatenv --show-completion", tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "complete -o default -F _chatenv_completion chatenv" in shown.stdout
    assert "_CHATENV_COMPLETE=complete_bash" in shown.stdout

    loaded = "source <(chatenv --show-completion); "
    commands = bash(loaded + complete("chatenv sm"), tmp_path)
    assert commands.stdout.split() == ["smoke-test"], commands.stderr
    options = bash(loaded + complete("chatenv doctor --"), tmp_path)
    wanted = {"--json", "--offline", "--deep", "--env-file", "--strict"}
    assert wanted <= set(options.stdout.split())
    choices = bash(loaded + complete("chatenv smoke-test --dtype "), tmp_path)
    assert choices.stdout.split() == ["auto", "float32", "float16", "bfloat16"]


def test_install_completion_writes_the_script_and_sources_it_from_bashrc(tmp_path: Path) -> None:
    done = bash("chatenv --install-completion", tmp_path)
    assert done.returncode == 0, done.stderr
    script = tmp_path / ".bash_completions" / "chatenv.sh"
    assert script.is_file()
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()
    # a new shell that reads ~/.bashrc completes
    fresh = bash(f"source {tmp_path / '.bashrc'}; " + complete("chatenv con"), tmp_path)
    assert fresh.stdout.split() == ["configure-key"], fresh.stderr


def test_arguments_and_choices_complete(tmp_path: Path) -> None:
    """Profiles, torch builds and schema commands complete from the lists the code uses."""
    from chatenv.install.variant import known_requests

    loaded = "source <(chatenv --show-completion); "
    profiles = bash(loaded + complete("chatenv install "), tmp_path)
    assert profiles.stdout.split() == ["api", "local", "all"], profiles.stderr
    setup = bash(loaded + complete("chatenv setup lo"), tmp_path)
    assert setup.stdout.split() == ["local"], setup.stderr
    builds = bash(loaded + complete("chatenv install local --torch cu"), tmp_path)
    assert builds.stdout.split() == [v for v in known_requests() if v.startswith("cu")]
    assert len(builds.stdout.split()) >= 2
    schema = bash(loaded + complete("chatenv schema s"), tmp_path)
    assert schema.stdout.split() == ["smoke-test", "setup"], schema.stderr
