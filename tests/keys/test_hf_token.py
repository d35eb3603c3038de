"""Where the Hugging Face token comes from (`chatenv.keys.hf_token`), in huggingface_hub's order
(`utils/_auth.py: get_token`: HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else the token file), with
the .env file counted as load_dotenv() (override=False) adds it; real files in tmp_path."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from chatenv.keys import hf_token
from chatenv.keys.mask import redact

if TYPE_CHECKING:
    from pathlib import Path

A = "hf_" + "Aa11Bb22" * 4 + "aaaa"
B = "hf_" + "Cc33Dd44" * 4 + "bbbb"
C = "hf_" + "Ee55Ff66" * 4 + "cccc"


def _resolve(
    tmp_path: Path, env: dict[str, str], dotenv: str = "", stored: str | None = None
) -> hf_token.HfTokenConfig:
    (tmp_path / ".env").write_text(dotenv)
    if stored is not None:
        (tmp_path / "token").write_text(stored)
    return hf_token.resolve(env, tmp_path / ".env", tmp_path / "token")


def test_the_environment_beats_the_env_file_which_beats_the_token_file(tmp_path: Path) -> None:
    config = _resolve(tmp_path, {"HF_TOKEN": A}, f"HF_TOKEN={B}\n", C)
    assert config.token is not None and config.token.secret.reveal() == A
    assert [(f.source, f.name) for f in config.shadowed] == [
        ("token-file", str(tmp_path / "token")),
        ("env-file", "HF_TOKEN"),
    ]
    only_files = _resolve(tmp_path, {}, f"HF_TOKEN={B}\n", C)
    assert only_files.token is not None and only_files.token.source == "env-file"


def test_the_legacy_name_counts_after_hf_token_wherever_it_is(tmp_path: Path) -> None:
    legacy = _resolve(tmp_path, {"HUGGING_FACE_HUB_TOKEN": A}, "", C)
    assert legacy.token is not None and legacy.token.name == "HUGGING_FACE_HUB_TOKEN"
    # HF_TOKEN from .env (loaded) still comes before the environment's legacy name
    both = _resolve(tmp_path, {"HUGGING_FACE_HUB_TOKEN": A}, f"HF_TOKEN={B}\n")
    assert both.token is not None and (both.token.source, both.token.name) == (
        "env-file",
        "HF_TOKEN",
    )


def test_the_same_token_in_two_places_is_no_conflict(tmp_path: Path) -> None:
    config = _resolve(tmp_path, {"HF_TOKEN": A}, f"HF_TOKEN={A}\n", A + "\n")
    assert config.shadowed == ()


def test_the_token_file_is_cleaned_as_huggingface_hub_cleans_it(tmp_path: Path) -> None:
    config = _resolve(tmp_path, {}, "", f"  {A}\r\n")
    assert config.token is not None and config.token.secret.reveal() == A
    assert _resolve(tmp_path, {}, "", "\n\n").token is None


def test_a_token_file_that_is_a_pipe_is_refused_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "token")
    config = hf_token.resolve({}, tmp_path / ".env", tmp_path / "token")  # must not hang
    assert config.token is None
    assert config.token_file_error


@pytest.mark.parametrize(("disabled", "sent"), [("1", False), ("0", True), ("", True)])
def test_the_download_sends_no_token_when_the_implicit_token_is_disabled(
    tmp_path: Path, disabled: str, sent: bool
) -> None:
    config = _resolve(tmp_path, {"HF_TOKEN": A, "HF_HUB_DISABLE_IMPLICIT_TOKEN": disabled})
    assert (hf_token.for_download(config) is not None) is sent


def test_every_token_found_is_masked_in_output_whichever_wins(tmp_path: Path) -> None:
    _resolve(tmp_path, {"HF_TOKEN": "short-but-secret-1"}, "HF_TOKEN=other-secret-value-2\n")
    text = redact("saw short-but-secret-1 and other-secret-value-2")
    assert "short-but-secret-1" not in text and "other-secret-value-2" not in text
