"""The project's checks: the machine judged by what the project file says. Each is a function
from observations to results, so doctor (the machine it runs on), install's verification (the
interpreter it installed into) and the tests can hand it any machine.

Every finding about something written in a file carries `data["locations"]`: the file and line
(the project file's key, a requirement's line in pyproject.toml or requirements.txt, a v0 call
in the code), which the GitHub annotations point at.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from chatenv.doctor.fixes import HERE
from chatenv.problems import problem
from chatenv.project.fit import Estimate, fit_on_gpus, gib, params_text
from chatenv.records import dataclass
from chatenv.results import CheckResult, Status

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from chatenv.doctor.fixes import FixTarget
    from chatenv.installed import Installed, TorchBuild
    from chatenv.project.file import Project
    from chatenv.project.locks import Lock
    from chatenv.project.models import ModelFiles
    from chatenv.project.openai_v0 import Scan
    from chatenv.project.requirements import Declared
    from chatenv.project.settings import EnvNeed, ModelNeed, ProjectFileError
    from chatenv.system.nvml import GpuProbe

#: the default dtype a model is loaded in when neither the project nor its files say
DEFAULT_DTYPE = "bfloat16"
#: findings listed in one result before "and N more"
SHOWN = 20


def _loc(path: Path, line: int | None, message: str) -> dict[str, Any]:
    return {"path": str(path), "line": line, "message": message}


def _more(count: int) -> str:
    return f" (and {count} more)" if count > 0 else ""


# -- the file itself -------------------------------------------------------------------------


def check_file(project: Project) -> list[CheckResult]:
    """Which file, what it declares, and the keys chatenv does not read."""
    files = ", ".join(p.name for p in project.declarations.files) or "no package declarations"
    count = len(project.declarations.requirements)
    details = [
        f"profiles: {', '.join(project.profiles)}"
        + ("" if project.settings.profiles is not None else " (from its requirements)"),
        *(f"read {p}" for p in project.declarations.files),
        *(f"lock: {lock.path}" for lock in project.locks),
        *project.declarations.notes,
        *(f"index option (left to pip): {o}" for o in project.declarations.index_options),
    ]
    results = [
        CheckResult.ok(
            "project.file",
            f"project file: {project.kind}; {count} requirement"
            f"{'s' if count != 1 else ''} from {files}",
            details=details,
            data={
                **project.to_json(),
                "locations": [_loc(project.path, project.at().line, "the project file")],
            },
        )
    ]
    if project.unknown:
        first = project.unknown[0]
        results.append(
            problem("project.unknown-key").check(
                Status.WARN,
                "project.unknown-keys",
                details=[f"{project.path.name}:{u.line}: {u.key}{u.hint}" for u in project.unknown],
                data={
                    "keys": [u.key for u in project.unknown],
                    "locations": [
                        _loc(project.path, u.line, f"chatenv does not read {u.key}{u.hint}")
                        for u in project.unknown
                    ],
                },
                where=f"{project.path.name}:{first.line}" if first.line else project.path.name,
                key=first.key,
                hint=first.hint,
                more=_more(len(project.unknown) - 1),
            )
        )
    return results


def check_file_error(error: ProjectFileError) -> CheckResult:
    """A project file chatenv cannot use: one failure, at its line."""
    return CheckResult.fail(
        "project.file",
        error.message,
        fix=error.fix,
        data={"path": str(error.path), "locations": [_loc(error.path, error.line, error.message)]},
    )


# -- packages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequirementState:
    declared: Declared
    installed: str | None
    #: "ok", "missing", "outside", "unjudged" (not a PEP 508 line), "elsewhere" (its markers
    #: do not hold here), "invalid" (a version packaging cannot read)
    state: str

    @property
    def met(self) -> bool:
        return self.state in ("ok", "unjudged", "elsewhere")

    def describe(self) -> str:
        d = self.declared
        where = f"{d.path.name}:{d.line}" if d.line else d.path.name
        if self.state == "missing":
            return f"{d.name} is not installed; the project wants {d.text} ({where})"
        if self.state == "outside":
            return f"{d.name} {self.installed} is installed; the project wants {d.text} ({where})"
        if self.state == "invalid":
            return f"{d.name} {self.installed}: a version packaging cannot read ({where})"
        if self.state == "unjudged":
            return f"{d.text}: not checked, not a requirement chatenv can judge ({where})"
        if self.state == "elsewhere":
            return f"{d.text}: its markers do not hold here ({where})"
        return f"{d.text}: {self.installed} ({where})"

    def to_json(self) -> dict[str, Any]:
        return {**self.declared.to_json(), "installed": self.installed, "state": self.state}


def judge(
    declared: Iterable[Declared], installed: Installed, markers: Mapping[str, str]
) -> list[RequirementState]:
    """Each declared requirement against what is installed (prereleases count, as in pip
    check)."""
    env = {**markers, "extra": ""}
    states = []
    for d in declared:
        req = d.requirement
        if req is None:
            states.append(RequirementState(d, None, "unjudged"))
            continue
        if req.marker is not None:
            try:
                holds = req.marker.evaluate(env)
            except Exception:  # a marker this packaging cannot evaluate: judge it anyway
                holds = True
            if not holds:
                states.append(RequirementState(d, None, "elsewhere"))
                continue
        version = installed.version(req.name)
        if version is None:
            states.append(RequirementState(d, None, "missing"))
            continue
        if req.url or not req.specifier:
            states.append(RequirementState(d, version, "ok"))
            continue
        try:
            inside = req.specifier.contains(Version(version), prereleases=True)
        except InvalidVersion:
            states.append(RequirementState(d, version, "invalid"))
            continue
        states.append(RequirementState(d, version, "ok" if inside else "outside"))
    return states


def install_command(
    project: Project, unmet: Sequence[RequirementState], target: FixTarget, prefix: str
) -> str:
    """The line that installs what is missing, as the project itself would: from its lock
    (uv sync, keeping what the lock does not name), its requirements files, or the
    requirements themselves."""
    python_option = f" --python {shlex.quote(target.python)}" if target.python else ""
    uv_lock = next((lock for lock in project.locks if lock.kind == "uv.lock"), None)
    if uv_lock is not None:
        settings = project.settings.packages
        flags = " --all-extras" if "*" in settings.extras else ""
        flags += "".join(f" --extra {shlex.quote(e)}" for e in settings.extras if e != "*")
        flags += "".join(f" --group {shlex.quote(g)}" for g in settings.groups)
        into = python_option or ("" if prefix == str(project.folder / ".venv") else " --active")
        return f"uv sync --inexact{into}{flags}"
    files = list(dict.fromkeys(s.declared.path for s in unmet))
    if files and all(p.suffix == ".txt" for p in files):
        args = " ".join(f"-r {shlex.quote(str(_relative(p, project.folder)))}" for p in files)
        return target.pip_install(args)
    words = " ".join(shlex.quote(_here(s.declared)) for s in unmet)
    return target.pip_install(words)


def _here(declared: Declared) -> str:
    """A requirement as pip takes it on this machine: its markers hold here, so drop them."""
    req = declared.requirement
    if req is None or req.marker is None:
        return declared.text
    from packaging.requirements import Requirement

    bare = Requirement(str(req))
    bare.marker = None
    return str(bare)


def _relative(path: Path, folder: Path) -> Path:
    try:
        return path.relative_to(folder)
    except ValueError:
        return path


def check_requirements(
    project: Project,
    installed: Installed,
    markers: Mapping[str, str],
    *,
    target: FixTarget = HERE,
    prefix: str = "",
) -> CheckResult:
    states = judge(project.declarations.requirements, installed, markers)
    unmet = [s for s in states if not s.met]
    judged = [s for s in states if s.state not in ("unjudged", "elsewhere")]
    files = ", ".join(p.name for p in project.declarations.files) or project.path.name
    data: dict[str, Any] = {
        "requirements": [s.to_json() for s in states],
        "locations": [_loc(s.declared.path, s.declared.line, s.describe()) for s in unmet[:SHOWN]],
    }
    details = [s.describe() for s in states]
    if not states:
        return CheckResult.ok(
            "project.packages",
            "the project declares no packages (dependencies, requirements*.txt or also)",
            data=data,
        )
    if not unmet:
        return CheckResult.ok(
            "project.packages",
            f"the project's {len(judged)} requirement{'s are' if len(judged) != 1 else ' is'} "
            f"met ({files})",
            details=details,
            data=data,
        )
    return problem("project.requirements-unmet").check(
        Status.FAIL,
        "project.packages",
        details=details,
        data=data,
        count=len(unmet),
        total=len(judged),
        first=unmet[0].describe(),
        more=_more(len(unmet) - 1),
        command=install_command(project, unmet, target, prefix),
    )


def check_lock(
    lock: Lock,
    project: Project,
    installed: Installed,
    *,
    target: FixTarget = HERE,
    prefix: str = "",
) -> CheckResult:
    rid = f"project.lock.{lock.kind}"
    if lock.error is not None:
        return problem("project.lock-unreadable").check(
            Status.WARN,
            rid,
            data={**lock.to_json(), "locations": [_loc(lock.path, None, lock.error)]},
            path=lock.path.name,
            reason=lock.error,
        )
    differ = []
    for name, versions in sorted(lock.versions.items()):
        have = installed.version(name)
        if have is None or not any(_same(have, v) for v in versions):
            locked = " or ".join(sorted(versions))
            differ.append(f"{name} {have or 'not installed'} (locked: {locked})")
    data = {**lock.to_json(), "differ": differ}
    if not differ:
        return CheckResult.ok(
            rid,
            f"the installed versions match {lock.kind} ({len(lock.versions)} packages)",
            data=data,
        )
    if lock.kind == "uv.lock":
        command = install_command(project, [], target, prefix)
    else:
        python_option = f" --python {shlex.quote(target.python)}" if target.python else ""
        command = f"uv pip install{python_option} -r {shlex.quote(lock.path.name)}"
    return problem("project.lock-differs").check(
        Status.WARN,
        rid,
        details=differ,
        data={**data, "locations": [_loc(lock.path, None, f"{len(differ)} packages differ")]},
        count=len(differ),
        total=len(lock.versions),
        lock=lock.kind,
        first=differ[0],
        more=_more(len(differ) - 1),
        command=command,
    )


def _same(installed: str, locked: str) -> bool:
    """Versions equal as versions (2.7.1+cu126 is torch 2.7.1 for a lock that names 2.7.1)."""
    try:
        a, b = Version(installed), Version(locked)
    except InvalidVersion:
        return installed == locked
    return a == b or (a.public == b.public and not b.local)


# -- torch and the GPUs ------------------------------------------------------------------------


def check_torch_policy(
    project: Project, build: TorchBuild | None, gpus: GpuProbe, *, target: FixTarget = HERE
) -> CheckResult | None:
    policy = project.settings.torch
    if not policy.says_anything:
        return None
    where = project.at("torch", "min_cuda" if policy.min_cuda else "variant")
    wanted = policy.describe()
    data: dict[str, Any] = {
        "variant": policy.variant,
        "min_cuda": str(policy.min_cuda) if policy.min_cuda else None,
        "installed": build.to_json() if build else None,
    }
    located = {"locations": [_loc(where.path, where.line, f"the project wants {wanted}")]}
    if build is None:
        return problem("project.torch-missing").check(
            Status.FAIL, "project.torch", data={**data, **located}, wanted=wanted,
            where=str(where), command=_torch_command(project, None, gpus, target),
        )  # fmt: skip
    label = f"torch {build.version} ({build.kind})"
    if policy.allows(build.cuda, rocm=bool(build.hip)):
        return CheckResult.ok("project.torch", f"{label}: the project wants {wanted}", data=data)
    return problem("project.torch-policy").check(
        Status.FAIL, "project.torch", data={**data, **located}, label=label, wanted=wanted,
        where=str(where), command=_torch_command(project, build, gpus, target),
    )  # fmt: skip


def _torch_command(
    project: Project, build: TorchBuild | None, gpus: GpuProbe, target: FixTarget
) -> str:
    """pip, from PyTorch's index for the newest CUDA variant the policy allows and this driver
    runs, for the torch the project declares (or the installed release)."""
    from chatenv import torch_builds as tb

    policy = project.settings.torch
    declared = next(
        (d for d in project.declarations.requirements if d.name == "torch" and d.requirement),
        None,
    )
    requirement = declared.text if declared else "torch"
    if build is not None and declared is None and build.series:
        requirement = f"torch=={build.series}.*"
    if policy.variant == "cpu":
        index = "https://download.pytorch.org/whl/cpu"
    else:
        from chatenv.pep440 import SpecifierSet
        from chatenv.project.provision import torch_series

        series = (
            (
                torch_series(SpecifierSet(str(declared.requirement.specifier)))
                if declared and declared.requirement
                else None
            )
            or (build.series if build is not None else None)
            or tb.known_series()[0]
        )
        driver = gpus.driver
        candidates = [
            v
            for v in tb.shipped_variants(series)
            if (policy.min_cuda is None or policy.min_cuda <= v.cuda)
            and (driver is None or tb.driver_supports(v, driver.version, driver.cuda))
        ]
        if not candidates:
            need = f"CUDA {policy.min_cuda}" if policy.min_cuda else "a CUDA build"
            return f"upgrade the NVIDIA driver: none here runs {need} of torch {series}"
        index = candidates[0].index_url
    return target.pip_install(f"--force-reinstall {shlex.quote(requirement)} --index-url {index}")


def check_gpus(project: Project, gpus: GpuProbe) -> CheckResult | None:
    need = project.settings.gpus
    if not need.says_anything:
        return None
    parts = [f"{need.count} GPU{'s' if need.count != 1 else ''}"]
    if need.memory_gib:
        parts.append(f"{need.memory_gib:g} GiB each")
    if need.compute_capability:
        parts.append(
            f"compute capability {need.compute_capability[0]}.{need.compute_capability[1]}+"
        )
    wanted = ", ".join(parts)
    good = [
        g
        for g in gpus.gpus
        if (not need.memory_gib or (g.memory_total or 0) >= need.memory_gib * 1024**3)
        and (
            not need.compute_capability
            or (
                g.compute_capability is not None and g.compute_capability >= need.compute_capability
            )
        )
    ]
    have = [_gpu_line(g) for g in gpus.gpus]
    data = {"wanted": wanted, "suitable": [g.index for g in good], "gpus": have}
    if len(good) >= need.count:
        return CheckResult.ok(
            "project.gpus",
            f"{len(good)} GPU{'s' if len(good) != 1 else ''} meet the project's needs ({wanted})",
            details=have,
            data=data,
        )
    where = project.at("gpus")
    here = (
        f"{len(good)} of {len(gpus.gpus)} GPUs here qualify" if gpus.gpus else "no NVIDIA GPU here"
    )
    return problem("project.gpus-short").check(
        Status.FAIL,
        "project.gpus",
        details=have or [f"NVML: {gpus.error or gpus.state.value}"],
        data={**data, "locations": [_loc(where.path, where.line, f"the project needs {wanted}")]},
        wanted=wanted,
        here=here,
        where=str(where),
    )


def _gpu_line(g: Any) -> str:
    cc = g.compute_capability
    memory = gib(g.memory_total) if g.memory_total is not None else "memory unknown"
    free = f", {gib(g.memory_free)} free" if g.memory_free is not None else ""
    return f"GPU {g.index} {g.name or 'unknown'}: {memory}{free}, compute capability " + (
        f"{cc[0]}.{cc[1]}" if cc else "unknown"
    )


# -- environment variables ---------------------------------------------------------------------


def shown_value(need: EnvNeed, value: str) -> str:
    from chatenv.keys.mask import mask, mask_url, register

    if need.secret:
        register(value)
        return mask(value)
    return mask_url(value)


def check_env(
    project: Project, environ: Mapping[str, str], dotenv: Mapping[str, str], env_file: Path
) -> list[CheckResult]:
    results = []
    for need in project.settings.env:
        rid = f"project.env.{need.name}"
        where = project.at("env", need.name)
        value = environ.get(need.name)
        source = "the environment"
        if not value:
            value, source = dotenv.get(need.name), str(env_file)
        data: dict[str, Any] = {"name": need.name, "required": need.required, "url": need.url}
        if value:
            data["source"] = source
            results.append(
                CheckResult.ok(
                    rid, f"{need.name} is set ({source}): {shown_value(need, value)}", data=data
                )
            )
            continue
        why = f": {need.why}" if need.why else ""
        results.append(
            problem("project.env-missing").check(
                Status.FAIL if need.required else Status.WARN,
                rid,
                data={
                    **data,
                    "locations": [_loc(where.path, where.line, f"{need.name} is not set")],
                },
                name=need.name,
                why=why,
                env_file=env_file,
                url=f"; get it at {need.url}" if need.url else "",
            )
        )
    return results


# -- models ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSeen:
    need: ModelNeed
    files: ModelFiles
    #: free bytes where the hub cache is (None: unknown)
    free_disk: int | None = None
    #: the access seam's answer (None: not asked)
    access: str | None = None


def estimate_for(seen: ModelSeen) -> Estimate | None:
    params = seen.need.params or seen.files.params
    if params is None:
        return None
    dtype = seen.need.dtype or seen.files.dtype or DEFAULT_DTYPE
    return Estimate(params, dtype, seen.need.overhead)


def check_model(
    project: Project,
    seen: ModelSeen,
    gpus: GpuProbe,
    ram_bytes: int | None,
    *,
    offline: bool = False,
) -> list[CheckResult]:
    from chatenv.smoke.hub import download_command

    need, files = seen.need, seen.files
    rid = f"project.model.{need.slug}"
    where = project.at("models", need.index)
    locations = {"locations": [_loc(where.path, where.line, need.ref)]}
    data: dict[str, Any] = {"model": need.ref, "files": files.to_json(), "access": seen.access}
    estimate = estimate_for(seen)
    results: list[CheckResult] = []
    if need.is_folder and not files.present:
        results.append(
            problem("project.model-folder-missing").check(
                Status.FAIL, rid, data={**data, **locations}, model=need.ref, where=str(where)
            )
        )
    elif not files.present:
        size = estimate.weights_bytes if estimate else None
        data["download_bytes"] = size
        if size is not None and seen.free_disk is not None and size > seen.free_disk:
            results.append(
                problem("project.model-no-room").check(
                    Status.FAIL, rid, data={**data, **locations}, model=need.ref,
                    size=gib(size), free=gib(seen.free_disk), cache=files.cache_folder,
                )
            )  # fmt: skip
        else:
            results.append(
                problem("project.model-not-cached").check(
                    Status.WARN,
                    rid,
                    details=[f"would be cached in {files.cache_folder}"],
                    data={**data, **locations},
                    model=need.ref,
                    then=" (offline: setup cannot fetch it)" if offline else "",
                    command=download_command(need.ref),
                )
            )
    elif not files.complete:
        results.append(
            problem("project.model-incomplete").check(
                Status.WARN, rid, data={**data, **locations}, model=need.ref,
                folder=files.folder, command=_refetch(need, download_command),
            )
        )  # fmt: skip
    else:
        shown = gib(files.size_bytes) if files.size_bytes is not None else "size unknown"
        kind = "folder" if need.is_folder else "cached"
        details = [f"files: {files.folder}"]
        if not need.is_folder:
            details.append("whether the token can read a gated model is not checked yet")
        results.append(
            CheckResult.ok(rid, f"{need.ref}: {kind} ({shown})", details=details, data=data)
        )
    results.append(check_fit(project, seen, estimate, gpus, ram_bytes))
    return results


def _refetch(need: ModelNeed, download_command: Any) -> str:
    if need.is_folder:
        return f"copy the model's files into {need.folder} again"
    return str(download_command(need.ref))


def check_fit(
    project: Project,
    seen: ModelSeen,
    estimate: Estimate | None,
    gpus: GpuProbe,
    ram_bytes: int | None,
) -> CheckResult:
    need = seen.need
    rid = f"project.model.{need.slug}.fit"
    where = project.at("models", need.index)
    if estimate is None:
        return problem("project.model-size-unknown").check(
            Status.SKIP, rid, data={"model": need.ref}, model=need.ref
        )
    wanted = need.gpus or project.settings.gpus.count or 1
    how = [
        estimate.describe(),
        "estimate: parameters × bytes per parameter of the dtype, plus the overhead for the KV "
        "cache, activations and the CUDA context (docs/project-file.md)",
    ]
    if gpus.gpus:
        fit = fit_on_gpus(estimate, gpus.gpus, wanted)
        data = {"model": need.ref, **fit.to_json()}
        if fit.fits:
            return CheckResult.ok(
                rid,
                f"{need.ref} fits: about {gib(estimate.total_bytes)}, {fit.describe()}",
                details=how,
                data=data,
            )
        return problem("project.model-does-not-fit").check(
            Status.FAIL,
            rid,
            details=how,
            data={**data, "locations": [_loc(where.path, where.line, f"{need.ref} does not fit")]},
            model=need.ref,
            needed=gib(estimate.total_bytes),
            available=fit.describe(),
            estimate=f"{params_text(estimate.params)} parameters, {estimate.dtype}",
        )
    data = {"model": need.ref, "estimate": estimate.to_json(), "ram_bytes": ram_bytes}
    if ram_bytes is not None and estimate.total_bytes > ram_bytes:
        return problem("project.model-does-not-fit").check(
            Status.FAIL,
            rid,
            details=how,
            data={**data, "locations": [_loc(where.path, where.line, f"{need.ref} does not fit")]},
            model=need.ref,
            needed=gib(estimate.total_bytes),
            available=f"no GPU here, and {gib(ram_bytes)} of RAM",
            estimate=f"{params_text(estimate.params)} parameters, {estimate.dtype}",
        )
    ram = f" ({gib(ram_bytes)} of RAM)" if ram_bytes is not None else ""
    return CheckResult.ok(
        rid,
        f"{need.ref}: about {gib(estimate.total_bytes)}; no GPU here, it fits in memory{ram}",
        details=how,
        data=data,
    )


# -- the API and the code ----------------------------------------------------------------------


def check_api(project: Project) -> CheckResult | None:
    api = project.settings.api
    if api.model is None and api.base_url is None:
        return None
    from chatenv.keys.mask import mask_url

    parts = [f"model {api.model}" if api.model else "chatenv's default model"]
    parts.append(f"at {mask_url(api.base_url)}" if api.base_url else "at OPENAI_BASE_URL or OpenAI")
    return CheckResult.ok(
        "project.api",
        f"the API smoke test uses {' '.join(parts)}",
        data={"model": api.model, "base_url": mask_url(api.base_url) if api.base_url else None},
    )


def check_openai_v0(scan: Scan, folder: Path) -> CheckResult:
    def rel(path: Path) -> str:
        return str(_relative(path, folder))

    data: dict[str, Any] = {**scan.to_json()}
    details = [f"{rel(u.path)}:{u.line}: {u.found} → {u.v1}" for u in scan.uses]
    if scan.truncated:
        details.append(f"stopped after {scan.files + scan.skipped} files (the scan's cap)")
    if not scan.uses:
        plural = scan.files != 1
        mentions = (
            f"{scan.files} Python file{'s' if plural else ''} that mention{'' if plural else 's'} "
            "openai"
        )
        return CheckResult.ok(
            "project.openai-v0", f"no OpenAI v0 API use in {mentions}", details=details, data=data
        )
    data["locations"] = [
        _loc(u.path, u.line, f"{u.found}: v0 API; in v1: {u.v1}") for u in scan.uses[:SHOWN]
    ]
    # the line to lead with: a call or an import, then a retired model, then a setting
    first = min(
        scan.uses,
        key=lambda u: (u.found.endswith("= ..."), u.found.startswith(("'", '"')), u.path, u.line),
    )
    files = len({u.path for u in scan.uses})
    return problem("project.openai-v0").check(
        Status.WARN,
        "project.openai-v0",
        details=details,
        data=data,
        count=f"{len(scan.uses)} use{'s' if len(scan.uses) != 1 else ''}",
        files=f"{files} file{'s' if files != 1 else ''}",
        first=f"{rel(first.path)}:{first.line}: {first.found} → {first.v1}",
    )
