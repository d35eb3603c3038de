"""install on a machine whose only GPUs are AMD's (a recorded MI300X sysfs tree, read by the
real probe): an installed ROCm build that runs is kept without an installer run, a CPU build is
replaced by the ROCm build of the pinned release, from PyTorch's ROCm index."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.install import plan as planning
from chatenv.install.command import InstallOptions, Seams, prepare
from chatenv.install.variant import Machine, choose
from chatenv.installed import scan
from chatenv.system import amd
from tests.fakes import machines as fake
from tests.install.conftest import python_of, site_packages
from tests.install.test_plan import TORCH_PIN, satisfied_local_without_torch
from tests.machines import amd as machines
from tests.sites import write_dist, write_torch

if TYPE_CHECKING:
    from pathlib import Path

    from tests.install.conftest import MakeVenv


def test_an_installed_rocm_build_on_an_mi300x_is_kept(make_venv: MakeVenv, tmp_path: Path) -> None:
    venv = make_venv()
    site = site_packages(venv)
    machines.write_torch_rocm(site, "2.13.0+rocm7.2", "7.2.0")
    write_dist(site, "filelock", "3.20.0")
    write_dist(site, "typing-extensions", "4.15.0")
    satisfied_local_without_torch(site)
    tree = machines.write_mi300x(tmp_path / "root")
    prepared = prepare(
        InstallOptions(profiles=("local",), python=str(python_of(venv))),
        Seams(which=lambda name: None, nvml=fake.nvml(fake.cpu_box()), root=tree),
    )
    assert prepared.plan.nothing_to_do
    assert prepared.plan.torch is not None and prepared.plan.torch.keep
    assert prepared.plan.torch.choice.variant == "rocm7.2"


def test_a_cpu_build_on_an_mi300x_is_replaced_from_the_rocm_index(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_torch(site, "2.13.0+cpu", None)
    installed = scan([str(site)])
    machine = Machine(
        "linux",
        "x86_64",
        fake.probe(fake.cpu_box()),
        amd=amd.probe(machines.write_mi300x(tmp_path / "r"), {}),
    )
    choice = choose("auto", machine, "2.13", spec=TORCH_PIN.spec)
    plan = planning.decide_torch(TORCH_PIN, installed, "auto", machine, choice, upgrade=False)
    assert not plan.keep and "AMD GPUs run rocm7.2" in plan.reason
    assert plan.choice.index_url == "https://download.pytorch.org/whl/rocm7.2"
    assert plan.requirement == "torch<2.14,>=2.4,==2.13.*,!=2.13.0+cpu"
