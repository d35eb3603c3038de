"""Under GitHub Actions (GITHUB_ACTIONS=true): workflow-command annotations and the Markdown job
summary, on real runs of the console script with the runner's variables set (a temp file as
$GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

import json
import re
import subprocess
from typing import TYPE_CHECKING

import pytest

from chatenv import output
from tests.conftest import clean_env

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import RunCli

KEY = "sk-proj-" + "GhActi0nsKey" * 4 + "Gh42"
ANNOTATION = re.compile(r"^::(error|warning) title=([^:]*)::(.*)$")


def gh_env(tmp_path: Path, summary: Path | None, **extra: str) -> dict[str, str]:
    env = clean_env(HF_HOME=str(tmp_path / "hf"), GITHUB_ACTIONS="true", HOME=str(tmp_path))
    if summary is not None:
        env["GITHUB_STEP_SUMMARY"] = str(summary)
    env.update(extra)
    return env


def unescape(text: str, *, prop: bool = False) -> str:
    """What the runner makes of an escaped value (actions/runner ActionCommand.Unescape)."""
    pairs = [("%0D", "\r"), ("%0A", "\n")]
    if prop:
        pairs += [("%3A", ":"), ("%2C", ",")]
    for escaped, raw in [*pairs, ("%25", "%")]:
        text = text.replace(escaped, raw)
    return text


def annotations(stream: str) -> list[tuple[str, str, str]]:
    found = []
    for line in stream.splitlines():
        match = ANNOTATION.match(line)
        if match:
            level, title, message = match.groups()
            found.append((level, unescape(title, prop=True), unescape(message)))
    return found


def test_text_output_ends_with_annotations_and_the_summary_is_appended(
    run_cli: RunCli, tmp_path: Path
) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("previous step's summary\n")
    done = run_cli("doctor", "--offline", env=gh_env(tmp_path, summary))
    assert done.returncode == 0
    found = annotations(done.stdout)
    assert ("warning", "chatenv doctor: openai.key") in {(lvl, title) for lvl, title, _ in found}
    assert done.stdout.rstrip().splitlines()[-1].startswith("::warning ")
    text = summary.read_text()
    assert text.startswith("previous step's summary\n### ✅ chatenv doctor: ")
    assert "| ⚠️ | openai | `openai.key` |" in text
    again = run_cli("doctor", "--offline", env=gh_env(tmp_path, summary))
    assert again.returncode == 0
    assert summary.read_text().count("### ✅ chatenv doctor: ") == 2  # appended, never truncated


def test_with_json_on_stdout_annotations_go_to_stderr_and_round_trip_escaped(
    run_cli: RunCli, tmp_path: Path
) -> None:
    """A base URL with %, `,` and `:` in it, and the fix on a second line: every message must
    come back exactly as the JSON says, and never break the one-line command."""
    summary = tmp_path / "summary.md"
    env = gh_env(tmp_path, summary, OPENAI_BASE_URL="ftp://proxy%41,host:8000/v1")
    done = run_cli("doctor", "--offline", "--json", env=env)
    doc = json.loads(done.stdout)  # annotations did not get into the document
    assert done.returncode == 1 == doc["exit_code"]
    found = annotations(done.stderr)
    expected = [
        (
            "error" if r["status"] == "fail" else "warning",
            f"chatenv doctor: {r['id']}",
            r["summary"] + (f"\nfix: {r['fix']}" if r["fix"] else ""),
        )
        for r in doc["results"]
        if r["status"] in ("fail", "warn")
    ]
    assert found == expected
    raw = next(line for line in done.stderr.splitlines() if "openai.endpoint" in line)
    assert raw.startswith("::error title=chatenv doctor%3A openai.endpoint::")
    assert "proxy%2541,host:8000" in raw  # % escaped in the message; , and : left as they are
    assert "%0Afix: " in raw


def test_property_escaping_covers_the_separators() -> None:
    assert output._gh_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    assert output._gh_data("a:b,c%d\r\ne") == "a:b,c%25d%0D%0Ae"


def test_an_unwritable_or_missing_summary_is_one_warning_line_never_a_failure(
    run_cli: RunCli, tmp_path: Path
) -> None:
    missing_dir = tmp_path / "no" / "such" / "dir" / "summary.md"
    done = run_cli("doctor", "--offline", "--json", env=gh_env(tmp_path, missing_dir))
    assert done.returncode == 0
    json.loads(done.stdout)
    notices = [line for line in done.stderr.splitlines() if not line.startswith("::")]
    assert notices == [
        f"! cannot append to GITHUB_STEP_SUMMARY ({missing_dir}): No such file or directory"
    ]
    unset = run_cli("doctor", "--offline", env=gh_env(tmp_path, None))
    assert unset.returncode == 0
    assert unset.stderr == "! GITHUB_STEP_SUMMARY is not set: no job summary written\n"


@pytest.mark.parametrize("value", [None, "false"])
def test_outside_github_actions_nothing_extra_is_printed_or_written(
    run_cli: RunCli, tmp_path: Path, value: str | None
) -> None:
    summary = tmp_path / "summary.md"
    env = clean_env(HF_HOME=str(tmp_path / "hf"), GITHUB_STEP_SUMMARY=str(summary))
    if value is not None:
        env["GITHUB_ACTIONS"] = value
    done = run_cli("doctor", "--offline", env=env)
    assert "::" not in done.stdout + done.stderr
    assert not summary.exists()


def test_a_command_stopped_by_an_error_is_annotated_and_summarised(
    run_cli: RunCli, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    done = run_cli("install", "gpu", env=gh_env(tmp_path, summary))
    assert done.returncode == 2
    [(level, title, message)] = annotations(done.stdout)
    assert (level, title) == ("error", "chatenv install: error")
    assert message.startswith("unknown profile 'gpu' (known: api, local, all)\nfix: ")
    assert "**error:** unknown profile 'gpu'" in summary.read_text()


def test_no_secret_reaches_annotations_or_the_summary(run_cli: RunCli, tmp_path: Path) -> None:
    """configure-key in a git work tree (it warns that .env is not ignored) with the key piped,
    then doctor with the key in the environment and in the file."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    summary = tmp_path / "summary.md"
    env = gh_env(tmp_path, summary, GIT_CONFIG_NOSYSTEM="1")
    stored = run_cli("configure-key", "--no-verify", "--no-gitignore", input=KEY, env=env)
    assert stored.returncode == 0, stored.stderr
    assert any(level == "warning" for level, _, _ in annotations(stored.stdout))
    checked = run_cli("doctor", "--offline", "--json", env={**env, "OPENAI_API_KEY": KEY})
    assert checked.returncode == 0
    for text in (stored.stdout, stored.stderr, checked.stdout, checked.stderr):
        assert KEY not in text
    written = summary.read_text()
    assert KEY not in written
    assert "sk-proj-…Gh42" in written
    assert "### ✅ chatenv configure-key" in written and "### ✅ chatenv doctor" in written
