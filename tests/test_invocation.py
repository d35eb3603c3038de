"""Fixes fitted to the command that was run: the options that matter are added to every
chatenv command a fix names, and a mistyped value gets the line typed, corrected."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from chatenv.problems.invocation import Invocation, did_you_mean, invoked, retyped, tailor
from tests.conftest import clean_env

if TYPE_CHECKING:
    from pathlib import Path

LOCAL = Invocation(argv=("doctor", "--env-file", "conf/.env.local"), env_file="conf/.env.local")


@pytest.mark.parametrize(
    ("fix", "expected"),
    [
        (
            "chatenv configure-key  # a key from https://platform.openai.com/api-keys",
            "chatenv configure-key --env-file conf/.env.local  # a key from "
            "https://platform.openai.com/api-keys",
        ),
        (
            'printf %s "$OPENAI_API_KEY" | chatenv configure-key',
            'printf %s "$OPENAI_API_KEY" | chatenv configure-key --env-file conf/.env.local',
        ),
        (
            'pipe the key in (printf %s "$K" | chatenv configure-key), or run in a terminal',
            'pipe the key in (printf %s "$K" | chatenv configure-key --env-file '
            "conf/.env.local), or run in a terminal",
        ),
        (
            "chatenv configure-key   (or --no-api to test only local generation)",
            "chatenv configure-key --env-file conf/.env.local   (or --no-api to test only local "
            "generation)",
        ),
        # install does not read the .env; a fix that already names a file keeps it
        ("chatenv install local --torch cpu", "chatenv install local --torch cpu"),
        (
            "chatenv configure-key --env-file other/.env  # rewrites it",
            "chatenv configure-key --env-file other/.env  # rewrites it",
        ),
        ("unset OPENAI_API_KEY", "unset OPENAI_API_KEY"),
    ],
)
def test_fixes_name_the_env_file_that_was_given(fix: str, expected: str) -> None:
    assert tailor(fix, LOCAL) == expected


def test_a_path_with_spaces_is_quoted() -> None:
    invocation = Invocation(env_file="my conf/.env")
    assert (
        tailor("chatenv smoke-test", invocation) == "chatenv smoke-test --env-file 'my conf/.env'"
    )


def test_setup_and_install_fixes_keep_the_profiles_and_the_model() -> None:
    invocation = Invocation(argv=("setup", "api"), profiles=("api",), model="./tiny")
    assert tailor("chatenv setup --yes   (or chatenv install, which does not ask)", invocation) == (
        "chatenv setup api --yes --model ./tiny   (or chatenv install api, which does not ask)"
    )
    # a fix that names its own profile keeps it
    assert tailor("chatenv install local --torch cu126", invocation) == (
        "chatenv install local --torch cu126"
    )


def test_without_an_invocation_a_fix_is_as_the_table_gives_it() -> None:
    assert tailor("chatenv configure-key") == "chatenv configure-key"


def test_a_typo_is_answered_with_the_line_typed_and_the_value_corrected() -> None:
    with invoked(Invocation(argv=("install", "locl", "--torch", "cpu"))):
        assert did_you_mean("locl", ["api", "local", "all"], "all", "x") == (
            ": did you mean 'local'?",
            "chatenv install local --torch cpu",
        )
    with invoked(Invocation(argv=("install", "--torch=cu12"))):
        assert retyped("cu12", "cu129", "x") == "chatenv install --torch=cu129"
    # nothing close: the fallback choice; nothing typed on record: the fallback line
    assert did_you_mean("zzz", ["api", "local"], "all", "chatenv install {choice}") == (
        "",
        "chatenv install all",
    )


def _chatenv(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatenv", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_doctor_with_another_env_file_fixes_with_it(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    done = _chatenv("doctor", "--offline", "--env-file", "conf/.env.local", cwd=tmp_path)
    assert "fix: chatenv configure-key --env-file conf/.env.local  # a key from" in done.stdout


@pytest.mark.parametrize(
    ("args", "message", "fix"),
    [
        (
            ("install", "locl", "--torch", "cpu", "--dry-run"),
            "error: unknown profile 'locl': did you mean 'local'? (known: api, local, all)",
            "fix: chatenv install local --torch cpu --dry-run",
        ),
        (
            ("install", "local", "--torch", "cu12", "--dry-run"),
            "error: unknown torch variant 'cu12': did you mean 'cu129'?",
            "fix: chatenv install local --torch cu129 --dry-run",
        ),
        (
            ("setup", "lcal", "--no-api"),
            "error: unknown profile 'lcal': did you mean 'local'?",
            "fix: chatenv setup local --no-api",
        ),
    ],
)
def test_mistyped_values_get_did_you_mean_and_the_corrected_line(
    tmp_path: Path, args: tuple[str, ...], message: str, fix: str
) -> None:
    done = _chatenv(*args, cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(message) and lines[1].strip() == fix


def test_a_mistyped_command_is_suggested(tmp_path: Path) -> None:
    done = _chatenv("doctr", cwd=tmp_path)
    assert done.returncode == 2
    assert "No such command 'doctr'. Did you mean 'doctor'?" in done.stderr
