"""`--format text|json|markdown` (and `--json`) on every command, through the one renderer: the
real console script for what users see, `chatenv.output` directly for the escaping rules."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from chatenv import output
from chatenv.keys.mask import Secret
from chatenv.results import CheckResult, Report
from tests.conftest import server_env
from tests.openai_server import TEST_KEY

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import RunCli
    from tests.openai_server import OpenAIServer

#: a cheap, real invocation of each command (setup's own tests cover setup)
COMMANDS = {
    "doctor": ["doctor", "--offline"],
    "install": ["install", "api", "--dry-run"],
    "configure-key": ["configure-key", "--show"],
    "smoke-test": ["smoke-test", "--no-local"],
}


def env_for(tmp_path: Path, server: OpenAIServer) -> dict[str, str]:
    return server_env(tmp_path, server, OPENAI_API_KEY=TEST_KEY)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_prints_markdown_and_json_from_the_same_report(
    run_cli: RunCli, tmp_path: Path, openai_server: OpenAIServer, command: str
) -> None:
    env = env_for(tmp_path, openai_server)
    as_json = run_cli(*COMMANDS[command], "--json", env=env)
    doc = json.loads(as_json.stdout)
    assert doc["command"] == command and as_json.returncode == doc["exit_code"] == 0
    alias = run_cli(*COMMANDS[command], "--format", "json", env=env)
    assert json.loads(alias.stdout).keys() == doc.keys()

    md = run_cli(*COMMANDS[command], "--format", "markdown", env=env)
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith(f"### ✅ chatenv {command}: ")
    assert TEST_KEY not in md.stdout + md.stderr
    rows = [line for line in md.stdout.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) >= len(doc["results"])
    for result in doc["results"]:
        assert any(f"`{result['id']}`" in row for row in rows), result["id"]


def test_install_markdown_carries_the_plan_and_smoke_markdown_the_reply(
    run_cli: RunCli, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    env = env_for(tmp_path, openai_server)
    install = run_cli("install", "api", "--dry-run", "--format", "markdown", env=env).stdout
    assert "#### Plan" in install
    assert "| action | package | installed | target |" in install
    assert "| keep | openai |" in install
    smoke = run_cli("smoke-test", "--no-local", "--format", "markdown", env=env).stdout
    assert "Reply to `api.completion`:" in smoke
    assert "```text\nHello from the chatenv test server" in smoke


def test_json_and_another_format_together_is_a_usage_error(run_cli: RunCli) -> None:
    for command in ("doctor", "install", "smoke-test"):
        done = run_cli(command, "--json", "--format", "markdown")
        assert done.returncode == 2
        assert done.stderr.splitlines()[0] == (
            "error: --json means --format json, and --format markdown was given too"
        )
        assert done.stdout == ""


def test_a_command_that_stops_with_an_error_still_prints_its_document(run_cli: RunCli) -> None:
    md = run_cli("install", "gpu", "--format", "markdown")
    assert md.returncode == 2
    assert md.stdout.startswith("### ❌ chatenv install: 0 ok")
    assert "**error:** unknown profile 'gpu'" in md.stdout
    assert md.stderr.startswith("error: unknown profile 'gpu'")
    doc = json.loads(run_cli("install", "gpu", "--json").stdout)
    assert doc["exit_code"] == 2 and doc["ok"] is False
    assert doc["error"]["message"].startswith("unknown profile 'gpu'")
    text = run_cli("install", "gpu")
    assert text.stdout == "" and text.returncode == 2


def test_markdown_keeps_table_cells_and_code_spans_intact() -> None:
    report = Report(
        "doctor",
        (
            CheckResult.fail(
                "disk.space",
                "a | pipe\nand a line break <b>",
                section="disk",
                fix="run `du -sh ~` then retry",
                details=["first line\nsecond line"],
            ),
        ),
    )
    text = output.markdown(report)
    row = next(line for line in text.splitlines() if "`disk.space`" in line)
    assert "a \\| pipe and a line break &lt;b>" in row
    assert "``run `du -sh ~` then retry``" in row
    assert row.count(" | ") == 4  # five cells, none split by the text inside
    assert "- `disk.space`\n  - `first line`\n  - `second line`" in text


def test_markdown_never_shows_a_registered_secret() -> None:
    raw = "sk-proj-" + "Md5ecret" * 6 + "Zz99"
    Secret(raw)  # registered for redaction, as configure-key does with the key it reads
    report = Report("doctor", (CheckResult.warn("openai.key", f"leaked {raw}", fix=f"x {raw}"),))
    text = output.markdown(report)
    assert raw not in text and "sk-proj-…Zz99" in text
