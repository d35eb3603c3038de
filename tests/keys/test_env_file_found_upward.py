"""Run from anywhere in a project: doctor, smoke-test and configure-key use the .env the user's
own code would load (python-dotenv's `load_dotenv()` walks up from the current folder), no higher
than the project's root, and say which file they used. Real projects in tmp_path, the real
`chatenv` entry point, and python-dotenv itself as the judge of what user code would read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dotenv import find_dotenv

from chatenv.keys.config import locate_env_file
from tests.conftest import clean_env

KEY = "sk-proj-" + "A" * 40 + "1234"
NEW_KEY = "sk-proj-" + "B" * 40 + "5678"


def _project(tmp_path: Path) -> tuple[Path, Path]:
    project = tmp_path / "project"
    app = project / "src" / "app"
    app.mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'app'\nversion = '0'\n")
    env = project / ".env"
    env.write_text(f"OPENAI_BASE_URL=http://127.0.0.1:9/v1\nOPENAI_API_KEY={KEY}\n")
    env.chmod(0o600)
    return project, app


def _chatenv(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatenv", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean_env(HOME=str(cwd.anchor + "nonexistent-home")),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        check=False,
        timeout=120,
    )


def test_the_file_found_is_the_one_python_dotenv_finds(tmp_path: Path) -> None:
    project, app = _project(tmp_path)
    cwd = os.getcwd()
    try:
        os.chdir(app)
        theirs = find_dotenv(usecwd=True)
    finally:
        os.chdir(cwd)
    found = locate_env_file(None, app)
    assert (found.path, found.how, found.root) == (Path(theirs), "found", project)


def test_doctor_from_a_subfolder_reads_the_projects_env(tmp_path: Path) -> None:
    project, app = _project(tmp_path)
    done = _chatenv("doctor", "--offline", "--json", cwd=app)
    report = json.loads(done.stdout)
    results = {r["id"]: r for r in report["results"]}
    assert results["openai.key"]["status"] == "ok"
    assert results["openai.key"]["summary"] == f"key sk-proj-…1234 from {project / '.env'}"
    assert report["options"]["env_file_found"] == {
        "path": str(project / ".env"),
        "how": "found",
        "root": str(project),
        "shadows": None,
    }


def test_configure_key_from_a_subfolder_updates_the_projects_env(tmp_path: Path) -> None:
    project, app = _project(tmp_path)
    done = _chatenv("configure-key", "--no-verify", "--no-gitignore", cwd=app, stdin=NEW_KEY)
    assert done.returncode == 0, done.stderr
    assert f"writing {project / '.env'}, the .env your code loads from here" in done.stderr
    assert not (app / ".env").exists()  # no second file to shadow the project's
    text = (project / ".env").read_text()
    assert text == f"OPENAI_BASE_URL=http://127.0.0.1:9/v1\nOPENAI_API_KEY={NEW_KEY}\n"


def test_an_env_file_here_that_would_hide_the_projects_is_warned_about(tmp_path: Path) -> None:
    project, app = _project(tmp_path)
    done = _chatenv(
        "configure-key",
        "--env-file",
        ".env",
        "--no-verify",
        "--no-gitignore",
        cwd=app,
        stdin=NEW_KEY,
    )
    assert done.returncode == 0, done.stderr
    assert (
        f"creating .env: it hides {project / '.env'} from code run in this folder"
    ) in done.stderr


def test_without_any_env_the_new_one_goes_to_the_project_root(tmp_path: Path) -> None:
    project, app = _project(tmp_path)
    (project / ".env").unlink()
    done = _chatenv("configure-key", "--no-verify", "--no-gitignore", cwd=app, stdin=NEW_KEY)
    assert done.returncode == 0, done.stderr
    assert f"creating {project / '.env'} at the project's root" in done.stderr
    assert (project / ".env").read_text() == f"OPENAI_API_KEY={NEW_KEY}\n"


def test_a_dotenv_above_the_project_is_not_read(tmp_path: Path) -> None:
    project, app = _project(tmp_path)
    (project / ".env").unlink()
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={KEY}\n")  # someone else's, above
    done = _chatenv("configure-key", "--show", "--json", cwd=app)
    report = json.loads(done.stdout)
    assert {r["id"]: r["status"] for r in report["results"]}["key"] == "fail"


def test_smoke_test_from_a_subfolder_uses_the_projects_settings(tmp_path: Path) -> None:
    _, app = _project(tmp_path)
    done = _chatenv("smoke-test", "--no-local", "--json", "--timeout", "2", cwd=app)
    report = json.loads(done.stdout)
    api = next(r for r in report["results"] if r["id"].startswith("api"))
    # the base URL from the project's .env was used (nothing listens on port 9)
    assert "127.0.0.1:9" in json.dumps(api)
