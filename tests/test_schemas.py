"""The JSON Schemas of every command's --json document: shipped in the package, published as
identical copies in docs/schemas/, printed by `chatenv schema`, and matched by the REAL output of
each command in its main success and failure paths (setup's: tests/test_setup_cli.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

from chatenv.schemas import COMMANDS, file_name, schema_text
from tests.conftest import REPO, server_env
from tests.openai_server import TEST_KEY, Scenario

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import RunCli
    from tests.openai_server import OpenAIServer

SHIPPED = REPO / "src" / "chatenv" / "schemas"
PUBLISHED = REPO / "docs" / "schemas"


def schema(command: str) -> dict[str, Any]:
    return dict(json.loads(schema_text(command)))


def test_the_published_schemas_are_identical_to_the_shipped_ones() -> None:
    shipped = sorted(p.name for p in SHIPPED.glob("*.json"))
    assert shipped == sorted(file_name(c) for c in COMMANDS)
    assert sorted(p.name for p in PUBLISHED.glob("*.json")) == shipped
    for name in shipped:
        assert (PUBLISHED / name).read_bytes() == (SHIPPED / name).read_bytes(), name


@pytest.mark.parametrize("command", COMMANDS)
def test_each_schema_is_valid_draft_2020_12_and_shares_the_envelope(command: str) -> None:
    doc = schema(command)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(doc)
    envelope = schema("doctor")["$defs"]
    for name in ("report", "result", "error"):
        assert doc["$defs"][name] == envelope[name], name


def test_chatenv_schema_prints_the_shipped_schema(run_cli: RunCli) -> None:
    for command in COMMANDS:
        done = run_cli("schema", command)
        assert done.returncode == 0
        assert done.stdout == (SHIPPED / file_name(command)).read_text()


def test_an_unknown_command_is_a_usage_error(run_cli: RunCli) -> None:
    done = run_cli("schema", "doktor")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[0] == (
        "error: no JSON schema for 'doktor' (known: doctor, install, configure-key, smoke-test,"
        " setup, init)"
    )
    assert run_cli("schema").returncode == 2  # COMMAND is required


@pytest.mark.slow
def test_the_wheel_ships_the_schemas(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    [wheel] = tmp_path.glob("chatenv_cli-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for command in COMMANDS:
        assert f"chatenv/schemas/{file_name(command)}" in names


# -- the real output of each command, ok and failing ---------------------------------------------


CASES: dict[str, tuple[list[str], dict[str, str], str | None, int]] = {
    # name: (argv, extra environment, stdin, exit code)
    "doctor ok": (["doctor", "--offline"], {}, None, 0),
    "doctor failing": (["doctor", "--offline"], {"OPENAI_BASE_URL": "ftp://x"}, None, 1),
    "doctor bad option": (["doctor", "--env-file", "."], {}, None, 2),
    "install no-op": (["install", "api"], {}, None, 0),
    "install dry run": (["install", "local", "--dry-run"], {}, None, 0),
    "install refused": (["install", "api", "--python", "/no/python"], {}, None, 2),
    "configure-key saved": (["configure-key"], {}, TEST_KEY, 0),
    "configure-key rejected": (["configure-key"], {"SCENARIO": "bad-key"}, TEST_KEY, 1),
    "configure-key empty stdin": (["configure-key"], {}, "", 2),
    "configure-key show": (["configure-key", "--show"], {"OPENAI_API_KEY": TEST_KEY}, None, 0),
    "configure-key show no key": (["configure-key", "--show"], {}, None, 1),
    "smoke-test api ok": (["smoke-test", "--no-local"], {"OPENAI_API_KEY": TEST_KEY}, None, 0),
    "smoke-test no key": (["smoke-test", "--no-local"], {}, None, 1),
    "smoke-test no stage": (["smoke-test", "--no-local", "--no-api"], {}, None, 2),
}


@pytest.mark.parametrize("case", list(CASES))
def test_real_json_output_matches_the_commands_schema(
    run_cli: RunCli, tmp_path: Path, openai_server: OpenAIServer, case: str
) -> None:
    argv, extra, stdin, code = CASES[case]
    if extra.pop("SCENARIO", None):
        openai_server.set(Scenario.UNAUTHORIZED)
    done = run_cli(*argv, "--json", env=server_env(tmp_path, openai_server, **extra), input=stdin)
    assert done.returncode == code, done.stderr
    doc = json.loads(done.stdout)
    jsonschema.validate(doc, schema(argv[0]))
    assert doc["command"] == argv[0] and doc["exit_code"] == code
    assert ("error" in doc) == (code == 2)  # usage errors stop before a report exists
    assert TEST_KEY not in done.stdout + done.stderr
