"""`chatenv init`: write a first project file from this machine (chatenv.project.starter), as
a `[tool.chatenv]` table appended to the project's pyproject.toml, or a chatenv.toml.

Appending never changes a byte of what pyproject.toml already holds. The text is read back
with the project file reader before anything is written, so a file chatenv writes is one
chatenv reads.
"""

from __future__ import annotations

import os
import socket
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatenv.problems import problem

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chatenv.results import Report
    from chatenv.system.seams import Seams


def target_file(cwd: Path, home: Path | None, *, chatenv_toml: bool) -> Path:
    """Where the project file goes: the project root's pyproject.toml when there is one (and
    chatenv.toml was not asked for), else a chatenv.toml there."""
    from chatenv.system.project import project_root

    root = project_root(cwd, home)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and not chatenv_toml:
        return pyproject
    return root / "chatenv.toml"


def run_init(
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = None,
    chatenv_toml: bool = False,
    dry_run: bool = False,
    force: bool = False,
    seams: Seams | None = None,
) -> Report:
    from chatenv.project import file as project_file
    from chatenv.project.starter import starter
    from chatenv.results import CheckResult, Report

    cwd = cwd or Path.cwd()
    env = dict(os.environ if environ is None else environ)
    home = Path(env["HOME"]) if env.get("HOME") else None
    target = target_file(cwd, home, chatenv_toml=chatenv_toml)
    existing = project_file.find(cwd, home)
    _refuse_existing(existing, target, force=force, dry_run=dry_run)
    pyproject = _pyproject(target.parent)
    from chatenv.keys.config import locate_env_file

    located = locate_env_file(env_file, cwd, home).path
    machine = _observe(target.parent, env, located, pyproject, seams)
    prefix = "tool.chatenv" if target.name == project_file.PYPROJECT else ""
    written_by = f"Written by `chatenv init` on {socket.gethostname()}, {date.today()}"
    made = starter(machine, prefix=prefix, written_by=written_by)
    text = made.text
    if prefix:
        before = target.read_text(encoding="utf-8")
        text = ("\n" if before.endswith("\n") else "\n\n") + made.text
    _check_readable(target, text, alone=existing is not None)
    results = [
        CheckResult.ok(f"init.{key}", f"{key}: {value}", data={"key": key, "value": value})
        for key, value in made.said.items()
    ]
    where = f"[tool.chatenv] in {target}" if prefix else str(target)
    if not dry_run:
        _write(target, text, append=bool(prefix))
        results.append(CheckResult.ok("init.file", f"wrote {where}", data={"path": str(target)}))
    else:
        results.append(
            CheckResult.ok(
                "init.file", f"would write {where} (--dry-run)", data={"path": str(target)}
            )
        )
    data: dict[str, Any] = {
        "path": str(target),
        "kind": "pyproject.toml" if prefix else "chatenv.toml",
        "dry_run": dry_run,
        "text": made.text,
    }
    return Report("init", tuple(r.in_section("init") for r in results), data=data)


def _refuse_existing(existing: Path | None, target: Path, *, force: bool, dry_run: bool) -> None:
    if existing is None or dry_run:
        return
    if existing == target and target.name == "chatenv.toml" and force:
        return
    if existing.name == "chatenv.toml":
        raise problem("init.exists").error(path=existing, force_hint=" (--force replaces it)")
    raise problem("init.exists").error(path=existing, force_hint="")


def _pyproject(folder: Path) -> dict[str, Any] | None:
    from chatenv.project.file import read_toml

    path = folder / "pyproject.toml"
    if not path.is_file():
        return None
    data, _ = read_toml(path)  # a pyproject.toml that is not TOML: its one line, exit 1
    return data


def _observe(
    folder: Path,
    environ: Mapping[str, str],
    env_file: Path,
    pyproject: Mapping[str, Any] | None,
    seams: Seams | None,
) -> Any:
    from chatenv.installed import scan
    from chatenv.keys.config import EnvFileError, read_env_file
    from chatenv.project import starter
    from chatenv.project.models import observe
    from chatenv.project.settings import ModelNeed
    from chatenv.system.hf_cache import hub_cache
    from chatenv.system.seams import Seams

    seams = seams or Seams()
    installed = scan(seams.sys_path)
    path = env_file if env_file.is_absolute() else folder / env_file
    try:
        dotenv = read_env_file(path)
    except EnvFileError:
        dotenv = {}
    code = starter.read_code(folder)
    home = Path(environ.get("HOME") or Path.home())
    cache, _ = hub_cache(environ, home)
    params = {}
    for model in code.models:
        files = observe(ModelNeed(ref=model), cache)
        if files.params:
            params[model] = files.params
    return starter.Machine(
        installed=installed,
        torch=installed.torch,
        gpus=seams.probe_gpus(),
        env_names=starter.names_set(environ, dotenv),
        declares_packages=starter.has_declarations(pyproject, folder),
        code=code,
        params=params,
    )


def _check_readable(target: Path, text: str, *, alone: bool) -> None:
    """Read the would-be file back with the project file reader (in a scratch folder): the
    pyproject.toml as it will be, or (`alone`: --dry-run beside an existing project file) the
    new text by itself."""
    import tempfile

    from chatenv.project.file import load

    with tempfile.TemporaryDirectory(prefix="chatenv-init-") as tmp:
        scratch = Path(tmp) / target.name
        appending = target.name == "pyproject.toml" and not alone
        before = target.read_text(encoding="utf-8") if appending else ""
        scratch.write_text(before + text, encoding="utf-8")
        load(scratch)  # raises ProjectFileError if chatenv wrote what it cannot read: a bug


def _write(target: Path, text: str, *, append: bool) -> None:
    try:
        if append:
            with target.open("a", encoding="utf-8") as f:
                f.write(text)
        else:
            target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise problem("init.not-writable").error(
            path=target, reason=exc.strerror or str(exc)
        ) from None
