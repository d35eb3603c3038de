"""The openai section, from real environment mappings and real .env files."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from chatenv.doctor.openai_config import check_openai
from chatenv.keys.config import resolve
from chatenv.results import Status

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.results import CheckResult

KEY = "sk-proj-" + "A1b2C3d4" * 5 + "wxyz"
OTHER = "sk-proj-" + "Z9y8X7w6" * 5 + "9876"


def _check(environ: dict[str, str], env_file: Path) -> dict[str, CheckResult]:
    return {r.id: r for r in check_openai(resolve(environ, env_file))}


def _all_text(results: dict[str, CheckResult]) -> str:
    return json.dumps([r.to_json() for r in results.values()])


def test_key_from_the_env_file_is_shown_masked_with_its_source(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"OPENAI_API_KEY={KEY}\n")
    results = _check({}, env_file)
    key = results["openai.key"]
    assert key.status is Status.OK
    assert key.summary == f"key sk-proj-…wxyz from {env_file}"
    assert KEY not in _all_text(results)


def test_no_key_for_openai_warns_with_configure_key_and_the_keys_page(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OPENAI_BASE_URL=https://api.openai.com/v1\n")
    for environ in ({}, {"OPENAI_BASE_URL": "https://eu.api.openai.com/v1"}):
        key = _check(environ, env_file)["openai.key"]
        assert key.status is Status.WARN
        assert key.summary == f"no OPENAI_API_KEY in the environment or in {env_file}"
        assert key.fix == "chatenv configure-key  # a key from https://platform.openai.com/api-keys"


def test_no_key_for_another_server_says_any_value_works_only_there(tmp_path: Path) -> None:
    for base_url in ("http://localhost:11434/v1", "https://my-resource.openai.azure.com/openai/v1"):
        key = _check({"OPENAI_BASE_URL": base_url}, tmp_path / ".env")["openai.key"]
        assert key.status is Status.WARN
        assert key.fix == (
            "chatenv configure-key  # the key your server expects; any non-empty value if it "
            "checks none"
        )
    openai = _check({}, tmp_path / ".env")["openai.key"]
    assert openai.fix is not None and "any non-empty value" not in openai.fix


def test_environment_and_file_disagreeing_warns_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"OPENAI_API_KEY={OTHER}\n")
    results = _check({"OPENAI_API_KEY": KEY}, env_file)
    assert results["openai.key"].summary == "key sk-proj-…wxyz from the environment"
    conflict = results["openai.key-conflict"]
    assert conflict.status is Status.WARN and "sk-proj-…wxyz" in conflict.summary
    text = _all_text(results)
    assert KEY not in text and OTHER not in text


def test_unknown_prefix_warns_for_openai_but_not_for_a_local_server(tmp_path: Path) -> None:
    token = "ollama-" + "q" * 30
    openai = _check({"OPENAI_API_KEY": token}, tmp_path / ".env")["openai.key"]
    assert openai.status is Status.WARN and "does not start with sk-" in openai.summary
    local = _check(
        {"OPENAI_API_KEY": token, "OPENAI_BASE_URL": "http://localhost:11434/v1"},
        tmp_path / ".env",
    )
    assert local["openai.key"].status is Status.OK
    assert (
        local["openai.endpoint"].summary
        == "endpoint: http://localhost:11434/v1 (from the environment)"
    )


def test_quoted_key_warns(tmp_path: Path) -> None:
    key = _check({"OPENAI_API_KEY": f'"{KEY}"'}, tmp_path / ".env")["openai.key"]
    assert key.status is Status.WARN and "quotes or spaces" in key.summary


def test_legacy_names_warn_with_the_new_name(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OPENAI_ORGANIZATION=org-abc\n")
    results = _check({"OPENAI_API_BASE": "https://example.test/v1"}, env_file)
    base = results["openai.legacy.OPENAI_API_BASE"]
    assert base.status is Status.WARN and "OPENAI_BASE_URL" in base.summary
    assert base.fix == 'export OPENAI_BASE_URL="$OPENAI_API_BASE"; unset OPENAI_API_BASE'
    org = results["openai.legacy.OPENAI_ORGANIZATION"]
    assert org.fix == f"rename OPENAI_ORGANIZATION to OPENAI_ORG_ID in {env_file}"


def test_org_and_project_are_reported_with_their_sources(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OPENAI_PROJECT_ID=proj_123\n")
    endpoint = _check({"OPENAI_ORG_ID": "org-abc"}, env_file)["openai.endpoint"]
    assert endpoint.summary == "endpoint: OpenAI API; organization org-abc, project proj_123"
    assert f"OPENAI_PROJECT_ID: proj_123 (from {env_file})" in endpoint.details


def test_bad_or_cleartext_base_urls(tmp_path: Path) -> None:
    bad = _check({"OPENAI_BASE_URL": "api.example.com/v1"}, tmp_path / ".env")["openai.endpoint"]
    assert bad.status is Status.FAIL
    clear = _check({"OPENAI_BASE_URL": "http://gpu-box.lan:8000/v1"}, tmp_path / ".env")
    assert clear["openai.endpoint"].status is Status.WARN
    assert clear["openai.endpoint"].fix == "export OPENAI_BASE_URL=https://gpu-box.lan:8000/v1"


def test_unreadable_env_file_fails_with_its_reason(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"OPENAI_API_KEY=\xff\xfe\n")
    results = _check({}, env_file)
    assert results["openai.env-file"].status is Status.FAIL
    assert "not valid UTF-8" in results["openai.env-file"].summary
