"""The plan against real installed metadata in throw-away virtualenvs: which installer runs are
needed (none on a no-op), what torch becomes and why, and the install/upgrade/keep rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from chatenv.errors import ChatenvError
from chatenv.install import plan as planning
from chatenv.install.command import InstallOptions, prepare
from chatenv.install.pins import load_pins
from chatenv.install.resolve import Outcome, Resolution, Resolved
from chatenv.install.target import probe_interpreter
from chatenv.install.variant import Machine, choose, target_series
from chatenv.installed import broken_requirements, scan
from chatenv.system.seams import Seams
from chatenv.torch_builds import CPU_INDEX_URL
from tests.fakes import machines as fake
from tests.install.conftest import python_of, site_packages
from tests.sites import write_dist, write_torch

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.system.nvml import GpuProbe
    from tests.install.conftest import MakeVenv

LOCAL = load_pins().pins_for(("local",))
API = load_pins().pins_for(("api",))
TORCH_PIN = next(p for p in LOCAL if p.name == "torch")


def satisfied_api(site: Path) -> None:
    write_dist(site, "openai", "1.99.0", ["httpx>=0.23,<1"])
    write_dist(site, "httpx", "0.28.1")
    write_dist(site, "python-dotenv", "1.2.2")


def satisfied_local_without_torch(site: Path) -> None:
    write_dist(site, "transformers", "4.57.0", ["tokenizers>=0.20", "safetensors>=0.4.3"])
    write_dist(site, "tokenizers", "0.22.1")
    write_dist(site, "safetensors", "0.6.2")
    write_dist(site, "accelerate", "1.10.1", ["torch>=2.0.0"])


def machine(gpus: GpuProbe) -> Machine:
    return Machine("linux", "x86_64", gpus)


def torch_plan(site: Path, gpus: GpuProbe, request: str = "auto", *, upgrade: bool = False):  # type: ignore[no-untyped-def]
    installed = scan([str(site)])
    m = machine(gpus)
    choice = choose(request, m, target_series(TORCH_PIN.spec) or "", spec=TORCH_PIN.spec)
    return planning.decide_torch(
        TORCH_PIN, installed, request, m, choice, upgrade=upgrade
    ), installed


def steps_for(site: Path, pins, torch=None, *, upgrade: bool = False):  # type: ignore[no-untyped-def]
    installed = scan([str(site)])
    statuses = planning.pin_statuses(pins, installed)
    problems = broken_requirements(installed, {}, roots=[p.name for p in pins]).broken
    return planning.plan_steps(statuses, torch, problems, installed, upgrade=upgrade)


# --- no-op: no installer, no resolver ---------------------------------------------------------


def test_satisfied_api_profile_needs_no_installer_run(make_venv: MakeVenv) -> None:
    venv = make_venv()
    satisfied_api(site_packages(venv))
    # The venv has no pip and uv is "not on PATH": a no-op must not need either.
    prepared = prepare(
        InstallOptions(profiles=("api",), python=str(python_of(venv))),
        Seams(which=lambda name: None),
    )
    assert prepared.plan.nothing_to_do
    assert prepared.plan.steps == () and prepared.plan.resolutions == ()
    assert [(c.name, c.action.value) for c in prepared.plan.changes] == [
        ("openai", "keep"),
        ("python-dotenv", "keep"),
    ]


def test_cpu_torch_on_a_cpu_box_is_kept(make_venv: MakeVenv) -> None:
    venv = make_venv()
    site = site_packages(venv)
    write_torch(site, "2.13.0+cpu", None)
    write_dist(site, "filelock", "3.20.0")
    write_dist(site, "typing-extensions", "4.15.0")
    satisfied_local_without_torch(site)
    prepared = prepare(
        InstallOptions(profiles=("local",), python=str(python_of(venv))),
        Seams(which=lambda name: None, nvml=fake.nvml(fake.cpu_box())),
    )
    assert prepared.plan.nothing_to_do
    assert prepared.plan.torch is not None and prepared.plan.torch.keep


def test_missing_installer_is_reported_only_when_something_must_change(
    make_venv: MakeVenv,
) -> None:
    venv = make_venv()
    write_dist(site_packages(venv), "python-dotenv", "1.2.2")
    with pytest.raises(ChatenvError) as err:
        prepare(
            InstallOptions(profiles=("api",), python=str(python_of(venv))),
            Seams(which=lambda name: None),
        )
    assert "pip is not installed" in err.value.message and "uv is not on PATH" in err.value.message
    assert err.value.fix is not None and "ensurepip" in err.value.fix


# --- torch decisions against real metadata ----------------------------------------------------


def test_cpu_torch_on_an_h100_box_is_replaced_by_the_cuda_build(make_venv: MakeVenv) -> None:
    site = site_packages(make_venv())
    write_torch(site, "2.13.0+cpu", None)
    plan, _ = torch_plan(site, fake.probe(fake.one_h100(driver="580.65.06", cuda=13000)))
    assert not plan.keep and "CPU build" in plan.reason
    assert plan.choice.variant == "cu132"
    # The installed cpu build is excluded, so the resolver cannot settle for it.
    assert plan.requirement == "torch<2.14,>=2.4,==2.13.*,!=2.13.0+cpu"
    satisfied_local_without_torch(site)
    write_dist(site, "filelock", "3.20.0")
    write_dist(site, "typing-extensions", "4.15.0")
    steps = steps_for(site, LOCAL, plan)
    assert [s.name for s in steps] == ["torch"]
    assert steps[0].index_url == "https://download.pytorch.org/whl/cu132"


def test_working_cuda_torch_is_kept_and_upgrade_moves_it_to_the_chosen_build(
    make_venv: MakeVenv,
) -> None:
    site = site_packages(make_venv())
    write_torch(site, "2.12.0+cu126", "12.6")
    h100 = fake.probe(fake.one_h100(driver="580.65.06", cuda=13000))
    kept, _ = torch_plan(site, h100)
    assert kept.keep and "runs on this driver" in kept.reason
    upgraded, _ = torch_plan(site, h100, upgrade=True)
    assert not upgraded.keep and upgraded.choice.variant == "cu132"
    assert upgraded.requirement == "torch<2.14,>=2.4,==2.13.*,!=2.12.0+cu126"


def test_torch_outside_the_pins_is_replaced(make_venv: MakeVenv) -> None:
    site = site_packages(make_venv())
    write_torch(site, "2.3.1+cpu", None)
    plan, _ = torch_plan(site, fake.probe(fake.cpu_box()))
    assert not plan.keep and "the pins want" in plan.reason
    assert plan.choice.index_url == CPU_INDEX_URL


def test_torch_newer_than_the_pins_is_replaced_by_the_newest_tested_release(
    make_venv: MakeVenv,
) -> None:
    site = site_packages(make_venv())
    write_torch(site, "2.15.0+cu130", "13.0")
    plan, _ = torch_plan(site, fake.probe(fake.one_h100(driver="580.65.06", cuda=13000)))
    assert not plan.keep
    assert plan.reason == (
        "torch 2.15.0+cu130 is newer than chatenv's tested range (<2.14,>=2.4); install puts "
        "the newest tested release, torch 2.13, in its place"
    )


def test_fresh_local_install_plans_torch_first_then_the_rest_constrained_to_it(
    make_venv: MakeVenv,
) -> None:
    site = site_packages(make_venv())
    plan, _ = torch_plan(site, fake.probe(fake.cpu_box()))
    assert plan.requirement == "torch<2.14,>=2.4,==2.13.*"
    steps = steps_for(site, LOCAL, plan)
    assert [s.name for s in steps] == ["torch", "packages"]
    torch_step, packages = steps
    assert torch_step.index_url == CPU_INDEX_URL
    assert "torch" not in " ".join(packages.requirements)
    assert packages.constraints == ("torch",)  # filled with the exact resolved version
    assert packages.plan_extra_index_urls == (CPU_INDEX_URL,)
    pinned = planning.pin_torch(packages, "2.13.0+cpu")
    assert pinned.constraints == ("torch==2.13.0+cpu",)


def test_api_install_next_to_an_existing_torch_pins_that_torch(make_venv: MakeVenv) -> None:
    site = site_packages(make_venv())
    write_torch(site, "2.13.0+cu130", "13.0")
    (packages,) = steps_for(site, API)
    assert packages.constraints == ("torch==2.13.0+cu130",)
    assert packages.requirements == ("openai<4,>=1.40", "python-dotenv>=1.2.2")


def test_broken_dependency_of_a_satisfied_pin_still_needs_a_run(make_venv: MakeVenv) -> None:
    site = site_packages(make_venv())
    write_dist(site, "openai", "1.99.0", ["httpx>=0.23,<1"])  # httpx missing
    write_dist(site, "python-dotenv", "1.2.2")
    (packages,) = steps_for(site, API)
    assert packages.name == "packages"


def test_upgrade_always_asks_the_resolver(make_venv: MakeVenv) -> None:
    site = site_packages(make_venv())
    satisfied_api(site)
    assert steps_for(site, API) == ()
    (packages,) = steps_for(site, API, upgrade=True)
    assert packages.upgrade == ("openai", "python-dotenv")


# --- rows -------------------------------------------------------------------------------------


def test_changes_say_install_upgrade_replace_and_keep(make_venv: MakeVenv) -> None:
    site = site_packages(make_venv())
    write_torch(site, "2.13.0+cpu", None)
    write_dist(site, "transformers", "4.46.0")
    write_dist(site, "safetensors", "0.6.2")
    installed = scan([str(site)])
    statuses = planning.pin_statuses(LOCAL, installed)
    resolutions = (
        Resolution(
            "torch",
            Outcome.RESOLVED,
            installs=(Resolved("torch", "2.13.0+cu132", "https://download.pytorch.org/x.whl"),),
        ),
        Resolution(
            "packages",
            Outcome.RESOLVED,
            installs=(
                Resolved("transformers", "5.2.0"),
                Resolved("tokenizers", "0.22.1"),
                Resolved("accelerate", "1.10.1"),
                Resolved("huggingface-hub", "1.0.0"),
            ),
        ),
    )
    rows = {c.name: c for c in planning.changes(statuses, installed, resolutions)}
    assert rows["torch"].action is planning.Action.REPLACE
    assert rows["transformers"].action is planning.Action.UPGRADE
    assert (rows["transformers"].installed, rows["transformers"].target) == ("4.46.0", "5.2.0")
    assert rows["tokenizers"].action is planning.Action.INSTALL
    assert rows["safetensors"].action is planning.Action.KEEP
    assert rows["huggingface-hub"].action is planning.Action.INSTALL
    assert not rows["huggingface-hub"].pinned


def test_target_reads_the_real_interpreter_for_markers(make_venv: MakeVenv) -> None:
    venv = make_venv()
    assert probe_interpreter(str(python_of(venv))).markers["os_name"] == "posix"


def test_apply_installs_the_versions_the_plan_resolved() -> None:
    from chatenv.install.installer import Step

    step = Step("packages", ("openai<4,>=1.40", "python-dotenv>=1.2.2"))
    exact = planning.exact_step(step, (Resolved("openai", "3.99.0"), Resolved("httpx", "0.28.1")))
    assert exact.requirements == ("openai==3.99.0", "python-dotenv>=1.2.2")
