"""`chatenv doctor` as a user runs it: the real console script in a subprocess."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

from tests.conftest import REPO, clean_env, imported_by
from tests.sites import write_dist, write_torch

if TYPE_CHECKING:
    from tests.conftest import RunCli

KEY_ENV = "sk-proj-" + "Envk3yAAbbCCddEE" * 3 + "e1e1"
KEY_FILE = "sk-proj-" + "F1lek3yGGhhIIjjK" * 3 + "f2f2"
SECTIONS = [
    "platform", "python", "packages", "gpu", "torch", "extensions", "loading", "deep",
    "frameworks", "disk", "openai", "hf", "dotenv", "network", "project",
]  # fmt: skip


def _schema() -> dict[str, Any]:
    from chatenv.schemas import schema_text

    return dict(json.loads(schema_text("doctor")))


def _env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    return clean_env(HF_HOME=str(tmp_path / "hf"), **overrides)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _doc(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert "Traceback" not in done.stderr + done.stdout
    return dict(json.loads(done.stdout))


def test_json_report_matches_the_documented_schema(run_cli: RunCli, tmp_path: Path) -> None:
    done = run_cli("doctor", "--offline", "--json", env=_env(tmp_path))
    doc = _doc(done)
    jsonschema.validate(doc, _schema())
    assert doc["schema"] == 1 and doc["command"] == "doctor"
    assert list(dict.fromkeys(r["section"] for r in doc["results"])) == SECTIONS
    assert done.returncode == doc["exit_code"] == 0, done.stdout
    assert done.stderr == ""


def test_failure_exits_1_and_strict_turns_warnings_into_failures(
    run_cli: RunCli, tmp_path: Path
) -> None:
    clean = run_cli("doctor", "--offline", env=_env(tmp_path))
    assert clean.returncode == 0, clean.stdout
    assert re.search(r"\d+ warnings?", clean.stdout)  # no key here: a warning
    strict = run_cli("doctor", "--offline", "--strict", env=_env(tmp_path))
    assert strict.returncode == 1

    if shutil.which("git"):
        subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
        (tmp_path / ".env").write_text("OPENAI_API_KEY=" + KEY_FILE + "\n")
        subprocess.run(["git", "add", ".env"], cwd=tmp_path, check=True)
        tracked = run_cli("doctor", "--offline", "--json", env=_env(tmp_path))
        doc = _doc(tracked)
        assert tracked.returncode == 1 and doc["ok"] is False
        assert {r["id"] for r in doc["results"] if r["status"] == "fail"} == {"dotenv.git"}


def test_env_file_that_is_a_directory_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    done = run_cli("doctor", "--offline", "--env-file", "conf", env=_env(tmp_path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: --env-file conf is a directory")
    assert "Traceback" not in done.stderr


def test_no_raw_key_reaches_any_output(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={KEY_FILE}\nOPENAI_API_BASE={KEY_FILE}\n")
    (tmp_path / ".env").chmod(0o644)
    env = _env(tmp_path, OPENAI_API_KEY=KEY_ENV, OPENAI_ORGANIZATION=KEY_ENV)
    outputs = []
    for args in (["--json"], ["--verbose"], ["--strict"], ["--deep", "--json"]):
        done = run_cli("doctor", "--offline", *args, env=env, timeout=180)
        assert "Traceback" not in done.stderr
        outputs.append(done.stdout + done.stderr)
    everything = "\n".join(outputs)
    for raw in (KEY_ENV, KEY_FILE, KEY_ENV[8:30], KEY_FILE[8:30]):
        assert raw not in everything
    assert "sk-proj-…e1e1" in everything  # the masked form is what is shown


def test_machine_text_is_never_read_as_markup(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "[local] [bold red]x"
    folder.mkdir()
    (folder / ".env").write_text("OPENAI_API_KEY=" + KEY_FILE + "\n")
    (folder / ".env").chmod(0o644)
    site = tmp_path / "site"
    write_dist(site, "wants-extras", "1.0", requires=("chatenv-cli[local]>=99",))
    env = _env(tmp_path, PYTHONPATH=str(site))
    done = run_cli("doctor", "--offline", "--env-file", str(folder / ".env"), env=env)
    assert "Traceback" not in done.stderr
    assert f"{folder}/.env is open to group and others" in done.stdout
    assert "wants-extras 1.0 requires chatenv-cli[local]>=99" in done.stdout
    assert "python -m pip install 'chatenv-cli[local]>=99'" in done.stdout


def test_pipes_get_no_escape_codes(run_cli: RunCli, tmp_path: Path) -> None:
    env = _env(tmp_path, NO_COLOR=None, TERM="xterm-256color")
    done = run_cli("doctor", "--offline", env=env)
    assert "\x1b[" not in done.stdout + done.stderr
    assert "✓" in done.stdout


def _run_in_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run the command with a pseudo-terminal as its stdout, as in an interactive shell."""
    import pty

    main, child = pty.openpty()
    chatenv = Path(sys.executable).with_name("chatenv")
    proc = subprocess.Popen([str(chatenv), *args], stdout=child, stderr=child, env=env, cwd=cwd)
    os.close(child)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                data = os.read(main, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(main)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_terminal_gets_colour_unless_no_color_is_set(tmp_path: Path) -> None:
    env = _env(tmp_path, NO_COLOR=None, TERM="xterm-256color", COLUMNS="120")
    coloured = _run_in_terminal(["doctor", "--offline"], env, tmp_path)
    assert "\x1b[32m" in coloured  # green ✓
    plain = _run_in_terminal(["doctor", "--offline"], {**env, "NO_COLOR": "1"}, tmp_path)
    assert "✓" in plain
    assert not re.search(r"\x1b\[(3\d|9\d|38;)", plain)  # no colour codes at all


def test_network_checks_reach_the_configured_endpoint(run_cli: RunCli, tmp_path: Path) -> None:
    """Without --offline, against closed ports on 127.0.0.1 only."""
    closed = _closed_port()
    env = _env(
        tmp_path,
        OPENAI_BASE_URL=f"https://127.0.0.1:{closed}/v1",
        HF_ENDPOINT=f"https://127.0.0.1:{closed}",
    )
    done = run_cli("doctor", "--json", env=env)
    doc = _doc(done)
    results = {r["id"]: r for r in doc["results"]}
    assert results["network.api"]["status"] == "fail"
    assert results["network.api"]["data"]["stage"] == "connect"
    assert results["network.hf"]["status"] == "warn"
    assert done.returncode == 1


@pytest.mark.slow
def test_deep_imports_the_real_torch_in_a_child(run_cli: RunCli, tmp_path: Path) -> None:
    done = run_cli("doctor", "--offline", "--deep", "--json", env=_env(tmp_path), timeout=180)
    results = {r["id"]: r for r in _doc(done)["results"]}
    assert results["deep.import"]["status"] == "ok", results["deep.import"]
    assert results["deep.cuda"]["status"] in ("skip", "ok", "warn")
    assert done.returncode == 0


@pytest.mark.slow
def test_fresh_install_of_chatenv_alone_exits_0(tmp_path: Path) -> None:
    """`pip install chatenv && chatenv doctor` on a machine with nothing else: profiles not
    installed are warnings, not failures."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    done = subprocess.run(
        [str(venv / "bin" / "chatenv"), "doctor", "--offline", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(tmp_path),
        timeout=120,
        check=False,
    )
    doc = _doc(done)
    statuses = {r["id"]: r["status"] for r in doc["results"]}
    assert statuses["packages.api"] == statuses["packages.local"] == "warn"
    assert statuses["torch.build"] == "skip"
    assert done.returncode == 0, [r for r in doc["results"] if r["status"] == "fail"]


# --- the fast path: `chatenv doctor [flags]` without Typer's option coercion ---------------


def _typer_params(argv: list[str]) -> dict[str, Any]:
    from typer.main import get_command

    from chatenv.cli import app

    group = get_command(app)
    command = group.commands["doctor"]  # type: ignore[attr-defined]
    return dict(command.make_context("doctor", list(argv)).params)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--json"],
        ["--offline", "--json", "--strict"],
        ["-v", "--deep"],
        ["--verbose", "--env-file", "conf/.env.local"],
        ["--env-file=some where/.env", "--offline"],
        ["--json", "--json"],
        ["--format", "markdown", "--offline"],
        ["--format=json", "--strict"],
    ],
)
def test_fast_path_reads_the_options_as_typer_does(argv: list[str]) -> None:
    from chatenv.cli.doctor import fast_args

    fast = fast_args(argv)
    assert fast is not None
    typer_params = _typer_params(argv)
    assert {**typer_params, **fast} == typer_params


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["-h"],
        ["--env-file"],
        ["--env-file", "--json"],
        ["--bogus"],
        ["-vx"],
        ["x"],
        ["--format"],
        ["--format", "yaml"],
        ["--format=html"],
    ],
)
def test_fast_path_leaves_everything_else_to_typer(argv: list[str]) -> None:
    from chatenv.cli.doctor import fast_args

    assert fast_args(argv) is None


def test_fast_path_knows_every_doctor_option() -> None:
    from typer.main import get_command

    from chatenv.cli import app
    from chatenv.cli.doctor import FLAGS, VALUE_OPTIONS

    command = get_command(app).commands["doctor"]  # type: ignore[attr-defined]
    names = {o for p in command.params for o in p.opts if o not in ("--help", "-h")}
    assert names == {*FLAGS, *VALUE_OPTIONS}


def _imported_after(argv: list[str], modules: tuple[str, ...]) -> dict[str, bool]:
    loaded, _ = imported_by(argv, modules, clean_env())
    return loaded


def test_doctor_json_loads_neither_typer_pydantic_rich_nor_pynvml_on_a_cpu_box() -> None:
    """What keeps `chatenv doctor --offline --json` fast (benchmarks/bench_doctor.py)."""
    from chatenv.system.nvml import _library_loadable

    modules = ("typer", "click", "pydantic", "rich", "pynvml")
    loaded = _imported_after(["doctor", "--offline", "--json"], modules)
    assert not any(loaded[m] for m in ("typer", "click", "pydantic", "rich")), loaded
    if not _library_loadable():
        assert loaded["pynvml"] is False


def test_doctor_json_loads_neither_dataclasses_nor_packagings_requirement_parser() -> None:
    """chatenv.records and chatenv.requires stand in for them (~50 ms of a run): a new
    `from dataclasses import` in chatenv, or a line chatenv.requires cannot read, brings them
    back (packaging's tokenizer imports dataclasses, and dataclasses inspect and ast)."""
    modules = ("dataclasses", "inspect", "packaging.requirements", "packaging.markers")
    loaded = _imported_after(["doctor", "--offline", "--json"], modules)
    assert loaded == dict.fromkeys(modules, False)


def test_doctor_json_imports_what_only_some_runs_need_only_then() -> None:
    """socket (the report's host name comes from uname), difflib (a did-you-mean), base64 (a
    URL with a password), subprocess (a program to run), packaging.utils (chatenv.names has
    its canonicalize_name; its wheel tags pull in logging and sysconfig): none of them on a
    plain run."""
    modules = ("socket", "difflib", "base64", "subprocess", "packaging.utils", "logging")
    assert _imported_after(["doctor", "--offline", "--json"], modules) == dict.fromkeys(
        modules, False
    )


def test_doctor_json_reads_versions_metadata_and_toml_without_their_libraries() -> None:
    """chatenv.pep440 stands in for packaging's versions and specifiers, chatenv.system.uname
    for platform, line readers for tomllib (pins.toml) and ast (torch/version.py); string's
    Template is never needed: ~15 ms of imports and expression compiling together on a 2-core
    machine (benchmarks/bench_doctor.py)."""
    modules = (
        "packaging.version",
        "packaging.specifiers",
        "platform",
        "tomllib",
        "ast",
        "string",
    )
    assert _imported_after(["doctor", "--offline", "--json"], modules) == dict.fromkeys(
        modules, False
    )


def test_help_does_not_load_richs_markdown_renderer() -> None:
    """Plain help: Typer's Rich help costs ~140 ms of imports (rich.markdown, markdown_it)."""
    loaded = _imported_after(["--help"], ("rich.markdown", "markdown_it", "importlib.metadata"))
    assert loaded == {"rich.markdown": False, "markdown_it": False, "importlib.metadata": False}


def test_doctor_text_report_skips_typer_but_other_commands_use_it() -> None:
    """The fast path is doctor's alone: the text report needs Rich, not Typer; `--help` and
    every other command still go through the Typer app."""
    text = _imported_after(["doctor", "--offline"], ("typer", "rich"))
    assert text == {"typer": False, "rich": True}
    assert _imported_after(["doctor", "--help"], ("typer",)) == {"typer": True}
    assert _imported_after(["schema", "doctor"], ("typer",)) == {"typer": True}


@pytest.mark.parametrize("version", ["2.14.1+cpu", "2.15.0+cpu", "2.16.0+cpu"])
def test_torch_newer_than_the_pins_or_the_table_is_a_warning_not_a_failure(
    run_cli: RunCli, tmp_path: Path, version: str
) -> None:
    """`pip install torch` the day 2.14 or 2.15 (in the table, past the pins) or a release past
    the table comes out: doctor warns, says what it assumed, and exits 0."""
    site = tmp_path / "site"
    write_torch(site, version, None)
    done = run_cli("doctor", "--offline", "--json", env=_env(tmp_path, PYTHONPATH=str(site)))
    results = {r["id"]: r for r in _doc(done)["results"]}
    pin = results["packages.pin.torch"]
    assert pin["status"] == "warn", pin
    assert pin["summary"].startswith(f"torch {version} is newer than chatenv's tested range")
    assert results["torch.build"]["status"] == "ok"
    assert done.returncode == 0, [r for r in results.values() if r["status"] == "fail"]
