"""Asking real installers what they would do: pip's JSON report, uv's dry-run lines, and how
failures (an index that does not answer, nothing that matches) are told apart."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest

from chatenv.install.installer import Step, pick_installer
from chatenv.install.resolve import (
    Outcome,
    classify_failure,
    dry_run,
    failure_line,
    parse_uv_dry_run,
)
from chatenv.install.target import probe_interpreter
from tests.install.conftest import python_of, uv_path
from tests.install.packages import make_wheel, offline_pip_env

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def pip_target(pip_venv: Path):  # type: ignore[no-untyped-def]
    target = probe_interpreter(str(python_of(pip_venv)))
    return pick_installer("pip", target, lambda name: None)


def _use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@pytest.mark.slow
def test_pip_dry_run_report_lists_what_would_be_installed(
    pip_target,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    links = tmp_path / "links"
    make_wheel(links, "python-dotenv", "99.0.0")
    make_wheel(links, "openai", "3.99.0", ["httpx>=0.23"])
    make_wheel(links, "httpx", "0.28.1")
    _use_env(monkeypatch, offline_pip_env({}, links))
    res = dry_run(
        pip_target,
        Step("packages", ("openai<4,>=1.40", "python-dotenv>=1.2.2")),
        constraints_file=None,
    )
    assert res.outcome is Outcome.RESOLVED, res.message
    got = {r.name: r.version for r in res.installs}
    assert got == {"openai": "3.99.0", "python-dotenv": "99.0.0", "httpx": "0.28.1"}
    assert all((r.source or "").startswith("file://") for r in res.installs)


@pytest.mark.slow
def test_unreachable_index_is_told_apart_from_no_match(
    pip_target,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    with socket.socket() as sock:  # a port nothing listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = offline_pip_env({}, tmp_path)
    env.pop("PIP_NO_INDEX")
    env["PIP_INDEX_URL"] = f"http://127.0.0.1:{port}/simple"
    _use_env(monkeypatch, env)
    monkeypatch.delenv("PIP_NO_INDEX", raising=False)
    res = dry_run(pip_target, Step("packages", ("openai<4,>=1.40",)), constraints_file=None)
    assert res.outcome is Outcome.UNREACHABLE
    assert res.message == "Connection refused"

    monkeypatch.setenv("PIP_NO_INDEX", "1")
    res = dry_run(pip_target, Step("packages", ("openai<4,>=1.40",)), constraints_file=None)
    assert res.outcome is Outcome.NO_MATCH
    assert "No matching distribution found for openai" in (res.message or "")


@pytest.mark.slow
@pytest.mark.skipif(uv_path() is None, reason="uv is not installed in this environment")
def test_uv_dry_run_lines_are_read(tmp_path: Path, make_venv) -> None:  # type: ignore[no-untyped-def]
    links = tmp_path / "links"
    make_wheel(links, "python-dotenv", "99.0.0")
    target = probe_interpreter(str(python_of(make_venv())))
    uv = pick_installer("uv", target, lambda name: uv_path())
    step = Step("packages", ("python-dotenv>=1.2.2",))
    import os

    old = dict(os.environ)
    os.environ.update(UV_NO_INDEX="1", UV_FIND_LINKS=str(links), UV_CACHE_DIR=str(tmp_path / "c"))
    try:
        res = dry_run(uv, step, constraints_file=None)
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert res.outcome is Outcome.RESOLVED, res.output
    assert [(r.name, r.version) for r in res.installs] == [("python-dotenv", "99.0.0")]


def test_uv_dry_run_output_parse_handles_upgrades_and_reinstalls() -> None:
    text = (
        "Using Python 3.11.7 environment at: .venv\n"
        "Resolved 3 packages in 12ms\n"
        "Would download 2 packages\n"
        "Would uninstall 1 package\n"
        "Would install 2 packages\n"
        " - openai==1.50.0\n"
        " + openai==1.99.0\n"
        " + python-dotenv==1.2.2\n"
        " ~ torch==2.13.0+cpu\n"
    )
    installs, removes = parse_uv_dry_run(text)
    assert [(r.name, r.version) for r in installs] == [
        ("openai", "1.99.0"),
        ("python-dotenv", "1.2.2"),
        ("torch", "2.13.0+cpu"),
    ]
    assert [r.name for r in removes] == ["openai", "torch"]


def test_uv_network_failure_is_unreachable_with_its_cause() -> None:
    text = (
        "error: Failed to fetch: `https://pypi.org/simple/openai/`\n"
        "  Caused by: Request failed after 3 retries\n"
        "  Caused by: error sending request for url (https://pypi.org/simple/openai/)\n"
        "  Caused by: client error (Connect)\n"
        "  Caused by: dns error: failed to lookup address information: Name or service not known\n"
    )
    assert classify_failure(text) is Outcome.UNREACHABLE
    assert failure_line(text).endswith("Name or service not known")
    assert (
        classify_failure("  × No solution found when resolving dependencies:") is Outcome.NO_MATCH
    )
