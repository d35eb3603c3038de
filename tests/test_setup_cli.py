"""`chatenv setup` as users run it: the real console script (or another virtualenv's
`python -m chatenv`) in a subprocess or on a pseudo-terminal, real files, real pip against a
find-links folder, the tiny GPT-2 and the test OpenAI server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from chatenv.schemas import schema_text
from tests.conftest import REPO, RunCli, clean_env
from tests.install.conftest import TORCH_SAFE, create_venv, site_packages
from tests.install.packages import make_wheel, offline_pip_env
from tests.keys.test_configure_key_cli import run_on_terminal
from tests.openai_server import TEST_KEY, OpenAIServer, Scenario
from tests.sites import write_dist

STAGES = ["doctor", "install", "configure-key", "smoke-test"]


def validate(doc: dict[str, Any]) -> None:
    """The document and every stage's nested document against their commands' schemas."""
    jsonschema.validate(doc, json.loads(schema_text(doc["command"])))
    for stage in doc.get("stages", []):
        if isinstance(stage, dict) and stage.get("report"):
            jsonschema.validate(stage["report"], json.loads(schema_text(stage["name"])))


def outcomes(doc: dict[str, Any]) -> list[str]:
    return [s["outcome"] for s in doc["stages"]]


def api_env(tmp_path: Path, server: OpenAIServer, **extra: str) -> dict[str, str]:
    env = clean_env(
        HF_HOME=str(tmp_path / "hf"),
        OPENAI_BASE_URL=server.base_url,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        HOME=str(tmp_path),
        GIT_CONFIG_NOSYSTEM="1",
    )
    env.update(extra)
    return env


# -- bad options: refused before anything runs -------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gpu"], "error: unknown profile 'gpu'"),
        (["local", "--torch", "cu999"], "error: unknown torch variant 'cu999'"),
        (["local", "--no-local"], "error: nothing to smoke-test: local with --no-local"),
        (["--json", "--format", "markdown"], "error: --json means --format json"),
        (["--env-file", "."], "error: --env-file . is a directory"),
        (["local", "--model", "./no-such-model"], "error: --model ./no-such-model"),
    ],
)
def test_bad_options_are_one_line_and_exit_2_before_any_stage(
    run_cli: RunCli, args: list[str], message: str
) -> None:
    done = run_cli("setup", *args, "--offline")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0].startswith(message)
    assert "[1/4]" not in done.stdout + done.stderr and "Traceback" not in done.stderr


# -- the whole path, local ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_run(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`chatenv setup local --json` with stdin from /dev/null, under GitHub Actions."""
    work = tmp_path_factory.mktemp("setup-local")
    summary = work / "summary.md"
    summary.write_text("## earlier step\n")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("chatenv")), "setup", "local", "--offline",
         "--model", str(tiny_model), "--json"],
        cwd=work,
        env=clean_env(
            HF_HOME=str(work / "hf"), GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary)
        ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    return {"done": done, "doc": json.loads(done.stdout), "summary": summary.read_text()}


def test_local_setup_runs_doctor_install_and_smoke_test_and_skips_the_key(
    local_run: dict[str, Any],
) -> None:
    done, doc = local_run["done"], local_run["doc"]
    assert done.returncode == 0 == doc["exit_code"], done.stderr
    assert [s["name"] for s in doc["stages"]] == STAGES
    assert outcomes(doc) == ["ran", "ran", "skipped", "ran"]
    key = doc["stages"][2]
    assert key["reason"] == "the API is not being set up (profile local)"
    assert key["report"] is None
    install = doc["stages"][1]["report"]
    assert install["plan"]["nothing_to_do"] is True  # everything here satisfies the pins
    smoke = doc["stages"][3]["report"]
    assert smoke["stages"] == {"local": "ok"}
    assert doc["stopped_at"] is None and doc["profiles"] == ["local"]
    assert all(s["elapsed_s"] > 0 for s in doc["stages"] if s["outcome"] == "ran")


def test_setup_json_and_every_nested_report_match_their_schemas(
    local_run: dict[str, Any],
) -> None:
    validate(local_run["doc"])


def test_setup_under_github_actions_appends_one_summary_and_annotates_on_stderr(
    local_run: dict[str, Any],
) -> None:
    done, summary = local_run["done"], local_run["summary"]
    assert summary.startswith("## earlier step\n")  # appended, never truncated
    assert summary.count("### ✅ chatenv setup:") == 1
    for stage in ("doctor", "install", "smoke-test"):
        assert f"#### ✅ chatenv {stage}:" in summary
    assert "Generated by `local.generate`" in summary
    # JSON on stdout stays a document; the workflow commands go to stderr
    annotations = [line for line in done.stderr.splitlines() if line.startswith("::")]
    assert annotations, done.stderr
    assert all(a.startswith(("::warning title=chatenv setup › ", "::error ")) for a in annotations)
    assert any("openai.key" in a for a in annotations)  # doctor's warning, from a stage


# -- the API path: a piped key, the prompt --------------------------------------------------------


def test_api_setup_stores_a_piped_key_then_smoke_tests_the_api(
    run_cli: RunCli, tmp_path: Path, openai_server: OpenAIServer
) -> None:
    done = run_cli(
        "setup", "api", "--no-local", "--offline", input=TEST_KEY,
        env=api_env(tmp_path, openai_server),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert TEST_KEY not in done.stdout + done.stderr
    assert (tmp_path / ".env").read_text().strip() == f"OPENAI_API_KEY={TEST_KEY}"
    out = done.stdout
    for index, stage in enumerate(STAGES, start=1):
        assert f"[{index}/4] chatenv {stage}" in out
    assert "✓ configure-key" in out and "✓ smoke-test" in out and "api ok" in out
    assert out.rstrip().endswith("ready.")


def test_a_terminal_is_asked_for_the_key_and_the_gitignore_entry(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    code, screen = run_on_terminal(
        ["setup", "api", "--no-local", "--offline"],
        tmp_path,
        api_env(tmp_path, openai_server),
        [
            ("OpenAI API key (input hidden):", TEST_KEY.encode() + b"\r"),
            ("add '.env' to", b"y\r"),
        ],
    )
    assert code == 0, screen
    assert TEST_KEY not in screen
    assert (tmp_path / ".gitignore").read_text().splitlines()[-1] == ".env"
    assert "ready." in screen


@pytest.mark.parametrize("stdin", ["devnull", "open-pipe"])
def test_without_a_terminal_or_piped_key_setup_skips_the_key_and_says_what_to_set(
    tmp_path: Path, openai_server: OpenAIServer, stdin: str
) -> None:
    """Never waits: /dev/null, or a pipe nobody writes to (a CI runner's stdin)."""
    read_end, write_end = os.pipe()
    try:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("chatenv")), "setup", "api", "--no-local",
             "--offline", "--format", "json"],
            cwd=tmp_path,
            env=api_env(tmp_path, openai_server),
            stdin=subprocess.DEVNULL if stdin == "devnull" else read_end,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # fmt: skip
    finally:
        os.close(read_end)
        os.close(write_end)
    doc = json.loads(done.stdout)
    validate(doc)
    assert outcomes(doc) == ["ran", "ran", "skipped", "failed"]
    reason = doc["stages"][2]["reason"]
    assert reason.startswith("no OPENAI_API_KEY, and stdin is not a terminal: set OPENAI_API_KEY")
    assert "--no-api" in reason
    smoke = doc["stages"][3]["report"]
    assert [r["id"] for r in smoke["results"] if r["status"] == "fail"] == ["api.client"]
    assert doc["results"][3]["fix"].startswith("chatenv configure-key")
    assert done.returncode == 1


# -- stopping --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_doctor_failure_no_stage_repairs_stops_setup_with_its_fix(
    run_cli: RunCli, tmp_path: Path, openai_server: OpenAIServer, fmt: str
) -> None:
    env = api_env(tmp_path, openai_server, OPENAI_BASE_URL="ftp://models.example")
    done = run_cli("setup", "api", "--no-local", "--offline", "--format", fmt, env=env)
    assert done.returncode == 1
    if fmt == "json":
        doc = json.loads(done.stdout)
        validate(doc)
        assert outcomes(doc) == ["failed", "skipped", "skipped", "skipped"]
        assert doc["stopped_at"] == "doctor"
        assert {s["reason"] for s in doc["stages"][1:]} == {"not run: doctor failed"}
        assert doc["results"][0]["fix"].startswith("export OPENAI_BASE_URL=")
    else:
        assert "✗ doctor" in done.stdout and "is not an http(s) URL" in done.stdout
        assert "fix: export OPENAI_BASE_URL=" in done.stdout
        assert "[2/4]" not in done.stdout and "– install: not run: doctor failed" in done.stdout


# -- install doing real work: another virtualenv ---------------------------------------------------


def overlay_venv(path: Path) -> Path:
    """A virtualenv (no pip of its own) that imports chatenv, pip and the stack from this test
    environment, so `python -m chatenv setup` in it installs into it for real, fast."""
    venv = create_venv(path)
    (site_packages(venv) / "zz_test_overlay.pth").write_text(
        f"{REPO / 'src'}\n{sysconfig.get_paths()['purelib']}\n"
    )
    return venv


@pytest.fixture
def old_openai_venv(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A venv whose openai is 0.28 (doctor: fail, install repairs it), and a find-links folder
    with openai 3.99.0; pip offline, torch pinned to the local CPU wheel, no uv."""
    venv = overlay_venv(tmp_path / "venv")
    write_dist(site_packages(venv), "openai", "0.28.0", files={"openai/__init__.py": ""})
    links = tmp_path / "links"
    make_wheel(links, "openai", "3.99.0")
    (tmp_path / "torch-safe.txt").write_text(TORCH_SAFE)
    path = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if p and not (Path(p) / "uv").exists()
    )
    env = offline_pip_env(
        clean_env(
            HF_HOME=str(tmp_path / "hf"),
            XDG_STATE_HOME=str(tmp_path / "state"),
            PIP_CONSTRAINT=str(tmp_path / "torch-safe.txt"),
            PATH=path,
            HOME=str(tmp_path),
        ),
        links,
    )
    return venv, env


def openai_version(venv: Path) -> str:
    from chatenv.installed import scan

    return str(scan([str(site_packages(venv))]).version("openai"))


@pytest.mark.slow
def test_setup_goes_past_what_install_repairs_installs_it_and_stops_at_the_next_failure(
    old_openai_venv: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    venv, env = old_openai_venv
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "chatenv", "setup", "api", "--no-local",
         "--offline", "--yes", "--json"],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    doc = json.loads(done.stdout)
    validate(doc)
    assert outcomes(doc) == ["ran", "ran", "skipped", "failed"], done.stderr
    assert doc["stages"][0]["not_blocking"] == ["packages.openai-v0"]
    assert "chatenv install repairs packages.openai-v0" in done.stderr
    install = doc["stages"][1]["report"]
    assert [r["step"] for r in install["applied"]] == ["packages"]
    assert openai_version(venv) == "3.99.0"
    assert doc["stopped_at"] == "smoke-test" and done.returncode == 1


@pytest.mark.slow
def test_declining_the_install_plan_on_a_terminal_stops_setup_and_changes_nothing(
    old_openai_venv: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    venv, env = old_openai_venv
    code, screen = run_on_terminal(
        ["setup", "api", "--no-local", "--offline"],
        tmp_path,
        env,
        [("Install this plan? [Y/n]:", b"n\r")],
        program=[str(venv / "bin" / "python"), "-m", "chatenv"],
    )
    assert code == 1, screen
    assert "upgrade   openai" in screen
    assert "not installed: you declined the plan; nothing was changed" in screen
    assert "configure-key: not run: install failed" in screen
    assert openai_version(venv) == "0.28.0"


def test_ctrl_c_stops_setup_with_exit_130_and_still_prints_the_summary_document(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.set(Scenario.SLOW, slow_s=30)
    child = subprocess.Popen(
        [str(Path(sys.executable).with_name("chatenv")), "setup", "api", "--no-local",
         "--offline", "--json"],
        cwd=tmp_path,
        env=api_env(tmp_path, openai_server, OPENAI_API_KEY=TEST_KEY),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert child.stderr is not None
    seen = ""
    while "[4/4] chatenv smoke-test" not in seen:
        line = child.stderr.readline()
        assert line, f"setup ended before the smoke test: {seen}"
        seen += line
    time.sleep(1.0)  # inside the (slow) API call
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 130, seen + err
    doc = json.loads(out)
    validate(doc)
    assert outcomes(doc) == ["ran", "ran", "skipped", "failed"]
    assert doc["stages"][3]["reason"] == "interrupted"
    assert doc["error"] == {"message": "interrupted", "fix": None}
    assert "error: interrupted" in err and "Traceback" not in err
