"""`chatenv setup` in a project with a project file: a fresh virtualenv (another interpreter's
`python -m chatenv`), the project's declared packages installed by the real pip from a package
index on 127.0.0.1, the smoke test against the project's API endpoint and model (the test
OpenAI server), and the project's variables asked for or reported."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from chatenv.installed import scan
from tests.conftest import clean_env
from tests.install.conftest import TORCH_SAFE, site_packages
from tests.install.index_server import serve_index
from tests.install.packages import make_wheel
from tests.openai_server import TEST_KEY
from tests.project.conftest import make_project
from tests.test_setup_cli import outcomes, overlay_venv, validate

if TYPE_CHECKING:
    from tests.openai_server import OpenAIServer

HF_TOKEN = "hf_" + "Pr0jectT0kenAbCdEfGhIj" * 2


def project_env(
    tmp_path: Path, server: OpenAIServer, index_url: str, **extra: str
) -> dict[str, str]:
    """pip sees only the local index (no config, no find-links), torch is held to the CPU wheel
    on this machine, no uv on PATH; the API key for the test server."""
    (tmp_path / "torch-safe.txt").write_text(TORCH_SAFE)
    path = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if p and not (Path(p) / "uv").exists()
    )
    return clean_env(
        HOME=str(tmp_path),
        HF_HOME=str(tmp_path / "hf"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        PIP_CONSTRAINT=str(tmp_path / "torch-safe.txt"),
        PIP_CONFIG_FILE="/dev/null",
        PIP_INDEX_URL=index_url,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PATH=path,
        OPENAI_API_KEY=TEST_KEY,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        GIT_CONFIG_NOSYSTEM="1",
        **extra,
    )


def pyproject(server: OpenAIServer) -> str:
    return f"""
    [project]
    name = "team-bot"
    version = "0.1.0"
    dependencies = [
        "alpha>=1.0",
        "torch==2.13.0",  # satisfied by the torch already here: nothing is downloaded
    ]

    [project.optional-dependencies]
    serve = ["gamma>=0.3"]

    [tool.chatenv]
    profiles = ["api"]

    [tool.chatenv.packages]
    extras = ["serve"]

    [tool.chatenv.env]
    HF_TOKEN = {{ url = "https://huggingface.co/settings/tokens" }}

    [tool.chatenv.api]
    model = "gpt-4o-mini"
    base_url = "{server.base_url}"
    """


def setup(
    venv: Path, root: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), "-m", "chatenv", "setup", "--offline", "--json", *args],
        cwd=root, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    folder = tmp_path / "index"
    make_wheel(folder, "alpha", "1.2.0", ["beta>=2"])
    make_wheel(folder, "beta", "2.1.0")
    make_wheel(folder, "gamma", "0.3.1")
    return folder


def installed(venv: Path) -> dict[str, str | None]:
    found = scan([str(site_packages(venv))])
    return {name: found.version(name) for name in ("alpha", "beta", "gamma")}


@pytest.mark.slow
def test_setup_installs_the_projects_declared_packages_from_an_index_into_a_fresh_venv(
    tmp_path: Path, openai_server: OpenAIServer, wheels: Path
) -> None:
    venv = overlay_venv(tmp_path / "venv")
    root = make_project(tmp_path / "team-bot", {"pyproject.toml": pyproject(openai_server)})
    with serve_index(wheels) as (index_url, requests):
        env = project_env(tmp_path, openai_server, index_url, HF_TOKEN=HF_TOKEN)
        done = setup(venv, root, env, "--yes")
    doc: dict[str, Any] = json.loads(done.stdout)
    validate(doc)
    assert outcomes(doc) == ["ran", "ran", "skipped", "ran"], done.stderr
    assert doc["profiles"] == ["api"] and doc["options"]["project"] == str(root / "pyproject.toml")
    # doctor saw the missing packages and left them to install
    doctor = doc["stages"][0]
    assert "project.packages" in doctor["not_blocking"]
    # install: one packages step with the project's requirements, from the local index
    install = doc["stages"][1]["report"]
    [step] = install["plan"]["steps"]
    assert "alpha>=1.0" in step["requirements"] and "gamma>=0.3" in step["requirements"]
    assert [r["step"] for r in install["applied"]] == ["packages"]
    assert "/simple/alpha/" in requests and "/simple/alpha/alpha-1.2.0-py3-none-any.whl" in requests
    assert installed(venv) == {"alpha": "1.2.0", "beta": "2.1.0", "gamma": "0.3.1"}
    verified = {r["id"]: r for r in install["results"]}
    assert verified["project.packages"]["status"] == "ok"
    assert "packages.pin.torch" not in verified
    # the smoke test used the project's endpoint and model
    chats = [r for r in openai_server.requests if r.path == "/v1/chat/completions"]
    assert [r.body["model"] for r in chats] == ["gpt-4o-mini"]
    assert done.returncode == 0, done.stderr
    assert HF_TOKEN not in done.stdout + done.stderr and TEST_KEY not in done.stdout


@pytest.mark.slow
def test_without_a_terminal_a_missing_project_variable_fails_its_stage_with_the_fix(
    tmp_path: Path, openai_server: OpenAIServer, wheels: Path
) -> None:
    venv = overlay_venv(tmp_path / "venv")
    root = make_project(tmp_path / "team-bot", {"pyproject.toml": pyproject(openai_server)})
    with serve_index(wheels) as (index_url, _):
        done = setup(venv, root, project_env(tmp_path, openai_server, index_url), "--yes")
    doc = json.loads(done.stdout)
    validate(doc)
    assert outcomes(doc) == ["ran", "ran", "failed", "skipped"], done.stderr
    # doctor's failure for HF_TOKEN did not stop setup: configure-key is the stage for it
    assert "project.env.HF_TOKEN" in doc["stages"][0]["not_blocking"]
    key = doc["results"][2]
    assert key["summary"].startswith("configure-key")
    assert "HF_TOKEN is not set" in key["summary"]
    assert key["fix"].startswith(
        f"chatenv setup  # asks for HF_TOKEN and saves it in {root / '.env'}"
    )
    assert done.returncode == 1


def test_a_broken_project_file_stops_setup_before_any_stage(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    root = make_project(
        tmp_path / "app", {"pyproject.toml": '[tool.chatenv]\nprofiles = ["gpu"]\n'}
    )
    done = subprocess.run(
        [str(Path(os.sys.executable).with_name("chatenv")), "setup", "--offline"],
        cwd=root, env=clean_env(HOME=str(tmp_path)), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines()[0] == (
        "error: pyproject.toml:2: [tool.chatenv] profiles must be one of api, local, all, not 'gpu'"
    )


@pytest.mark.slow
def test_on_a_terminal_setup_asks_for_the_projects_token_and_saves_it_unseen(
    tmp_path: Path, openai_server: OpenAIServer, wheels: Path
) -> None:
    from tests.keys.test_configure_key_cli import run_on_terminal

    venv = overlay_venv(tmp_path / "venv")
    root = make_project(tmp_path / "team-bot", {"pyproject.toml": pyproject(openai_server)})
    with serve_index(wheels) as (index_url, _):
        code, screen = run_on_terminal(
            ["setup", "--offline", "--no-gitignore"],
            root,
            project_env(tmp_path, openai_server, index_url),
            [
                ("Install this plan? [Y/n]:", b"y\r"),
                (
                    "HF_TOKEN; get it at https://huggingface.co/settings/tokens (input hidden):",
                    HF_TOKEN.encode() + b"\r",
                ),
            ],
            program=[str(venv / "bin" / "python"), "-m", "chatenv"],
        )
    assert code == 0, screen
    assert HF_TOKEN not in screen  # the prompt hides it, and nothing prints it
    assert f"saved HF_TOKEN in {root / '.env'} (mode 600)" in screen.replace("\r\n", "")
    assert (root / ".env").read_text() == f"HF_TOKEN={HF_TOKEN}\n"
    assert (root / ".env").stat().st_mode & 0o777 == 0o600
