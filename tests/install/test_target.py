"""Reading the target interpreter and its installed metadata, against real virtualenvs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chatenv.errors import UsageError
from chatenv.install.target import (
    Installed,
    dependency_problems,
    parse_version_py,
    probe_interpreter,
    read_installed,
)
from tests.install.conftest import (
    BASE_PYTHON,
    MakeVenv,
    python_of,
    site_packages,
    torch_version_py,
    write_dist,
    write_torch,
)


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


def test_installed_reads_versions_requirements_and_first_on_path_wins(
    make_venv: MakeVenv, tmp_path: Path
) -> None:
    site = site_packages(make_venv())
    write_dist(site, "openai", "1.50.0", ["httpx>=0.23,<1", "pydantic>=1.9,<3"])
    write_dist(site, "python-dotenv", "1.2.2")
    shadow = tmp_path / "later"
    write_dist(shadow, "openai", "0.28.0")
    installed = read_installed([str(site), str(shadow)])
    assert installed.version("openai") == "1.50.0"
    assert installed.version("Python_Dotenv") == "1.2.2"
    assert installed.version("transformers") is None
    dist = installed.get("openai")
    assert dist is not None and "httpx>=0.23,<1" in dist.requires


def test_torch_build_is_read_from_version_py_without_importing(make_venv: MakeVenv) -> None:
    site = site_packages(make_venv())
    write_torch(site, "2.13.0+cu130", "13.0")
    build = read_installed([str(site)]).torch
    assert build is not None
    assert (build.version, build.cuda, build.variant, build.series) == (
        "2.13.0+cu130",
        "13.0",
        "cu130",
        "2.13",
    )


def test_the_real_torch_of_the_test_environment_is_the_cpu_build() -> None:
    site = next(p for p in sys.path if p.endswith("site-packages"))
    build = read_installed([site]).torch
    assert build is not None and build.variant == "cpu" and build.version.startswith("2.13.0")


def test_version_py_parse_handles_annotations_and_none() -> None:
    fields = parse_version_py(torch_version_py("2.12.1+cu126", "12.6"))
    assert fields["__version__"] == "2.12.1+cu126"
    assert fields["cuda"] == "12.6"
    assert fields["hip"] is None


def test_torch_without_version_py_falls_back_to_the_local_label(make_venv: MakeVenv) -> None:
    site = site_packages(make_venv())
    write_dist(site, "torch", "2.10.0+cu128")
    build = read_installed([str(site)]).torch
    assert build is not None and build.variant == "cu128"


def test_dependency_problems_find_missing_and_wrong_versions_with_markers(
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
    problems = dependency_problems(["openai"], read_installed([str(site)]), markers)
    described = [p.describe() for p in problems]
    assert described == [
        "httpx 0.20.0 does not satisfy httpx<1,>=0.23 (needed by openai)",
        "pydantic (needed by openai: pydantic<3,>=1.9) is missing",
    ]


def test_dependency_walk_follows_extras_of_requirements() -> None:
    from chatenv.install.target import InstalledDist

    installed = Installed.from_dists(
        [
            InstalledDist("app", "1.0", ("lib[fast]>=1",), "/x"),
            InstalledDist("lib", "1.0", ('speedup>=2; extra == "fast"',), "/x"),
        ]
    )
    problems = dependency_problems(["app"], installed, {"python_version": "3.11"})
    assert [p.package for p in problems] == ["speedup"]
