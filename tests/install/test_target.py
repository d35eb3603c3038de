"""Reading the target interpreter and its installed metadata, against real virtualenvs."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest

from chatenv import requires
from chatenv.errors import UsageError
from chatenv.install.target import probe_interpreter
from chatenv.installed import broken_requirements, scan
from tests.install.conftest import BASE_PYTHON, python_of, site_packages
from tests.sites import write_dist

if TYPE_CHECKING:
    from pathlib import Path

    from tests.install.conftest import MakeVenv


def test_probe_of_a_venv_reports_its_site_packages_and_that_it_is_a_venv(
    make_venv: MakeVenv,
) -> None:
    venv = make_venv()
    target = probe_interpreter(str(python_of(venv)))
    assert target.in_venv and not target.is_system
    assert target.kind == "virtualenv"
    assert str(site_packages(venv)) in target.site_dirs
    assert not target.has_pip  # made with --without-pip
    assert target.markers["python_version"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    # the probe's standalone copy of the marker environment and chatenv.requires' in-process
    # one (doctor's) say the same of the same interpreter
    assert target.markers == requires.default_environment()
    assert target.platform == sys.platform


def test_probe_accepts_a_venv_directory(make_venv: MakeVenv) -> None:
    venv = make_venv()
    assert probe_interpreter(str(venv)).prefix == str(venv)


def test_base_interpreter_outside_a_venv_is_a_system_interpreter() -> None:
    target = probe_interpreter(BASE_PYTHON)
    assert target.is_system and target.kind == "system interpreter"


@pytest.mark.parametrize("kind", ["missing", "not-python", "directory"])
def test_python_that_is_not_an_interpreter_is_a_usage_error(tmp_path: Path, kind: str) -> None:
    if kind == "missing":
        path = tmp_path / "nope" / "python"
    elif kind == "not-python":
        path = tmp_path / "python"
        path.write_text("#!/bin/sh\necho hello\n")
        path.chmod(0o755)
    else:
        path = tmp_path
    with pytest.raises(UsageError) as err:
        probe_interpreter(str(path))
    assert "is not a Python interpreter" in err.value.message


def test_broken_requirements_of_the_pins_follow_the_target_interpreters_markers(
    make_venv: MakeVenv,
) -> None:
    venv = make_venv()
    site = site_packages(venv)
    write_dist(
        site,
        "openai",
        "1.50.0",
        [
            "httpx>=0.23,<1",
            "pydantic>=1.9,<3",
            'aiohttp; extra == "aiohttp"',
            'pywin32; sys_platform == "win32"',
        ],
    )
    write_dist(site, "httpx", "0.20.0")
    markers = probe_interpreter(str(python_of(venv))).markers
    problems = broken_requirements(scan([str(site)]), markers, roots=["openai"]).broken
    described = [p.describe() for p in problems]
    assert described == [
        "openai 1.50.0 requires httpx<1,>=0.23, but 0.20.0 is installed",
        "openai 1.50.0 requires pydantic, which is not installed",
    ]
    assert problems[1].pip_requirement() == "pydantic<3,>=1.9"
