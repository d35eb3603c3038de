"""Taking the key: what a paste brings along is removed, what cannot be a key is refused
without ever repeating it, and the kind of key is named."""

from __future__ import annotations

import io

import pytest

from chatenv.errors import UsageError
from chatenv.keys.key_input import check_format, normalize, read_key, validate
from chatenv.results import Status

KEY = "sk-proj-" + "K3y" * 15 + "abcd"


@pytest.mark.parametrize(
    "pasted",
    [
        KEY,
        f"  {KEY}\n",
        f"'{KEY}'",
        f'"{KEY}"\r\n',
        f"“{KEY}”",
        f"OPENAI_API_KEY={KEY}",
        f"export OPENAI_API_KEY='{KEY}'\n",
    ],
)
def test_whitespace_quotes_and_an_assignment_around_the_key_are_removed(pasted: str) -> None:
    assert normalize(pasted)[0] == KEY


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "empty"),
        (f"{KEY}\n{KEY}", "line break"),
        (f"{KEY[:20]} {KEY[20:]}", "space at character 21"),
        (f"{KEY[:10]}\u200b{KEY[10:]}", "ZERO WIDTH SPACE (U+200B) at character 11"),
        (f"{KEY[:5]}'{KEY[5:]}", "at character 6"),
        ("sk-" + "x" * 2000, "too long"),
    ],
)
def test_what_cannot_be_a_key_is_refused_by_position_never_by_content(
    key: str, message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        validate(key)
    assert message in caught.value.message
    assert KEY not in caught.value.message and KEY[:20] not in caught.value.message


@pytest.mark.parametrize(
    ("key", "base_url", "status", "kind"),
    [
        (KEY, None, Status.OK, "project"),
        ("sk-svcacct-" + "a" * 40, None, Status.OK, "service account"),
        ("sk-" + "b" * 48, None, Status.OK, "user"),
        ("sk-admin-" + "c" * 40, None, Status.WARN, "admin"),
        ("ollama", None, Status.WARN, "unknown"),
        ("ollama", "http://localhost:11434/v1", Status.OK, "other"),
    ],
)
def test_the_kind_of_key_is_named_and_odd_ones_warned_about(
    key: str, base_url: str | None, status: Status, kind: str
) -> None:
    result = check_format(key, base_url)
    assert (result.status, result.data["kind"]) == (status, kind)
    assert key not in result.summary or len(key) < 8


def test_an_admin_key_warning_says_it_cannot_make_completions() -> None:
    result = check_format("sk-admin-" + "c" * 40, None)
    assert "Admin API" in result.summary and "completions" in result.summary


def test_piped_input_is_read_and_an_empty_pipe_refused() -> None:
    never = lambda: pytest.fail("no prompt when stdin is piped")  # noqa: E731
    assert read_key(io.StringIO(KEY + "\n"), interactive=False, prompt=never) == KEY + "\n"
    with pytest.raises(UsageError, match="no key on stdin"):
        read_key(io.StringIO("  \n"), interactive=False, prompt=never)


def test_the_prompt_is_used_on_a_terminal_and_end_of_input_is_no_key() -> None:
    assert read_key(io.StringIO(), interactive=True, prompt=lambda: KEY) == KEY

    def eof() -> str:
        raise EOFError

    with pytest.raises(UsageError, match="no key entered"):
        read_key(io.StringIO(), interactive=True, prompt=eof)
