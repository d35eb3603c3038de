"""Which installer runs (uv or the target's pip) and the exact command lines it gets.

Pure: a `Step` (what to install, from which index, under which constraints) becomes an argv
for pip or uv, the same for the dry run that plans and the run that applies, so what the plan
shows is what runs.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

from chatenv.problems import problem
from chatenv.records import dataclass

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from chatenv.install.target import Interpreter

INSTALLERS = ("auto", "uv", "pip")

#: pip retries every URL 5 times with back-off; planning only needs to know quickly whether an
#: index answers. The real install keeps the user's own retry settings.
PLAN_RETRIES = "1"


@dataclass(frozen=True)
class Installer:
    kind: str  # "uv" or "pip"
    argv: tuple[str, ...]  # the command up to and including "install"
    python: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "command": list(self.argv)}


def check_installer_name(requested: str) -> str:
    if requested not in INSTALLERS:
        from chatenv.problems.invocation import did_you_mean

        hint, retyped = did_you_mean(
            requested, INSTALLERS, "auto", "chatenv install --installer {choice}"
        )
        raise problem("install.unknown-installer").error(
            name=requested,
            known=", ".join(INSTALLERS),
            hint=hint,
            retyped=retyped,
        )
    return requested


def pick_installer(
    requested: str, target: Interpreter, which: Callable[[str], str | None] = shutil.which
) -> Installer:
    """auto: uv when it is on PATH (much faster), else pip of the target interpreter."""
    check_installer_name(requested)
    uv = which("uv")
    if requested == "uv" or (requested == "auto" and uv):
        if not uv:
            raise problem("install.uv-missing").error()
        return Installer(
            "uv", (uv, "pip", "install", "--python", target.executable), target.executable
        )
    if not target.has_pip:
        also = "" if requested == "pip" else " and uv is not on PATH"
        raise problem("install.no-pip").error(executable=target.executable, also=also)
    return Installer(
        "pip",
        (target.executable, "-m", "pip", "install", "--disable-pip-version-check"),
        target.executable,
    )


@dataclass(frozen=True)
class Step:
    """One installer run. Torch goes first, alone, from its own index; everything else follows
    under a constraint that pins the torch now installed, so nothing can swap it."""

    name: str  # "torch" or "packages"
    requirements: tuple[str, ...]
    index_url: str | None = None  # replaces the default index (torch's own index)
    #: extra indexes the *dry run* needs to see a torch that is not installed yet
    plan_extra_index_urls: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    upgrade: tuple[str, ...] = ()  # names to move to the newest allowed version

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requirements": list(self.requirements),
            "index_url": self.index_url,
            "constraints": list(self.constraints),
            "upgrade": list(self.upgrade),
        }


def command(
    installer: Installer, step: Step, *, constraints_file: Path | None, dry_run: bool
) -> list[str]:
    """The argv for one step. `constraints_file` holds `step.constraints` (written by the
    caller, so this stays pure)."""
    args = list(installer.argv)
    if installer.kind == "uv":
        args += ["--color", "never"]
        if dry_run:
            args += ["--dry-run"]
    elif dry_run:
        args += ["--dry-run", "--quiet", "--report", "-", "--retries", PLAN_RETRIES]
    else:
        args += ["--progress-bar", "off"]
    if step.index_url:
        args += ["--index-url", step.index_url]
    if dry_run and step.plan_extra_index_urls:
        for url in step.plan_extra_index_urls:
            args += ["--extra-index-url", url]
        if installer.kind == "uv":
            # uv otherwise takes each package from the first index that has it; pip and the
            # real install both pick the best version across indexes.
            args += ["--index-strategy", "unsafe-best-match"]
    if constraints_file is not None and step.constraints:
        args += ["--constraint", str(constraints_file)]
    if step.upgrade:
        if installer.kind == "uv":
            for name in step.upgrade:
                args += ["--upgrade-package", name]
        else:
            # pip's -U applies to the named requirements; their dependencies move only when
            # needed (the default upgrade strategy), so torch, pinned by the constraint, stays.
            args += ["--upgrade"]
    args += list(step.requirements)
    return args
