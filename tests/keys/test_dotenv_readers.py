"""Every value chatenv writes reads back exactly in python-dotenv, Node's dotenv, docker
compose and bash, or is refused: ~300 values x 8 kinds of line (tests/keys/dotenv_readers.py)."""

from __future__ import annotations

import pytest

from chatenv.keys.dotenv_file import set_values
from tests.keys.dotenv_readers import (
    bash_reads,
    compose_reads,
    node_answers,
    python_dotenv_reads,
    refused,
    written,
)


def test_python_dotenv_and_compose_read_every_written_value_back() -> None:
    files = written()
    assert len(files) > 1500
    wrong = {t: v for t, v in files.items() if python_dotenv_reads(t) != v}
    assert wrong == {}
    wrong = {t: v for t, v in files.items() if compose_reads(t) != v}
    assert wrong == {}


def test_node_dotenv_reads_every_written_value_back() -> None:
    """Node's answers are recorded (scripts/record_dotenv_readers.py): a text without one is
    a writer change that needs recording again."""
    answers = node_answers()
    files = written()
    missing = sorted(set(files) - set(answers))
    assert missing == [], "run scripts/record_dotenv_readers.py again"
    wrong = {t: (v, answers[t]) for t, v in files.items() if answers[t] != v}
    assert wrong == {}


@pytest.mark.slow
def test_bash_sourcing_reads_every_written_value_back() -> None:
    files = written()
    texts = list(files)
    got = bash_reads(texts)
    wrong = {t: (files[t], g) for t, g in zip(texts, got, strict=True) if g != files[t]}
    assert wrong == {}


def test_the_issue_values_are_quoted_so_the_shell_runs_and_expands_nothing() -> None:
    amp, tilde = (set_values("", {"V": v}).text for v in ("tok&id12345678", "x:~root"))
    assert (amp, tilde) == ("V='tok&id12345678'\n", "V='x:~root'\n")
    assert bash_reads([amp, tilde]) == ["tok&id12345678", "x:~root"]


def test_only_backslashes_and_mixed_quotes_are_refused() -> None:
    for value in refused():
        assert "\\" in value or ("'" in value and set(value) & set('"$`')), value
