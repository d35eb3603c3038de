"""Which installer runs and the exact command lines: torch alone from its index, the rest under
a constraint that pins torch, never a plain `torch` requirement."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from chatenv.errors import ChatenvError, UsageError
from chatenv.install.installer import Step, command, pick_installer
from chatenv.install.target import probe_interpreter
from chatenv.torch_builds import CPU_INDEX_URL
from tests.install.conftest import python_of

if TYPE_CHECKING:
    from pathlib import Path

    from tests.install.conftest import MakeVenv


@pytest.fixture
def target(make_venv: MakeVenv):  # type: ignore[no-untyped-def]
    return probe_interpreter(str(python_of(make_venv())))


def with_pip(target):  # type: ignore[no-untyped-def]
    from chatenv.records import replace

    return replace(target, has_pip=True)


TORCH_STEP = Step("torch", ("torch<2.14,>=2.4,==2.13.*",), index_url=CPU_INDEX_URL)
PACKAGES_STEP = Step(
    "packages",
    ("transformers<6,>=4.46", "accelerate<2,>=1.0"),
    plan_extra_index_urls=(CPU_INDEX_URL,),
    constraints=("torch==2.13.0+cpu",),
)


def test_auto_prefers_uv_on_path_else_the_targets_pip(target) -> None:  # type: ignore[no-untyped-def]
    uv = pick_installer("auto", target, lambda name: "/opt/bin/uv")
    assert uv.kind == "uv" and uv.argv[:3] == ("/opt/bin/uv", "pip", "install")
    assert uv.argv[-2:] == ("--python", target.executable)
    pip = pick_installer("auto", with_pip(target), lambda name: None)
    assert pip.kind == "pip" and pip.argv[:3] == (target.executable, "-m", "pip")


def test_requested_uv_missing_says_how_to_get_it(target) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ChatenvError) as err:
        pick_installer("uv", target, lambda name: None)
    assert err.value.message == "uv is not on PATH" and "--installer pip" in (err.value.fix or "")


def test_requested_pip_missing_in_target(target) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ChatenvError) as err:
        pick_installer("pip", target, lambda name: "/opt/bin/uv")
    assert err.value.message == f"pip is not installed in {target.executable}"


def test_unknown_installer_is_a_usage_error(target) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError):
        pick_installer("conda", target, lambda name: None)


def test_pip_torch_step_uses_only_the_torch_index(target) -> None:  # type: ignore[no-untyped-def]
    pip = pick_installer("pip", with_pip(target), lambda name: None)
    args = command(pip, TORCH_STEP, constraints_file=None, dry_run=False)
    assert args[args.index("--index-url") + 1] == CPU_INDEX_URL
    assert args[-1] == "torch<2.14,>=2.4,==2.13.*"
    assert "--extra-index-url" not in args
    assert "torch" not in [a for a in args if a.split("=")[0].split("<")[0] == "torch"]


def test_pip_dry_run_asks_for_a_json_report_with_few_retries(target) -> None:  # type: ignore[no-untyped-def]
    pip = pick_installer("pip", with_pip(target), lambda name: None)
    args = command(pip, TORCH_STEP, constraints_file=None, dry_run=True)
    assert args[args.index("--report") + 1] == "-"
    assert "--dry-run" in args and "--quiet" in args
    assert args[args.index("--retries") + 1] == "1"


def test_packages_step_is_constrained_and_sees_the_torch_index_only_when_planning(
    target,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    pip = pick_installer("pip", with_pip(target), lambda name: None)
    constraints = tmp_path / "c.txt"
    planned = command(pip, PACKAGES_STEP, constraints_file=constraints, dry_run=True)
    applied = command(pip, PACKAGES_STEP, constraints_file=constraints, dry_run=False)
    for args in (planned, applied):
        assert args[args.index("--constraint") + 1] == str(constraints)
        assert not any(a.startswith("torch") for a in args)
    assert planned[planned.index("--extra-index-url") + 1] == CPU_INDEX_URL
    assert "--extra-index-url" not in applied and "--index-url" not in applied


def test_uv_upgrades_named_packages_only_so_torch_stays(target, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    uv = pick_installer("uv", target, lambda name: "/opt/bin/uv")
    step = Step(
        "packages", ("openai<4,>=1.40",), constraints=("torch==2.13.0",), upgrade=("openai",)
    )
    args = command(uv, step, constraints_file=tmp_path / "c.txt", dry_run=False)
    assert args[args.index("--upgrade-package") + 1] == "openai"
    assert "--upgrade" not in args and "-U" not in args
    planned = command(uv, PACKAGES_STEP, constraints_file=tmp_path / "c.txt", dry_run=True)
    assert "--dry-run" in planned
    assert planned[planned.index("--index-strategy") + 1] == "unsafe-best-match"
