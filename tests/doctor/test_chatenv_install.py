"""doctor names chatenv's own distribution and says when the `chatenv` first on PATH is not
this one: another environment's, or the unrelated project that owns the name `chatenv` on PyPI.

The other project's layout is recorded from its real wheel (chatenv-0.2.15-py3-none-any.whl
from PyPI, installed with `pip install --no-deps` into a fresh venv on 2026-12-01): its
console script has pip's usual `#!<venv>/bin/python3` line and the same entry point as ours
(`chatenv = chatenv.cli:main`), and its RECORD lists the script as `../../../bin/chatenv`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from chatenv.system.command_owner import same_interpreter, script_owner
from tests.conftest import clean_env

OTHER_METADATA = (
    "Metadata-Version: 2.4\nName: chatenv\nVersion: 0.2.15\n"
    "Summary: ChatArch typed environment profile manager\n"
    "Requires-Python: >=3.10\n\n# ChatEnv\n"
)
SCRIPT = (
    "#!{python}\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom chatenv.cli import main\n"
    "if __name__ == '__main__':\n"
    "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
    "    sys.exit(main())\n"
)


def _other_venv(root: Path) -> Path:
    """A venv layout holding the other project's `chatenv`, as pip installs it."""
    bin_dir = root / "bin"
    site = root / "lib" / "python3.11" / "site-packages"
    info = site / "chatenv-0.2.15.dist-info"
    info.mkdir(parents=True)
    bin_dir.mkdir()
    script = bin_dir / "chatenv"
    script.write_text(SCRIPT.format(python=bin_dir / "python3"))
    script.chmod(0o755)
    (info / "METADATA").write_text(OTHER_METADATA)
    (info / "RECORD").write_text(
        "../../../bin/chatenv,sha256=gaHlcutOaxuSXU4mFS62eeTdBeTi0frP8Xwn-wIXO7k,222\n"
        "chatenv-0.2.15.dist-info/METADATA,,\n"
    )
    return bin_dir


def _doctor(path: str, extra_env: dict[str, str] | None = None) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "chatenv", "doctor", "--offline", "--json"],
        capture_output=True,
        text=True,
        env=clean_env(PATH=path, **(extra_env or {})),
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    results = json.loads(done.stdout)["results"]
    found: dict[str, object] = next(r for r in results if r["id"] == "python.chatenv")
    return found


def test_the_other_projects_script_is_told_apart_by_its_record(tmp_path: Path) -> None:
    bin_dir = _other_venv(tmp_path / "other")
    owner = script_owner(bin_dir / "chatenv")
    assert (owner.distribution, owner.version) == ("chatenv", "0.2.15")
    assert owner.interpreter == str(bin_dir / "python3")


def test_our_own_script_is_ours() -> None:
    ours = Path(sys.executable).parent / "chatenv"
    owner = script_owner(ours)
    assert owner.distribution == "chatenv-cli"
    assert same_interpreter(owner.interpreter)


def test_doctor_names_its_distribution_and_that_path_runs_it() -> None:
    result = _doctor(f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin")
    assert result["status"] == "ok"
    assert str(result["summary"]).startswith("chatenv-cli 0.1.0 (")
    assert str(result["summary"]).endswith("`chatenv` on PATH is this one")


def test_the_unrelated_chatenv_first_on_path_is_named(tmp_path: Path) -> None:
    bin_dir = _other_venv(tmp_path / "other")
    result = _doctor(f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}:/usr/bin:/bin")
    assert result["status"] == "warn"
    assert result["summary"] == (
        f"the `chatenv` first on PATH ({bin_dir / 'chatenv'}) is chatenv 0.2.15, another "
        "project's command, not chatenv-cli"
    )
    assert str(result["fix"]).startswith(f"{sys.executable} -m chatenv doctor")


def test_our_chatenv_from_another_environment_is_named(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "bin"
    other.mkdir(parents=True)
    (other / "chatenv").write_text(SCRIPT.format(python=other / "python3"))
    (other / "chatenv").chmod(0o755)
    result = _doctor(f"{other}{os.pathsep}{Path(sys.executable).parent}:/usr/bin:/bin")
    assert result["status"] == "warn"
    assert f"runs {other / 'python3'}, not this Python" in str(result["summary"])


def test_the_other_distribution_installed_beside_ours_fails(tmp_path: Path) -> None:
    site = tmp_path / "site"
    info = site / "chatenv-0.2.15.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(OTHER_METADATA)
    result = _doctor(f"{Path(sys.executable).parent}:/usr/bin:/bin", {"PYTHONPATH": str(site)})
    assert result["status"] == "fail"
    assert "the unrelated `chatenv` 0.2.15 is installed in this environment too" in str(
        result["summary"]
    )
    assert str(result["fix"]) == (
        f"{sys.executable} -m pip uninstall -y chatenv && pip install "
        "'chatenv-cli @ git+https://github.com/chatenv/chatenv' --force-reinstall"
    )
