"""The project section: this machine judged by the project file (chatenv.project), when the
current folder has one. Its packages, lock, torch build, GPUs, environment variables, models and
API settings, and the project's code for OpenAI v0 API calls.

Without a project file the section says so in one skipped line and doctor judges the machine
by chatenv's own pins, as it always has. With one, the packages section leaves every package
the project declares to this section (doctor/packages.py, `judged_by_chatenv`).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv.problems import problem
from chatenv.results import Status
from chatenv.system.hf_cache import hub_cache, nearest_existing

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chatenv.doctor.context import Context
    from chatenv.project import checks
    from chatenv.project.file import Project
    from chatenv.project.models import AccessCheck
    from chatenv.results import CheckResult


def _markers() -> dict[str, str]:
    from chatenv.requires import default_environment

    return dict(default_environment())


def _dotenv(path: Path) -> tuple[dict[str, str], str | None]:
    from chatenv.keys.config import EnvFileError, read_env_file

    try:
        return read_env_file(path), None
    except EnvFileError as exc:
        return {}, exc.message


def observe_models(
    project: Project,
    environ: Mapping[str, str],
    home: Path,
    access: AccessCheck | None = None,
) -> list[checks.ModelSeen]:
    """What this machine holds of each model, and the free disk where the hub cache is.

    `access` is where the Hugging Face token check plugs in (can this token read a gated
    model: it needs the hub and the token, chatenv.keys' HF token work); doctor hands in
    none yet, and the model's result says that was not checked."""
    from chatenv.project import checks
    from chatenv.project.models import observe

    cache, _ = hub_cache(environ, home)
    free = None
    at = nearest_existing(cache)
    if at is not None:
        with contextlib.suppress(OSError):
            free = shutil.disk_usage(at).free
    seen = []
    for need in project.settings.models:
        answer = access(need.ref, need.revision) if access and not need.is_folder else None
        seen.append(checks.ModelSeen(need, observe(need, cache), free, answer))
    return seen


def check_project(ctx: Context, project: Project) -> list[CheckResult]:
    from chatenv.project import checks
    from chatenv.project.openai_v0 import scan

    results = checks.check_file(project)
    ctx.step("judged the project's requirements")
    results.append(checks.check_requirements(project, ctx.installed, _markers(), prefix=sys.prefix))
    for lock in project.locks:
        results.append(checks.check_lock(lock, project, ctx.installed, prefix=sys.prefix))
    settings = project.settings
    if settings.torch.says_anything:
        found = checks.check_torch_policy(project, ctx.torch, ctx.gpus)
        results += [found] if found else []
    if settings.gpus.says_anything:
        gpus = checks.check_gpus(project, ctx.gpus)
        results += [gpus] if gpus else []
    if settings.env:
        values, _ = _dotenv(ctx.options.env_path)
        results += checks.check_env(project, ctx.environ, values, ctx.options.env_file)
    if settings.models:
        home = Path(ctx.environ.get("HOME") or Path.home())
        ctx.step("looked for the project's models")
        for seen in observe_models(project, ctx.environ, home):
            results += checks.check_model(
                project, seen, ctx.gpus, ctx.host.ram_bytes, offline=ctx.options.offline
            )
    api = checks.check_api(project)
    results += [api] if api else []
    found_v0 = scan(project.folder, progress=lambda n: ctx.step(f"scanned {n} Python files"))
    results.append(checks.check_openai_v0(found_v0, project.folder))
    return results


def collect(ctx: Context) -> list[CheckResult]:
    found = ctx.project
    if found.path is None:
        return [problem("project.none").check(Status.SKIP, "project.none")]
    from chatenv.project import checks  # only with a project file: ~14 ms of imports

    if found.error is not None:
        return [checks.check_file_error(found.error)]
    assert found.project is not None
    return check_project(ctx, found.project)
