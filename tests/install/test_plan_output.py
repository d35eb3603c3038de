"""How a plan reads for people: the torch decision with its reasons, rows per package. GPU
machines come from the NVML fakes (tests/fakes/machines.py); the plans are built from real
metadata in throw-away venvs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.install import plan as planning
from chatenv.install.command import InstallOptions, prepare
from chatenv.install.pins import load_pins
from chatenv.install.target import probe_interpreter
from chatenv.install.variant import Machine, choose
from chatenv.installed import scan
from chatenv.output import install_plan_lines
from chatenv.system.seams import Seams
from tests.fakes import machines as fake
from tests.install.conftest import python_of, site_packages
from tests.sites import write_dist, write_torch

if TYPE_CHECKING:
    from tests.install.conftest import MakeVenv

LOCAL = load_pins().pins_for(("local",))


def plain(plan: planning.Plan, verbose: bool = False) -> str:
    return "\n".join(t.plain for t in install_plan_lines(plan.to_json(), verbose=verbose))


def full_local(site) -> None:  # type: ignore[no-untyped-def]
    write_dist(site, "filelock", "3.20.0")
    write_dist(site, "typing-extensions", "4.15.0")
    write_dist(site, "transformers", "4.57.0")
    write_dist(site, "tokenizers", "0.22.1")
    write_dist(site, "safetensors", "0.6.2")
    write_dist(site, "accelerate", "1.10.1")


def test_kept_cuda_build_on_an_h100_reads_as_keep_with_its_reason(make_venv: MakeVenv) -> None:
    venv = make_venv()
    site = site_packages(venv)
    write_torch(site, "2.13.0+cu126", "12.6")
    full_local(site)
    prepared = prepare(
        InstallOptions(profiles=("local",), python=str(python_of(venv))),
        Seams(which=lambda name: None, nvml=fake.nvml(fake.one_h100("580.65.06", 13000))),
    )
    text = plain(prepared.plan)
    assert "PyTorch: keep 2.13.0+cu126 (cu126)" in text
    assert "the installed cu126 build runs on this driver and every GPU" in text
    assert "keep      torch         2.13.0+cu126" in text


def test_cpu_torch_on_an_h100_plan_names_the_cuda_index_and_why(make_venv: MakeVenv) -> None:
    venv = make_venv()
    site = site_packages(venv)
    write_torch(site, "2.13.0+cpu", None)
    full_local(site)
    target = probe_interpreter(str(python_of(venv)))
    installed = scan(target.site_dirs)
    h100_and_1080ti = fake.Machine(
        driver="580.65.06", cuda=13000, gpus=[fake.Gpu(), *fake.old_driver_gtx1080ti().gpus]
    )
    machine = Machine("linux", "x86_64", fake.probe(h100_and_1080ti))
    torch_pin = next(p for p in LOCAL if p.name == "torch")
    choice = choose("auto", machine, "2.13", spec=torch_pin.spec)
    torch = planning.decide_torch(torch_pin, installed, "auto", machine, choice, upgrade=False)
    statuses = planning.pin_statuses(LOCAL, installed)
    plan = planning.Plan(
        profiles=("local",),
        python=target,
        installer=None,
        pins=statuses,
        torch=torch,
        dependency_problems=(),
        steps=planning.plan_steps(statuses, torch, (), installed, upgrade=False),
        upgrade=False,
        changes=planning.changes(statuses, installed, ()),
    )
    text = plain(plan)
    assert "PyTorch: cu126 for torch 2.13 from https://download.pytorch.org/whl/cu126" in text
    assert (
        "driver 580.65.06, CUDA 13.0; GPU 0 NVIDIA H100 80GB HBM3 (sm_90);"
        " GPU 1 NVIDIA GeForce GTX 1080 Ti (sm_61)" in text
    )
    assert "not cu132: it has no kernels for GPU 1 NVIDIA GeForce GTX 1080 Ti (sm_61)" in text
    assert "cu126: the newest build this driver and every GPU can run" in text
    assert "the installed torch is the CPU build; this machine has a GPU" in text
