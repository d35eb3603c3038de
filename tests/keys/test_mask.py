from __future__ import annotations

from chatenv.keys.mask import Secret, mask, redact


def test_mask_keeps_the_kind_of_key_and_its_last_four() -> None:
    assert mask("sk-proj-" + "a" * 40 + "abcd") == "sk-proj-…abcd"
    assert mask("sk-svcacct-" + "x" * 40 + "wxyz") == "sk-svcacct-…wxyz"
    assert mask("sk-" + "b" * 45 + "1234") == "sk-…1234"


def test_short_or_unknown_values_reveal_nothing_useful() -> None:
    assert mask("") == "(empty)"
    assert mask("sk-abc") == "sk-…"
    assert mask("ollama") == "…"
    assert mask("mytoken-" + "z" * 30) == "…zzzz"


def test_secret_prints_masked_everywhere() -> None:
    raw = "sk-proj-" + "Q" * 40 + "9876"
    secret = Secret(raw)
    assert raw not in str(secret) and raw not in repr(secret) and raw not in f"{secret}"
    assert secret.reveal() == raw


def test_redact_removes_registered_secrets_and_key_shaped_text() -> None:
    raw = "not-an-sk-shaped-token-7777"
    Secret(raw)
    stray = "sk-proj-" + "R" * 30 + "5555"
    text = redact(f"server said {raw}; env had {stray}")
    assert raw not in text and stray not in text
    assert "…7777" in text and "sk-proj-…5555" in text


def test_mask_url_hides_only_the_password() -> None:
    from chatenv.keys.mask import mask_url

    assert mask_url("http://alice:s3cret@proxy:3128") == "http://alice:***@proxy:3128"
    assert mask_url("alice:s3cret@proxy:3128") == "alice:***@proxy:3128"
    assert mask_url("https://api.openai.com/v1") == "https://api.openai.com/v1"
