"""`chatenv install` from end to end: observe, plan, apply, verify.

The CLI module parses options and renders; this module holds the order of things and the
refusals. Every outside effect goes through `Seams` (subprocesses, NVML, PATH lookup; the same
`chatenv.system.seams.Seams` doctor takes), so tests
can drive it on a machine that has no GPU.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatenv.doctor.fixes import FixTarget
from chatenv.errors import ChatenvError
from chatenv.install import plan as planning
from chatenv.install import torch_index
from chatenv.install.apply import apply_steps, default_log_path, write_constraints
from chatenv.install.installer import check_installer_name, pick_installer
from chatenv.install.pins import USER_PROFILES, load_pins
from chatenv.install.resolve import Outcome, dry_run, network_reason
from chatenv.install.target import probe_interpreter
from chatenv.install.variant import AUTO, CPU, Machine, choose, parse_request
from chatenv.install.verify import check_packages, check_torch
from chatenv.installed import broken_requirements, scan
from chatenv.problems import problem
from chatenv.records import dataclass, field, replace
from chatenv.results import CheckResult, Status
from chatenv.system.nvml import ProbeState
from chatenv.system.seams import Seams

if TYPE_CHECKING:
    from collections.abc import Callable

    from chatenv.install.apply import StepRun
    from chatenv.install.installer import Installer, Step
    from chatenv.install.pins import Pin
    from chatenv.install.resolve import Resolution
    from chatenv.install.target import Interpreter
    from chatenv.installed import Installed
    from chatenv.project.file import Project
    from chatenv.system.amd import AmdProbe
    from chatenv.system.nvml import GpuProbe


@dataclass(frozen=True)
class InstallOptions:
    profiles: tuple[str, ...] = ("all",)
    torch: str = AUTO
    installer: str = "auto"
    python: str | None = None
    system: bool = False
    upgrade: bool = False
    force: bool = False
    log_file: Path | None = None
    #: the PyTorch index (or a mirror of it) whose pages say which torch wheels exist;
    #: None: download.pytorch.org
    torch_index: str | None = None
    #: a project file (setup on a project): its requirements join the profiles' pins and take
    #: the place of chatenv's for every package it declares; its torch policy limits the build
    project: Project | None = None


@dataclass(frozen=True)
class Prepared:
    """Everything observed and decided before anything changes."""

    options: InstallOptions
    plan: planning.Plan
    installed: Installed
    machine: Machine | None
    #: the steps as they will run (exact torch version, torch constraint filled in), only
    #: those whose dry run changes something
    runnable: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Applied:
    runs: tuple[StepRun, ...]
    log: Path
    checks: tuple[CheckResult, ...] = field(default=())


def check_profiles(names: tuple[str, ...]) -> tuple[str, ...]:
    for name in names:
        if name not in USER_PROFILES:
            load_pins().profile(name)  # unknown: raises the usage error with the known names
            raise problem("install.not-a-user-profile").error(
                name=name, known=", ".join(USER_PROFILES)
            )
    return tuple(dict.fromkeys(names)) or ("all",)


def refuse_system(target: Interpreter) -> None:
    raise problem("install.system-interpreter").error(executable=target.executable)


def prepare(options: InstallOptions, seams: Seams | None = None) -> Prepared:
    """Observe the target and decide. Runs the installer's resolver only when something has to
    change: a no-op reads metadata and returns."""
    seams = seams or Seams()
    profiles = check_profiles(options.profiles)
    request = parse_request(options.torch)
    check_installer_name(options.installer)
    target = probe_interpreter(options.python or sys.executable, seams.runner())
    if target.is_system and not options.system:
        refuse_system(target)
    installed = scan(target.site_dirs)
    pins = load_pins().pins_for(profiles)
    notes: list[str] = []
    also: tuple[str, ...] = ()
    if options.project is not None:
        from chatenv.project.provision import project_pins

        found = project_pins(pins, options.project, target.markers)
        pins, also = found.pins, found.also
        notes.extend(found.notes)
    statuses = planning.pin_statuses(pins, installed)

    torch_pin = next((p for p in pins if p.name == "torch"), None)
    machine = None
    torch_plan = None
    project = options.project
    if project is not None and request == AUTO and project.settings.torch.variant == CPU:
        request = CPU  # the project wants the CPU build: auto means it
    if torch_pin is not None:
        machine, torch_plan = _plan_torch(
            options, request, torch_pin, target, installed, seams, notes
        )
    elif options.torch != AUTO:
        notes.append(f"--torch {request} has no effect: {', '.join(profiles)} installs no torch")
    if target.is_system and target.externally_managed:
        notes.append(
            f"{target.executable} is marked externally managed (PEP 668): its pip refuses to"
            " install unless told --break-system-packages; a virtualenv avoids this"
        )

    roots = [p.name for p in pins]
    problems = broken_requirements(installed, target.markers, roots=roots).broken
    steps = planning.plan_steps(
        statuses, torch_plan, problems, installed, upgrade=options.upgrade, also=also,
        also_met=_also_met(also, installed),
    )  # fmt: skip
    plan = planning.Plan(
        profiles=profiles,
        python=target,
        installer=None,
        pins=statuses,
        torch=torch_plan,
        dependency_problems=problems,
        steps=steps,
        upgrade=options.upgrade,
        changes=planning.changes(statuses, installed, ()),
        notes=tuple(notes),
    )
    prepared = Prepared(options, plan, installed, machine)
    if not steps:
        return prepared
    installer = pick_installer(options.installer, target, seams.find)
    return _resolve(replace(prepared, plan=replace(plan, installer=installer)), installer, seams)


def _plan_torch(
    options: InstallOptions,
    request: str,
    torch_pin: Pin,
    target: Interpreter,
    installed: Installed,
    seams: Seams,
    notes: list[str],
) -> tuple[Machine, planning.TorchPlan]:
    """The torch build for the target and whether to change it (`notes` gets what the plan
    should say about where torch comes from)."""
    index = torch_index.TorchIndex.chosen(options.torch_index, seams.environ())
    machine = observe_machine(target, seams.probe_gpus(), seams, index.base, seams.probe_amd())
    if machine.offered is not None and machine.offered.note:
        notes.append(f"{machine.offered.note}: the torch variants come from chatenv's table")
    series = _target_series(torch_pin, options.project)
    choice = choose(request, machine, series, spec=torch_pin.spec, force=options.force)
    if index.mirrored:
        choice = replace(choice, index_url=index.url_for(choice.index_url), index=index)
        notes.append(_index_note(index, target))
    if choice.refusal and (choice.final or not options.force):
        raise ChatenvError(choice.refusal, fix=choice.fix)
    if options.project is not None and not choice.forced:
        from chatenv.project.provision import torch_refusal

        refused = torch_refusal(choice, options.project)
        if refused is not None:
            raise refused
    torch_plan = planning.decide_torch(
        torch_pin, installed, request, machine, choice, upgrade=options.upgrade
    )
    if options.project is not None and torch_plan.keep:
        torch_plan = _replace_for_policy(torch_plan, torch_pin, installed, options.project)
    return machine, torch_plan


def _index_note(index: torch_index.TorchIndex, target: Interpreter) -> str:
    if index.base is not None:
        return f"torch comes from {index.base} ({index.source}), a mirror of the PyTorch index"
    on_pypi = (
        "a CUDA build (with several GB of nvidia-* packages)"
        if target.platform.startswith("linux") and target.machine in ("x86_64", "AMD64")
        else "the CPU build"
    )
    return (
        f"torch comes from the installer's configured package index ({index.source}): the "
        f"build that index has, whatever --torch says; PyPI's torch for {target.platform} "
        f"{target.machine} is {on_pypi}"
    )


def observe_machine(
    target: Interpreter,
    gpu: GpuProbe,
    seams: Seams,
    index_url: str | None = torch_index.DEFAULT_INDEX,
    amd: AmdProbe | None = None,
) -> Machine:
    """The machine the torch choice looks at. Which CUDA wheels exist is read from the PyTorch
    index only where it can change the choice (an NVIDIA GPU NVML can read): a CPU machine
    gets the CPU build whatever the index says, without a network round trip."""
    offered = None
    if (
        index_url is not None
        and gpu.state is ProbeState.OK
        and gpu.has_gpu
        and not target.platform.startswith("darwin")
    ):
        wheel = torch_index.WheelTarget(target.platform, target.machine, target.version)
        offered = torch_index.read_offered(index_url, wheel, seams.get_text)
    if amd is None:
        from chatenv.system.amd import AmdProbe

        amd = AmdProbe()
    return Machine(target.platform, target.machine, gpu, offered, amd=amd)


def _replace_for_policy(
    torch_plan: planning.TorchPlan, pin: Pin, installed: Installed, project: Project
) -> planning.TorchPlan:
    """A build install would keep (it runs here) that the project's torch policy rules out is
    replaced by the chosen one."""
    from chatenv.project.provision import keeps_policy

    if keeps_policy(project, installed):
        return torch_plan
    wanted = project.settings.torch.describe()
    return replace(
        torch_plan,
        keep=False,
        reason=f"{torch_plan.reason}; the project wants {wanted}",
        requirement=planning.torch_requirement(
            pin.spec, torch_plan.choice.series, installed.version("torch")
        ),
    )


def _also_met(also: tuple[str, ...], installed: Installed) -> bool:
    if not also:
        return True
    from chatenv.project.provision import also_met

    return also_met(also, installed)


def _target_series(pin: Pin, project: Project | None = None) -> str:
    from chatenv.install.variant import target_series

    series = target_series(pin.spec)
    if series is None and project is not None:  # a project may pin a patch release
        from chatenv.project.provision import torch_series

        series = torch_series(pin.spec)
    if series is None:  # the pins allow no torch release this table knows
        raise problem("install.no-known-torch-release").error(spec=pin.spec)
    return series


def _resolve(prepared: Prepared, installer: Installer, seams: Seams) -> Prepared:
    """Dry-run each step (torch first: the packages step is constrained to its result)."""
    plan = prepared.plan
    resolutions: list[Resolution] = []
    runnable: list[Step] = []
    torch_version = prepared.installed.version("torch")
    with tempfile.TemporaryDirectory(prefix="chatenv-plan-") as tmp:
        for planned in plan.steps:
            step = planned
            if planned.name == "packages" and "torch" in planned.constraints:
                if torch_version is None:
                    break
                step = _constrain_to_torch(planned, torch_version, prepared.installed)
            constraints = None
            if step.constraints:
                constraints = write_constraints(
                    Path(tmp) / f"{step.name}.constraints.txt", step.constraints
                )
            res = dry_run(installer, step, constraints_file=constraints, runner=seams.runner())
            resolutions.append(res)
            if not res.ok:
                break
            if step.name == "torch":
                resolved = next((r for r in res.installs if r.name == "torch"), None)
                if resolved is not None:
                    torch_version = resolved.version
                    runnable.append(planning.exact_torch_step(step, resolved.version))
            elif res.installs or res.removes:
                runnable.append(planning.exact_step(step, res.installs))
    configured = None
    failed = next((r for r in resolutions if not r.ok), None)
    torch_step = next((s for s in plan.steps if s.name == "torch"), None)
    if (
        failed is not None
        and failed.step == "torch"
        and failed.outcome is Outcome.UNREACHABLE
        and torch_step is not None
        and torch_step.index_url
    ):
        # honest about the way out: would the index the installer is configured with do?
        step = replace(torch_step, index_url=None, plan_extra_index_urls=())
        configured = dry_run(installer, step, constraints_file=None, runner=seams.runner())
    notes = list(plan.notes)
    for res in resolutions:
        reason = network_reason(res.output) if res.ok else None
        if reason:
            where = ", ".join(res.unreachable) or _index_of(plan, res.step, "an index")
            notes.append(
                f"{where} did not answer ({reason}) while planning the {res.step} step;"
                " the installer used its other configured sources"
            )
    changes = planning.changes(plan.pins, prepared.installed, tuple(resolutions))
    plan = replace(
        plan,
        resolutions=tuple(resolutions),
        changes=changes,
        notes=tuple(notes),
        configured_torch=configured,
    )
    return replace(prepared, plan=plan, runnable=tuple(runnable))


def _constrain_to_torch(step: Step, torch_version: str, installed: Installed) -> Step:
    """Pin the packages step to the torch the torch step resolved; its dry run needs torch's
    index only while that torch is not installed yet."""
    step = planning.pin_torch(step, torch_version)
    if torch_version == installed.version("torch"):
        step = replace(step, plan_extra_index_urls=())
    return step


def resolution_failure(plan: planning.Plan) -> ChatenvError | None:
    """The one-line error for a plan whose resolution failed (registry unreachable, ...)."""
    res = plan.failed_resolution
    if res is None:
        return None
    if res.outcome is Outcome.UNREACHABLE:
        where = ", ".join(res.unreachable) or _index_of(plan, res.step, "the package index")
        other = plan.configured_torch
        torch = next((r for r in other.installs if r.name == "torch"), None) if other else None
        if res.step == "torch" and other is not None and other.ok and torch is not None:
            from chatenv.problems.invocation import with_option

            return problem("install.torch-index-unreachable").error(
                where=where,
                reason=res.message,
                version=torch.version,
                build=_build_of(torch.version, other, plan.python),
                retyped=with_option(
                    "--torch-index",
                    torch_index.CONFIGURED,
                    f"chatenv install {' '.join(plan.profiles)} --torch-index configured",
                ),
            )
        return problem("install.index-unreachable").error(
            where=where, reason=res.message, step=res.step
        )
    if res.outcome is Outcome.NO_MATCH:
        return problem("install.no-match").error(step=res.step, reason=res.message)
    return problem("install.plan-failed").error(step=res.step, reason=res.message)


def _build_of(version: str, res: Resolution, target: Interpreter) -> str:
    """Which build a torch from the configured index is, from what the dry run would install:
    its local version label (`+cpu`, `+cu126`), the nvidia-* / cuda-toolkit packages it pulls
    in, else what PyPI ships for the platform."""
    label = version.partition("+")[2]
    if label == "cpu":
        return "the CPU build"
    if label.startswith(("cu", "rocm")):
        return f"the {label} build"
    if any(r.name.startswith(("nvidia-", "cuda-toolkit")) for r in res.installs):
        return "a CUDA build (it pulls in the nvidia-* CUDA packages, several GB)"
    if target.platform.startswith("linux") and target.machine in ("x86_64", "AMD64"):
        return "PyPI's default for Linux x86_64, a CUDA build (several GB)"
    return "the CPU build (PyPI's for this platform)"


def _index_of(plan: planning.Plan, step_name: str, default: str) -> str:
    step = next((s for s in plan.steps if s.name == step_name), None)
    if step is not None and step.index_url:
        return step.index_url
    return default


def execute(
    prepared: Prepared,
    seams: Seams | None = None,
    *,
    on_step: Callable[[Step], None] = lambda step: None,
    on_line: Callable[[str], None] = lambda line: None,
    log_path: Path | None = None,
) -> Applied:
    """Run the planned steps, then verify with freshly read metadata."""
    seams = seams or Seams()
    installer = prepared.plan.installer
    assert installer is not None
    log = log_path or prepared.options.log_file or default_log_path()
    runs = apply_steps(
        installer,
        prepared.runnable,
        log,
        on_step=on_step,
        on_line=on_line,
        runner=seams.line_runner(),
    )
    after = scan(prepared.plan.python.site_dirs)
    torch_ran = any(r.step == "torch" for r in runs)
    checks = verify(prepared, after, expect_torch=torch_ran)
    return Applied(tuple(runs), log, tuple(checks))


def verify(prepared: Prepared, installed: Installed, *, expect_torch: bool) -> list[CheckResult]:
    """The checks doctor runs for packages and the torch build, on `installed`, plus whether
    torch is the build chatenv chose (`expect_torch`: the torch step ran)."""
    plan = prepared.plan
    target = FixTarget(plan.python.executable if prepared.options.python else None)
    project = prepared.options.project
    if project is not None:
        checks = _verify_project(project, installed, plan, target)
    else:
        checks = check_packages(plan.profiles, load_pins(), installed, plan.python.markers, target)
    if plan.torch is not None and prepared.machine is not None:
        checks += check_torch(
            installed.torch,
            plan.torch.choice,
            prepared.machine,
            plan.profiles,
            target,
            # from the installer's configured index, torch is whatever build that index has
            expect_variant=plan.torch.choice.variant
            if expect_torch and not _configured(plan)
            else None,
        )
    return checks


def _configured(plan: planning.Plan) -> bool:
    index = plan.torch.choice.index if plan.torch is not None else None
    return index is not None and index.base is None


def _verify_project(
    project: Project, installed: Installed, plan: planning.Plan, target: FixTarget
) -> list[CheckResult]:
    """doctor's checks as a project file has them: chatenv's pins for what the project does not
    declare, the project's requirements for what it does."""
    from chatenv.doctor.packages import judged_by_chatenv
    from chatenv.project.checks import check_requirements

    pins, profiles = judged_by_chatenv(load_pins(), project)
    checks = check_packages(profiles, pins, installed, plan.python.markers, target)
    declared = check_requirements(
        project, installed, plan.python.markers, target=target, prefix=plan.python.prefix
    )
    return [*checks, declared.in_section("verify")]


def plan_results(prepared: Prepared) -> list[CheckResult]:
    """What a plan itself has to say as results: warnings about the torch choice, notes, and a
    failed resolution."""
    plan = prepared.plan
    results: list[CheckResult] = []
    torch = plan.torch
    if torch is not None and torch.choice.warning and not torch.keep:
        results.append(
            CheckResult.warn(
                "torch-choice", torch.choice.warning, section="plan", fix=torch.choice.fix
            )
        )
    if torch is not None and torch.choice.forced:
        results.append(
            problem("install.forced").check(
                Status.WARN, "torch-choice", section="plan", variant=torch.choice.variant
            )
        )
    gpu = prepared.machine.gpu if prepared.machine else None
    if gpu is not None and gpu.state is ProbeState.OK and any(g.unavailable for g in gpu.gpus):
        details = [f"GPU {g.index}: {u}" for g in gpu.gpus for u in g.unavailable]
        results.append(
            problem("install.gpu-fields-unreadable").check(
                Status.WARN, "gpu-probe", section="plan", details=details
            )
        )
    error = resolution_failure(plan)
    if error is not None:
        results.append(CheckResult.fail("resolve", error.message, section="plan", fix=error.fix))
    return results


def report_data(
    prepared: Prepared, *, dry_run: bool, applied: Applied | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {"dry_run": dry_run, "plan": prepared.plan.to_json()}
    if applied is not None:
        data["applied"] = [r.to_json() for r in applied.runs]
        data["log"] = str(applied.log)
    return data
