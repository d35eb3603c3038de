"""The renderer's doctor-facing behaviour: titles, marks, details, markup safety, pipes."""

from __future__ import annotations

import io
import os

import pytest

from chatenv import output
from chatenv.results import CheckResult, Report


def _report() -> Report:
    return Report(
        command="doctor",
        results=(
            CheckResult.ok("gpu.0", "GPU 0: [bold]not bold[/bold]", section="gpu"),
            CheckResult.fail(
                "dotenv.git",
                "/tmp/[local]/.env is tracked",
                section="dotenv",
                details=("Traceback (most recent call last):\n  File x\nValueError: boom\n",),
                fix="git rm --cached '/tmp/[local]/.env'",
            ),
        ),
        data={"elapsed_s": 0.123},
    )


def _text(report: Report, **kw: bool) -> str:
    return "\n".join(line.plain for line in output.human_lines(report.results, **kw))


def test_sections_get_titles_and_machine_text_stays_literal() -> None:
    text = _text(_report())
    assert text.splitlines()[0] == "GPU and driver"
    assert "GPU 0: [bold]not bold[/bold]" in text
    assert "fix: git rm --cached '/tmp/[local]/.env'" in text


def test_multi_line_details_are_indented_line_by_line() -> None:
    lines = _text(_report(), verbose=True).splitlines()
    assert "      ValueError: boom" in lines and "        File x" in lines


def test_terminals_without_unicode_get_ascii_marks() -> None:
    text = _text(_report(), ascii_only=True)
    assert "  ok GPU 0" in text and "  x /tmp/[local]/.env" in text


def test_summary_line_counts_and_time() -> None:
    assert output.summary_line(_report()).plain.strip() == (
        "1 ok, 0 warnings, 1 failed, 0 skipped in 0.12 s"
    )


def test_json_to_a_closed_pipe_exits_quietly() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as stream, pytest.raises(SystemExit) as stopped:
        output.print_json({"schema": 1, "pad": "x" * 200_000}, file=stream)
    assert stopped.value.code == 1


def test_json_is_redacted() -> None:
    key = "sk-proj-" + "Q" * 40 + "zz99"
    buffer = io.StringIO()
    output.print_json({"summary": f"leaked {key}"}, file=buffer)
    assert key not in buffer.getvalue() and "sk-proj-…zz99" in buffer.getvalue()
