"""The python section: the interpreter it runs in, and the installers beside it."""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path

from chatenv import records
from chatenv.doctor.python_env import PythonFacts, check_python, observe
from chatenv.installed import scan
from chatenv.results import Status
from chatenv.system import proc

VENV = PythonFacts(
    version=(3, 12, 4),
    implementation="CPython",
    executable="/home/me/proj/.venv/bin/python",
    prefix="/home/me/proj/.venv",
    base_prefix="/usr",
    bits=64,
    free_threaded=False,
    kind="venv",
    conda_env=None,
    externally_managed=False,
    pip_version="24.2",
    uv_path=None,
    uv_version=None,
)


def _ids(facts: PythonFacts):  # type: ignore[no-untyped-def]
    return {r.id: r for r in check_python(facts)}


def test_virtualenv_with_pip_is_all_ok() -> None:
    results = _ids(VENV)
    assert {r.status for r in results.values()} == {Status.OK}
    assert "within the supported 3.10 to 3.14" in results["python.version"].summary


def test_system_interpreter_warns_and_says_how_to_make_a_venv() -> None:
    facts = records.replace(
        VENV, kind="system", prefix="/usr", executable="/usr/bin/python3", externally_managed=True
    )
    env = _ids(facts)["python.environment"]
    assert env.status is Status.WARN and env.fix is not None and "python3 -m venv .venv" in env.fix
    assert any("PEP 668" in d for d in env.details)


def test_conda_env_is_ok_and_conda_base_warns() -> None:
    conda = _ids(records.replace(VENV, kind="conda", conda_env="llm"))["python.environment"]
    assert conda.status is Status.OK and "'llm'" in conda.summary
    base = _ids(records.replace(VENV, kind="conda-base", conda_env="base"))["python.environment"]
    assert base.status is Status.WARN and base.fix is not None and "conda create" in base.fix


def test_chatenv_in_pipx_warns_that_it_checks_the_wrong_environment() -> None:
    env = _ids(records.replace(VENV, kind="pipx"))["python.environment"]
    assert env.status is Status.WARN and "pipx" in env.summary


def test_python_outside_the_supported_range() -> None:
    new = _ids(records.replace(VENV, version=(3, 15, 0)))["python.version"]
    assert new.status is Status.WARN and new.fix is not None
    old = _ids(records.replace(VENV, version=(3, 9, 18)))["python.version"]
    assert old.status is Status.FAIL


def test_uv_venv_without_pip_is_fine_but_no_installer_at_all_warns() -> None:
    uv_only = _ids(records.replace(VENV, pip_version=None, uv_path="/x/uv", uv_version="0.9.2"))
    assert uv_only["python.installers"].status is Status.OK
    assert "uv 0.9.2" in uv_only["python.installers"].summary
    neither = _ids(records.replace(VENV, pip_version=None))["python.installers"]
    assert neither.status is Status.WARN and neither.fix is not None and "ensurepip" in neither.fix


def test_old_pip_warns_with_upgrade() -> None:
    old = _ids(records.replace(VENV, pip_version="20.3.4"))["python.installers"]
    assert old.status is Status.WARN and old.fix is not None and "--upgrade pip" in old.fix


def test_observing_this_interpreter(tmp_path: Path) -> None:
    facts = observe({"PATH": str(tmp_path)}, scan(), proc.run)
    assert facts.version[:2] == sys.version_info[:2]
    assert facts.kind == ("venv" if sys.prefix != sys.base_prefix else facts.kind)
    assert facts.pip_version == importlib.metadata.version("pip")
    venv_uv = Path(sys.executable).parent / "uv"  # the test extra installs uv into the venv
    assert facts.uv_path == (str(venv_uv) if venv_uv.exists() else None)


def test_uv_version_comes_from_the_uv_on_path(tmp_path: Path) -> None:
    uv = tmp_path / "uv"
    uv.write_text("#!/bin/sh\necho 'uv 0.9.2 (a1b2c3d 2026-01-01)'\n")
    uv.chmod(0o755)
    facts = observe({"PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin"}, scan(), proc.run)
    if (Path(sys.executable).parent / "uv").exists():  # a uv installed into the test venv wins
        assert facts.uv_path == str(Path(sys.executable).parent / "uv")
    else:
        assert (facts.uv_path, facts.uv_version) == (str(uv), "0.9.2")


def test_uv_that_fails_is_reported_not_raised(tmp_path: Path) -> None:
    uv = tmp_path / "uv"
    uv.write_text("#!/bin/sh\necho 'uv: broken install' >&2\nexit 3\n")
    uv.chmod(0o755)
    facts = observe({"PATH": str(tmp_path)}, scan(), proc.run)
    if not (Path(sys.executable).parent / "uv").exists():
        assert facts.uv_version is None and facts.uv_error == "uv: broken install"
