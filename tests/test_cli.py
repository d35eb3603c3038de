"""The entry point as a user runs it: help, version, exit codes, no heavy imports, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

from tests.conftest import clean_env

if TYPE_CHECKING:
    from tests.conftest import RunCli

HEAVY = ("torch", "transformers", "openai")


def test_help_lists_every_command(run_cli: RunCli) -> None:
    done = run_cli("--help")
    assert done.returncode == 0, done.stderr
    for command in ("doctor", "install", "configure-key", "smoke-test"):
        assert command in done.stdout


def test_version_prints_the_installed_version(run_cli: RunCli) -> None:
    from chatenv import __version__

    done = run_cli("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"chatenv {__version__}"


def test_python_dash_m_runs_the_same_app() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chatenv", "--help"],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
        timeout=60,
    )
    assert done.returncode == 0
    assert "doctor" in done.stdout


def test_unknown_option_is_a_usage_error_without_traceback(run_cli: RunCli) -> None:
    done = run_cli("doctor", "--no-such-option")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert "No such option" in done.stderr


def _modules_after(argv: list[str]) -> dict[str, bool]:
    """Run the CLI in a fresh interpreter and report which heavy modules it imported."""
    probe = (
        "import sys, json\n"
        "from chatenv.cli import app\n"
        f"sys.argv = {['chatenv', *argv]!r}\n"
        "try:\n"
        "    app(prog_name='chatenv')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"sys.stderr.write('MODULES=' + json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
        timeout=120,
    )
    marker = done.stderr.rpartition("MODULES=")[2]
    return dict(json.loads(marker))


def test_help_imports_no_heavy_module() -> None:
    assert _modules_after(["--help"]) == dict.fromkeys(HEAVY, False)


def test_doctor_imports_no_heavy_module() -> None:
    assert _modules_after(["doctor", "--offline", "--json"]) == dict.fromkeys(HEAVY, False)


def test_heavy_modules_are_installed_so_the_import_test_means_something() -> None:
    import importlib.util

    assert all(importlib.util.find_spec(m) is not None for m in HEAVY)
