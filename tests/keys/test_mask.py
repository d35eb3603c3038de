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


def test_mask_url_hides_credentials_and_secret_query_values() -> None:
    from chatenv.keys.mask import mask_url

    assert mask_url("http://user:PASSWORD123@host/v1") == "http://user:***@host/v1"
    assert mask_url("https://ghp_0123456789abcdefABCD@host/v1") == "https://***@host/v1"
    assert mask_url("http://sk-proj-" + "a" * 30 + ":x@host/") == "http://***:***@host/"
    assert (
        mask_url("https://r.openai.azure.com/openai?api-key=abc&api-version=2024-02-01")
        == "https://r.openai.azure.com/openai?api-key=***&api-version=2024-02-01"
    )
    for name in ("token", "access_token", "X-Amz-Signature", "client_secret", "key", "code"):
        assert mask_url(f"https://h/p?{name}=s3cr3t&page=2") == f"https://h/p?{name}=***&page=2"
    assert mask_url("http://localhost:11434/v1?page=2") == "http://localhost:11434/v1?page=2"


def test_redact_masks_every_url_in_running_text() -> None:
    text = redact(
        "GET http://bob:Hunter2-xyz@10.0.0.5:8000/v1/models?apikey=zz9 failed; "
        "'https://tok0123456789abcdefgh@proxy:3128' refused"
    )
    assert "Hunter2-xyz" not in text and "zz9" not in text and "tok0123456789" not in text
    assert "http://bob:***@10.0.0.5:8000/v1/models?apikey=***" in text
    assert "'https://***@proxy:3128'" in text


def test_url_secrets_are_masked_wherever_they_appear_once_registered() -> None:
    from chatenv.keys.mask import register_url

    register_url("http://svc:Pa55-w0rd-77@host/v1?token=Q-token-999")
    text = redact(
        "auth failed for Pa55-w0rd-77 (token Q-token-999); Basic c3ZjOlBhNTUtdzByZC03Nw=="
    )
    assert "Pa55-w0rd-77" not in text and "Q-token-999" not in text
    assert "c3ZjOlBhNTUtdzByZC03Nw==" not in text  # base64 of svc:Pa55-w0rd-77


def test_an_echo_without_the_prefix_or_only_a_piece_of_the_key_is_masked() -> None:
    raw = "sk-proj-" + "Mn4Bv7Cx2Zl9" * 4 + "Ty56"
    Secret(raw)
    for echoed in (raw[8:], raw[8:30], raw[20:60], "xx" + raw[15:40] + "yy"):
        text = redact(f"Incorrect API key provided: {echoed}.")
        assert echoed not in text and "sk-proj-…Ty56" in text, text


def test_short_keys_are_masked_where_they_stand_as_a_word() -> None:
    Secret("tk7q")
    assert redact("key tk7q rejected ('tk7q')") == "key … rejected ('…')"
    assert redact("tk7qz and atk7q stay") == "tk7qz and atk7q stay"


def test_looks_like_key() -> None:
    from chatenv.keys.mask import looks_like_key

    assert looks_like_key("sk-proj-" + "a" * 30)
    assert looks_like_key("--format=sk-" + "b" * 25)
    assert not looks_like_key("sk-…abcd") and not looks_like_key("--skip-checks")


def test_the_placeholder_keys_local_servers_document_are_not_secrets() -> None:
    Secret("ollama")
    assert redact("on Ollama: ollama pull MODEL") == "on Ollama: ollama pull MODEL"


def test_hugging_face_tokens_are_masked_by_shape_and_keep_their_prefix() -> None:
    from chatenv.keys.mask import looks_like_key

    unseen = "hf_" + "Zq4Rt7Yu" * 4 + "Io"  # never registered: masked by its shape alone
    assert mask(unseen) == "hf_…" + unseen[-4:]
    text = redact(f"401 for {unseen} at https://huggingface.co/api/whoami-v2")
    assert unseen not in text and "hf_…" in text
    assert looks_like_key(unseen) and looks_like_key("api_org_" + "a" * 34)
    # ordinary words with hf_ stay: too short, or not letters and digits throughout
    assert redact("set hf_transfer=1 and HF_HUB_OFFLINE") == "set hf_transfer=1 and HF_HUB_OFFLINE"
    assert not looks_like_key("hf_…abcd")


def test_the_argv_guard_tells_a_hugging_face_token_from_an_api_key() -> None:
    from chatenv.cli.argv_guard import is_hf_token, key_argument

    token = "hf_" + "Ab12Cd34" * 4 + "Ef"
    assert key_argument(["doctor", token], {}) == 2
    assert is_hf_token(token, {}) and not is_hf_token("sk-proj-" + "a" * 30, {})
    # the value of $HF_TOKEN, whatever its shape, is a token too
    assert key_argument(["doctor", "--model", "tok-0123456789"], {"HF_TOKEN": "tok-0123456789"})
    assert is_hf_token("x=tok-0123456789", {"HF_TOKEN": "tok-0123456789"})
    # configure-key's --key takes it (with its warning)
    assert key_argument(["configure-key", "--hf", "--key", token], {}) is None
