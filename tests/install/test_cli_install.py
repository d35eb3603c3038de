"""`chatenv install` as a user runs it: the real entry point in a subprocess, real virtualenvs,
real pip (and uv where installed). Offline runs serve tiny real packages from a find-links
directory; the registry test installs the `api` profile from PyPI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from chatenv.installed import scan
from tests.conftest import CHATENV
from tests.install.conftest import (
    BASE_PYTHON,
    site_packages,
    uv_path,
)
from tests.install.packages import make_sdist, make_wheel, offline_pip_env
from tests.sites import write_dist

if TYPE_CHECKING:
    from tests.conftest import RunCli
    from tests.install.conftest import (
        MakeVenv,
    )


def one_error_line(stderr: str) -> str:
    """The single `error:` line a failed command prints; never a traceback."""
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def installed_version(venv: Path, name: str) -> str | None:
    return scan([str(site_packages(venv))]).version(name)


@pytest.fixture
def links(tmp_path: Path) -> Path:
    """openai 3.99.0 (needs httpx) and python-dotenv 99.0.0 as real wheels."""
    d = tmp_path / "links"
    make_wheel(d, "openai", "3.99.0", ["httpx>=0.23"])
    make_wheel(d, "httpx", "0.28.1")
    make_wheel(d, "python-dotenv", "99.0.0")
    return d


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gpu"], "error: unknown profile 'gpu' (known: api, local, all)"),
        (["base"], "error: 'base' is not a profile you install (known: api, local, all)"),
        (["local", "--torch", "cu999"], "error: unknown torch variant 'cu999'"),
        (["api", "--installer", "conda"], "error: unknown installer 'conda'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    run_cli: RunCli, install_env: dict[str, str], args: list[str], message: str
) -> None:
    done = run_cli("install", *args, "--dry-run", env=install_env)
    assert done.returncode == 2
    assert one_error_line(done.stderr).startswith(message)
    assert done.stdout == ""


def test_python_that_is_not_an_interpreter(
    run_cli: RunCli, install_env: dict[str, str], tmp_path: Path
) -> None:
    done = run_cli("install", "api", "--python", str(tmp_path / "nope"), env=install_env)
    assert done.returncode == 2
    assert "is not a Python interpreter (no such file" in one_error_line(done.stderr)


def test_system_interpreter_is_refused_with_the_venv_how_to(
    run_cli: RunCli, install_env: dict[str, str]
) -> None:
    done = run_cli("install", "api", "--python", BASE_PYTHON, env=install_env)
    assert done.returncode == 1
    assert "is a system interpreter, not a virtualenv" in one_error_line(done.stderr)
    assert "python3 -m venv .venv" in done.stderr and "--system" in done.stderr


def test_system_flag_lifts_the_refusal(
    run_cli: RunCli, install_env: dict[str, str], links: Path
) -> None:
    env = offline_pip_env(install_env, links)
    done = run_cli(
        "install", "api", "--python", BASE_PYTHON, "--system", "--dry-run", "--json", env=env
    )
    assert done.returncode in (0, 1), done.stderr  # the plan itself may or may not resolve
    assert json.loads(done.stdout)["plan"]["python"]["kind"] == "system interpreter"


def test_cuda_variant_on_a_machine_without_nvidia_gpu_is_refused_unless_forced(
    run_cli: RunCli, install_env: dict[str, str], make_venv: MakeVenv
) -> None:
    venv = make_venv()
    done = run_cli("install", "local", "--torch", "cu130", "--python", str(venv), env=install_env)
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "cu130 cannot run on this machine: no NVIDIA driver" in line
    assert "--force" in done.stderr


def test_torch_option_without_torch_in_the_profile_is_noted(
    run_cli: RunCli, install_env: dict[str, str], make_venv: MakeVenv
) -> None:
    venv = make_venv()
    site = site_packages(venv)
    write_dist(site, "openai", "1.99.0")
    write_dist(site, "python-dotenv", "1.2.2")
    done = run_cli("install", "api", "--torch", "cu130", "--python", str(venv), env=install_env)
    assert done.returncode == 0, done.stderr
    assert "--torch cu130 has no effect: api installs no torch" in done.stdout


# --- no-op ------------------------------------------------------------------------------------


def test_satisfied_environment_is_a_no_op_that_never_runs_an_installer(
    run_cli: RunCli, install_env: dict[str, str], make_venv: MakeVenv
) -> None:
    venv = make_venv()  # no pip in it, and uv is not on PATH: any installer run would fail
    site = site_packages(venv)
    write_dist(site, "openai", "1.99.0", ["httpx>=0.23"])
    write_dist(site, "httpx", "0.28.1")
    write_dist(site, "python-dotenv", "1.2.2")
    done = run_cli("install", "api", "--python", str(venv), "--installer", "uv", env=install_env)
    assert done.returncode == 0, done.stderr
    assert "Nothing to do: everything already satisfies the pins." in done.stdout
    assert "keep      openai         1.99.0" in done.stdout
    as_json = run_cli("install", "api", "--python", str(venv), "--json", env=install_env)
    report = json.loads(as_json.stdout)
    assert report["schema"] == 1 and report["ok"] and report["plan"]["nothing_to_do"]
    assert {r["id"] for r in report["results"]} >= {"packages.api", "packages.requirements"}


def test_broken_dependency_is_not_a_no_op(
    run_cli: RunCli, install_env: dict[str, str], make_venv: MakeVenv
) -> None:
    venv = make_venv()
    site = site_packages(venv)
    write_dist(site, "openai", "1.99.0", ["httpx>=0.23"])  # httpx missing
    write_dist(site, "python-dotenv", "1.2.2")
    done = run_cli("install", "api", "--python", str(venv), "--installer", "pip", env=install_env)
    assert done.returncode == 1
    assert "pip is not installed in" in one_error_line(done.stderr)


# --- plans ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_dry_run_prints_the_plan_and_changes_nothing(
    run_cli: RunCli, install_env: dict[str, str], pip_venv: Path, links: Path
) -> None:
    env = offline_pip_env(install_env, links)
    venv_args = ("--python", str(pip_venv), "--installer", "pip")
    done = run_cli("install", "api", *venv_args, "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    assert "install   openai         3.99.0" in done.stdout
    assert "install   1 dependency: httpx 0.28.1" in done.stdout
    verbose = run_cli("install", "api", *venv_args, "--dry-run", "--verbose", env=env)
    assert "install   httpx          0.28.1  (dependency)" in verbose.stdout
    assert "Dry run: 3 to install; 0 kept. Nothing changed." in done.stdout
    assert installed_version(pip_venv, "openai") is None

    report = json.loads(
        run_cli("install", "api", *venv_args, "--dry-run", "--json", env=env).stdout
    )
    assert report["schema"] == 1 and report["dry_run"] is True
    rows = {r["name"]: r for r in report["plan"]["packages"]}
    assert rows["openai"]["action"] == "install" and rows["openai"]["target"] == "3.99.0"
    assert report["plan"]["resolutions"][0]["command"][1:4] == ["-m", "pip", "install"]


@pytest.mark.slow
def test_local_plan_puts_torch_first_from_the_cpu_index_and_pins_it_for_the_rest(
    run_cli: RunCli, install_env: dict[str, str], pip_venv: Path
) -> None:
    """The torch step planned for real: pip resolves it (this machine's pip config serves the
    CPU wheel from disk; install_env pins torch==2.13.0), nothing is downloaded or installed."""
    done = run_cli(
        "install",
        "local",
        "--torch",
        "cpu",
        "--python",
        str(pip_venv),
        "--installer",
        "pip",
        "--dry-run",
        "--json",
        env=install_env,
        timeout=600,
    )
    report = json.loads(done.stdout)
    plan = report["plan"]
    assert plan["torch"]["choice"]["variant"] == "cpu"
    torch_step, _packages_step = plan["steps"]
    assert torch_step["name"] == "torch"
    assert torch_step["index_url"] == "https://download.pytorch.org/whl/cpu"
    assert torch_step["requirements"] == ["torch<2.14,>=2.4,==2.13.*"]
    resolutions = plan["resolutions"]
    if resolutions[0]["outcome"] != "resolved":  # no route to the CPU wheel on this machine
        assert report["exit_code"] == 1
        return
    torch_version = next(r["version"] for r in resolutions[0]["installs"] if r["name"] == "torch")
    assert torch_version.startswith("2.13.0")
    command = resolutions[1]["command"]
    assert command[command.index("--extra-index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    assert not any(a.startswith("torch") for a in command)  # torch only via the constraint
    assert installed_version(pip_venv, "torch") is None


@pytest.mark.slow
def test_unreachable_registry_is_one_line_and_changes_nothing(
    run_cli: RunCli, install_env: dict[str, str], pip_venv: Path, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = offline_pip_env(install_env, tmp_path)
    del env["PIP_NO_INDEX"]
    env["PIP_INDEX_URL"] = f"http://127.0.0.1:{port}/simple"
    done = run_cli("install", "api", "--python", str(pip_venv), "--installer", "pip", env=env)
    assert done.returncode == 1
    assert one_error_line(done.stderr) == (
        "error: cannot reach the package index (Connection refused) while planning the packages"
        " step; nothing was changed"
    )
    dry = run_cli(
        "install", "api", "--python", str(pip_venv), "--dry-run", "--installer", "pip", env=env
    )
    assert dry.returncode == 1
    assert "cannot reach the package index" in dry.stdout


# --- applying ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_offline_install_then_no_op_then_upgrade(
    run_cli: RunCli, install_env: dict[str, str], pip_venv: Path, links: Path, tmp_path: Path
) -> None:
    env = offline_pip_env(install_env, links)
    args = ("install", "api", "--python", str(pip_venv), "--installer", "pip")
    first = run_cli(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert "Installed and verified." in first.stdout
    assert "✓ api profile: openai 3.99.0" in first.stdout
    log = Path(first.stderr.split("full installer log: ")[1].split()[0])
    assert log.is_file() and "Successfully installed" in log.read_text()
    assert str(log).startswith(str(tmp_path / "state" / "chatenv" / "logs"))
    assert installed_version(pip_venv, "openai") == "3.99.0"

    again = run_cli(*args, env=env)
    assert again.returncode == 0
    assert "Nothing to do" in again.stdout

    make_wheel(links, "openai", "3.99.1", ["httpx>=0.23"])
    assert "Nothing to do" in run_cli(*args, env=env).stdout  # satisfied: no churn
    upgraded = run_cli(*args, "--upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "upgrade   openai         3.99.0 -> 3.99.1" in upgraded.stdout
    assert installed_version(pip_venv, "openai") == "3.99.1"


@pytest.mark.slow
def test_failing_installer_shows_the_end_of_its_log_and_leaves_the_env_alone(
    run_cli: RunCli, install_env: dict[str, str], pip_venv: Path, links: Path
) -> None:
    (links / "python_dotenv-99.0.0-py3-none-any.whl").unlink()
    make_sdist(links, "python-dotenv", "99.0.0", mode="fail")
    env = offline_pip_env(install_env, links)
    done = run_cli("install", "api", "--python", str(pip_venv), "--installer", "pip", env=env)
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "pip failed in the packages step (exit status 1); full log:" in line
    assert "last lines of the installer's log:" in done.stderr
    assert "  | " in done.stderr
    assert installed_version(pip_venv, "openai") is None  # pip builds everything first


@pytest.mark.slow
def test_ctrl_c_during_install_stops_the_installer_and_exits_130(
    install_env: dict[str, str], pip_venv: Path, links: Path, tmp_path: Path
) -> None:
    (links / "python_dotenv-99.0.0-py3-none-any.whl").unlink()
    make_sdist(links, "python-dotenv", "99.0.0", mode="hang")
    marker = tmp_path / "building"
    env = offline_pip_env(install_env, links)
    env["CHATENV_TEST_BUILD_MARKER"] = str(marker)
    child = subprocess.Popen(
        [str(CHATENV), "install", "api", "--python", str(pip_venv), "--installer", "pip"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the build never started"
            time.sleep(0.1)
        os.killpg(child.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert child.returncode == 130, stderr
    line = one_error_line(stderr)
    assert line.startswith("error: interrupted while pip was installing (packages step)")
    assert installed_version(pip_venv, "python-dotenv") is None


@pytest.mark.slow
@pytest.mark.skipif(uv_path() is None, reason="uv is not installed in this environment")
def test_install_with_uv_then_no_op(
    run_cli: RunCli, install_env: dict[str, str], make_venv: MakeVenv, links: Path, tmp_path: Path
) -> None:
    uv = uv_path()
    assert uv is not None
    venv = make_venv()  # uv needs no pip in the target
    env = dict(install_env)
    env.update(
        PATH=str(Path(uv).parent) + os.pathsep + env["PATH"],
        UV_NO_INDEX="1",
        UV_FIND_LINKS=str(links),
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
    )
    done = run_cli("install", "api", "--python", str(venv), env=env)
    assert done.returncode == 0, done.stderr
    assert "Installer: " in done.stdout and "/uv pip install" in done.stdout
    assert installed_version(venv, "openai") == "3.99.0"
    assert "Nothing to do" in run_cli("install", "api", "--python", str(venv), env=env).stdout


@pytest.mark.slow
def test_api_profile_from_the_registry_then_the_no_op_path(
    run_cli: RunCli, install_env: dict[str, str], pip_venv: Path
) -> None:
    """One real install from PyPI (through this machine's pip configuration), then the no-op:
    the second run must not need an installer at all (uv requested, and not on PATH)."""
    first = run_cli(
        "install",
        "api",
        "--python",
        str(pip_venv),
        "--installer",
        "pip",
        env=install_env,
        timeout=600,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Installed and verified." in first.stdout
    assert installed_version(pip_venv, "openai") is not None
    started = time.monotonic()
    second = run_cli(
        "install", "api", "--python", str(pip_venv), "--installer", "uv", env=install_env
    )
    elapsed = time.monotonic() - started
    assert second.returncode == 0, second.stderr
    assert "Nothing to do" in second.stdout
    print(f"no-op run took {elapsed:.2f} s")
