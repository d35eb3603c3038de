"""The python section: the interpreter's version, the environment it lives in, pip and uv.

chatenv checks (and `chatenv install` installs into) the interpreter it runs in, so the first
question is whether that interpreter is a project environment or the system's own Python.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv import DISTRIBUTION, __version__
from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.results import CheckResult, Status
from chatenv.system import uname
from chatenv.system.command_owner import same_interpreter, script_owner

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from chatenv.doctor.context import Context
    from chatenv.installed import Dist, Installed
    from chatenv.system.command_owner import ScriptOwner
    from chatenv.system.proc import Runner

#: Oldest and newest Python minor versions chatenv supports (pyproject's requires-python is the
#: lower bound; the upper bound is the newest release PyTorch and tokenizers ship wheels for).
SUPPORTED = ((3, 10), (3, 14))
#: pip older than this misreads current wheel metadata and resolver output
OLD_PIP = (22, 0)


@dataclass(frozen=True)
class PythonFacts:
    version: tuple[int, int, int]
    implementation: str
    executable: str
    prefix: str
    base_prefix: str
    bits: int
    free_threaded: bool
    #: "venv", "conda", "conda-base", "pipx", "uv-tool" or "system"
    kind: str
    conda_env: str | None
    externally_managed: bool
    pip_version: str | None
    uv_path: str | None
    uv_version: str | None
    #: why uv's version is unknown, when uv was found but would not say
    uv_error: str | None = None
    #: chatenv itself: its distribution as installed here (None: run from a source tree)
    own: Dist | None = None
    #: where it is installed from ("editable /path", a URL), from direct_url.json
    own_origin: str | None = None
    #: the unrelated `chatenv` distribution, when it is installed here too
    other: Dist | None = None
    #: the `chatenv` command first on PATH, and who installed it (None: not on PATH)
    on_path: ScriptOwner | None = None


def _env_kind(prefix: str, base_prefix: str) -> str:
    here = Path(prefix)
    parts = here.as_posix()
    if "/pipx/venvs/" in parts:
        return "pipx"
    if "/uv/tools/" in parts:
        return "uv-tool"
    if (here / "conda-meta").is_dir():
        # The base environment holds the others (envs/) and conda itself (condabin/).
        return "conda-base" if (here / "condabin").is_dir() or (here / "envs").is_dir() else "conda"
    if prefix != base_prefix:
        return "venv"
    return "system"


def _externally_managed(base_prefix: str) -> bool:
    """PEP 668: the distribution marks its Python as managed by the OS package manager."""
    import sysconfig

    stdlib = sysconfig.get_path("stdlib", vars={"installed_base": base_prefix, "base": base_prefix})
    return bool(stdlib) and (Path(stdlib) / "EXTERNALLY-MANAGED").exists()


def _uv(
    environ: Mapping[str, str],
    executable: str,
    installed: Installed,
    run: Runner,
    which: Callable[[str, str | None], str | None],
) -> tuple[str | None, str | None, str | None]:
    """uv's path and version: from this environment's metadata when pip installed it here,
    otherwise from `uv --version` (a native binary: milliseconds)."""
    beside = Path(executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    path = str(beside) if beside.exists() else which("uv", environ.get("PATH"))
    if path is None:
        return None, None, None
    own = installed.version("uv")
    if own is not None and beside.exists():
        return path, own, None
    done = run([path, "--version"], timeout=3.0, env=dict(environ))
    if not done.ok:
        reason = (
            "timed out" if done.timed_out else (done.stderr.strip() or f"exit {done.returncode}")
        )
        return path, None, reason.splitlines()[0]
    words = done.stdout.split()
    return path, (words[1] if len(words) > 1 else done.stdout.strip()), None


def observe(
    environ: Mapping[str, str],
    installed: Installed,
    run: Runner,
    which: Callable[[str, str | None], str | None] = lambda name, path: shutil.which(
        name, path=path
    ),
) -> PythonFacts:
    kind = _env_kind(sys.prefix, sys.base_prefix)
    conda_env = None
    if kind in ("conda", "conda-base"):
        same = environ.get("CONDA_PREFIX") == sys.prefix
        conda_env = environ.get("CONDA_DEFAULT_ENV") if same else None
        conda_env = conda_env or Path(sys.prefix).name
    uv_path, uv_version, uv_error = _uv(environ, sys.executable, installed, run, which)
    own = installed.get(DISTRIBUTION)
    on_path = which("chatenv", environ.get("PATH"))
    return PythonFacts(
        version=(sys.version_info.major, sys.version_info.minor, sys.version_info.micro),
        implementation=uname.python_implementation(),
        executable=sys.executable,
        prefix=sys.prefix,
        base_prefix=sys.base_prefix,
        bits=64 if sys.maxsize > 2**32 else 32,
        free_threaded=not getattr(sys, "_is_gil_enabled", lambda: True)(),
        kind=kind,
        conda_env=conda_env,
        externally_managed=kind == "system" and _externally_managed(sys.base_prefix),
        pip_version=installed.version("pip"),
        uv_path=uv_path,
        uv_version=uv_version,
        uv_error=uv_error,
        own=own,
        own_origin=_origin(own),
        other=installed.get("chatenv"),
        on_path=script_owner(Path(on_path)) if on_path else None,
    )


def _origin(dist: Dist | None) -> str | None:
    """Where pip installed `dist` from (PEP 610 direct_url.json): "editable <folder>", a VCS
    URL, or None for an index install."""
    if dist is None or not dist.location:
        return None
    import json

    try:
        data = json.loads((Path(dist.location) / "direct_url.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    url = str(data.get("url", ""))
    folder = url.removeprefix("file://") if url.startswith("file://") else url
    if data.get("dir_info", {}).get("editable"):
        return f"editable, {folder}"
    if "vcs_info" in data:
        return f"from {url}"
    return folder or None


def _range() -> str:
    (a, b), (c, d) = SUPPORTED
    return f"{a}.{b} to {c}.{d}"


def check_version(facts: PythonFacts) -> CheckResult:
    major, minor, micro = facts.version
    text = f"Python {major}.{minor}.{micro} ({facts.implementation}, {facts.bits}-bit)"
    data = {
        "version": f"{major}.{minor}.{micro}",
        "implementation": facts.implementation,
        "executable": facts.executable,
        "bits": facts.bits,
        "free_threaded": facts.free_threaded,
        "supported": _range(),
    }
    details = [f"interpreter: {facts.executable}", f"chatenv supports Python {_range()}"]
    if facts.free_threaded:
        details.append("free-threaded build: some packages have no wheels for it yet")
    if (major, minor) < SUPPORTED[0]:
        return problem("python.too-old").check(
            Status.FAIL,
            "python.version",
            details=details,
            data=data,
            python=text,
            supported=_range(),
        )
    if (major, minor) > SUPPORTED[1]:
        return problem("python.too-new").check(
            Status.WARN,
            "python.version",
            details=details,
            data=data,
            python=text,
            supported=_range(),
        )
    if facts.bits != 64:
        return problem("python.32-bit").check(
            Status.WARN, "python.version", details=details, data=data, python=text
        )
    return CheckResult.ok(
        "python.version", f"{text}, within the supported {_range()}", details=details, data=data
    )


def check_environment(facts: PythonFacts) -> CheckResult:
    data = {"kind": facts.kind, "prefix": facts.prefix, "conda_env": facts.conda_env}
    details = [f"prefix: {facts.prefix}", f"base interpreter: {facts.base_prefix}"]
    if facts.kind == "venv":
        return CheckResult.ok(
            "python.environment", f"virtualenv {facts.prefix}", details=details, data=data
        )
    if facts.kind == "conda":
        return CheckResult.ok(
            "python.environment",
            f"conda environment '{facts.conda_env}' ({facts.prefix})",
            details=details,
            data=data,
        )
    if facts.kind == "conda-base":
        return problem("python.conda-base").check(
            Status.WARN, "python.environment", details=details, data=data
        )
    if facts.kind in ("pipx", "uv-tool"):
        tool = "pipx" if facts.kind == "pipx" else "uv tool"
        return problem("python.tool-environment").check(
            Status.WARN, "python.environment", details=details, data=data, tool=tool
        )
    if facts.externally_managed:
        details.append("this Python is externally managed (PEP 668): pip refuses to install here")
    return problem("python.system-interpreter").check(
        Status.WARN, "python.environment", details=details, data=data, executable=facts.executable
    )


def _pip_too_old(version: str) -> bool:
    try:
        parts = tuple(int(p) for p in version.split(".")[:2])
    except ValueError:
        return False
    return parts < OLD_PIP


def check_installers(facts: PythonFacts) -> CheckResult:
    data = {
        "pip": facts.pip_version,
        "uv": facts.uv_version,
        "uv_path": facts.uv_path,
    }
    details = []
    if facts.uv_path:
        details.append(f"uv: {facts.uv_path}")
    if facts.uv_error:
        details.append(f"uv --version failed: {facts.uv_error}")
    uv = f"uv {facts.uv_version or '(version unknown)'}" if facts.uv_path else None
    if facts.pip_version is None and uv is None:
        return problem("python.no-installer").check(
            Status.WARN,
            "python.installers",
            details=details,
            data=data,
            executable=facts.executable,
        )
    if facts.pip_version is None:
        return CheckResult.ok(
            "python.installers",
            f"{uv}; no pip in this environment (uv-made virtualenvs have none: chatenv "
            "install uses uv)",
            details=details,
            data=data,
        )
    pip = f"pip {facts.pip_version}"
    if _pip_too_old(facts.pip_version):
        return problem("python.old-pip").check(
            Status.WARN,
            "python.installers",
            details=details,
            data=data,
            pip=pip,
            uv=f"; {uv}" if uv else "",
            executable=facts.executable,
        )
    summary = f"{pip}, {uv}" if uv else f"{pip}; uv not found (optional, much faster installs)"
    return CheckResult.ok("python.installers", summary, details=details, data=data)


def check_chatenv(facts: PythonFacts) -> CheckResult:
    """chatenv's own distribution, and whether the `chatenv` on PATH is this one: the name
    `chatenv` on PyPI is another project's, with a command and an import package of the same
    name as ours."""
    version = facts.own.version if facts.own else __version__
    where = facts.own_origin or (facts.own.location if facts.own else "a source tree")
    label = f"{DISTRIBUTION} {version} ({where})"
    data = {
        "distribution": DISTRIBUTION,
        "version": version,
        "origin": where,
        "on_path": str(facts.on_path.script) if facts.on_path else None,
        "on_path_distribution": facts.on_path.distribution if facts.on_path else None,
        "on_path_interpreter": facts.on_path.interpreter if facts.on_path else None,
        "other_installed": facts.other.version if facts.other else None,
    }
    exe = shlex.quote(facts.executable)
    if facts.other is not None:
        return problem("python.chatenv-other-installed").check(
            Status.FAIL,
            "python.chatenv",
            data=data,
            version=facts.other.version,
            executable=exe,
        )
    found = facts.on_path
    if found is None:
        return CheckResult.ok(
            "python.chatenv",
            f"{label}; no `chatenv` command on PATH: it runs as {exe} -m chatenv",
            data=data,
        )
    owner = (found.distribution or "").lower().replace("_", "-")
    if owner and owner != DISTRIBUTION:
        return problem("python.chatenv-other-on-path").check(
            Status.WARN,
            "python.chatenv",
            data=data,
            script=found.script,
            other=f"{found.distribution} {found.version or ''}".strip(),
            executable=exe,
        )
    if found.interpreter is not None and not same_interpreter(found.interpreter, facts.executable):
        return problem("python.chatenv-elsewhere").check(
            Status.WARN,
            "python.chatenv",
            data=data,
            script=found.script,
            interpreter=found.interpreter,
            executable=exe,
        )
    return CheckResult.ok("python.chatenv", f"{label}; `chatenv` on PATH is this one", data=data)


def check_python(facts: PythonFacts) -> list[CheckResult]:
    return [
        check_version(facts),
        check_environment(facts),
        check_installers(facts),
        check_chatenv(facts),
    ]


def collect(ctx: Context) -> list[CheckResult]:
    facts = observe(ctx.environ, ctx.installed, ctx.seams.runner())
    return check_python(facts)
