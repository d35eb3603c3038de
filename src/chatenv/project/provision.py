"""What `chatenv setup` needs to provision a project: its requirements as the installer's pins
(chatenv's pins give way to the project's for every package it declares), the torch policy as
a refusal of a build that does not meet it, and install's verification by the project's
requirements.

Pure over the project and the target interpreter's markers; chatenv.install runs the installer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from chatenv import pep440
from chatenv.install.pins import Pin
from chatenv.names import canonicalize_name
from chatenv.records import dataclass

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chatenv.errors import ChatenvError
    from chatenv.install.variant import TorchChoice
    from chatenv.installed import Installed
    from chatenv.project.file import Project
    from chatenv.results import CheckResult


@dataclass(frozen=True)
class ProjectPins:
    #: chatenv's pins, each package the project declares replaced by the project's range
    pins: tuple[Pin, ...]
    #: requirements a pin cannot carry (extras, a URL), passed to the installer as written
    #: (markers already evaluated for the target, so dropped)
    also: tuple[str, ...]
    #: what the plan should say: lines chatenv leaves to the developer, names it took over
    notes: tuple[str, ...]


def _holds(req: Requirement, markers: Mapping[str, str]) -> bool:
    if req.marker is None:
        return True
    try:
        return bool(req.marker.evaluate({**markers, "extra": ""}))
    except Exception:  # a marker this packaging cannot evaluate: install it, pip decides
        return True


def _bare(req: Requirement) -> str:
    copy = Requirement(str(req))
    copy.marker = None
    return str(copy)


def project_pins(
    pins: tuple[Pin, ...], project: Project, markers: Mapping[str, str]
) -> ProjectPins:
    """The pins for installing the profiles the project uses and everything it declares."""
    specs: dict[str, SpecifierSet] = {}
    also: list[str] = []
    notes: list[str] = []
    for declared in project.declarations.requirements:
        req = declared.requirement
        if req is None:
            where = f"{declared.path.name}:{declared.line}" if declared.line else declared.path.name
            notes.append(f"not installed by chatenv ({where}): {declared.text}")
            continue
        if not _holds(req, markers):
            continue
        name = canonicalize_name(req.name)
        if req.url or req.extras:
            also.append(_bare(req))
        if not req.url:
            specs[name] = specs.get(name, SpecifierSet()) & req.specifier
    merged = {p.name: p for p in pins}
    taken = sorted(n for n in specs if n in merged)
    for declared_name, spec in specs.items():  # as chatenv's own pins are read
        merged[declared_name] = Pin(declared_name, pep440.SpecifierSet(str(spec)))
    if taken:
        notes.append(f"the project's requirements replace chatenv's pins for {', '.join(taken)}")
    return ProjectPins(tuple(merged.values()), tuple(dict.fromkeys(also)), tuple(notes))


def keeps_policy(project: Project, installed: Installed) -> bool:
    """Does the installed torch meet the project's [tool.chatenv.torch]? (Install replaces a
    build it would otherwise keep when it does not.)"""
    build = installed.torch
    policy = project.settings.torch
    return build is None or policy.allows(build.cuda, rocm=bool(build.hip))


def torch_series(spec: pep440.SpecifierSet) -> str | None:
    """The newest torch release (X.Y) chatenv knows that a project's range allows, counting a
    patch release too: a project pins `torch==2.7.1` (chatenv's own pins are ranges, judged by
    X.Y.0, `chatenv.torch_builds.newest_series`)."""
    from chatenv import torch_builds as tb

    found = tb.newest_series(spec)
    if found is not None:
        return found
    for series in tb.known_series():
        if any(spec.contains(f"{series}.{patch}") for patch in range(10)):
            return series
    return None


def also_met(also: tuple[str, ...], installed: Installed) -> bool:
    """Are the requirements passed as written already satisfied (by name and version)?"""
    from packaging.version import InvalidVersion, Version

    for text in also:
        req = Requirement(text)
        version = installed.version(req.name)
        if version is None:
            return False
        if req.url:
            continue
        try:
            if not req.specifier.contains(Version(version), prereleases=True):
                return False
        except InvalidVersion:
            return False
    return True


def torch_refusal(choice: TorchChoice, project: Project) -> ChatenvError | None:
    """The error that stops the install when the build chosen for this machine is not the kind
    the project wants ([tool.chatenv.torch])."""
    from chatenv import torch_builds as tb
    from chatenv.problems import problem

    policy = project.settings.torch
    if not policy.says_anything or policy.variant == "any":
        return None
    where = str(project.at("torch"))
    if policy.variant == "cpu":
        if choice.variant == "cpu":
            return None
        return problem("project.torch-cannot-meet").error(
            wanted=policy.describe(), where=where, chosen=choice.variant,
            reason="auto picks a CUDA build for this machine's GPUs",
            then="chatenv setup --torch cpu",
        )  # fmt: skip
    variant = tb.variant(choice.variant)
    if variant is not None and policy.allows(variant.cuda):
        return None
    reason = choice.warning or "; ".join(choice.reasons[-1:]) or "no CUDA build runs here"
    return problem("project.torch-cannot-meet").error(
        wanted=policy.describe(), where=where, chosen=choice.variant, reason=reason,
        then="nvidia-smi  # the driver must run that CUDA version (or use a machine that does)",
    )  # fmt: skip


# -- models --------------------------------------------------------------------------------

#: the files transformers loads (what `chatenv.smoke.hub.download_command` fetches too)
PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model"]


class Fetch(Protocol):
    """Puts a hub model's files in the Hugging Face cache; returns the snapshot folder."""

    def __call__(self, repo_id: str, revision: str | None) -> Path: ...


def hub_fetch(repo_id: str, revision: str | None) -> Path:
    """huggingface_hub's own download (its endpoint, token, proxies and cache)."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id, revision=revision, allow_patterns=PATTERNS))


def _fetch_reason(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "GatedRepoError":
        return "it is gated: accept its licence on the model page, then set HF_TOKEN"
    if name == "RepositoryNotFoundError":
        return "no such model on the hub (or it is private and HF_TOKEN cannot read it)"
    text = " ".join(str(exc).split())
    return f"{name}: {text[:160]}" if text else name


def fetch_models(project: Project, cache: Path, fetch: Fetch = hub_fetch) -> list[CheckResult]:
    """Fetch the project's hub models that are not cached (complete) yet."""
    from chatenv.problems import problem
    from chatenv.project.fit import gib
    from chatenv.project.models import observe
    from chatenv.results import CheckResult, Status
    from chatenv.smoke.hub import download_command

    results = []
    for need in project.settings.models:
        if need.is_folder or observe(need, cache).complete:
            continue
        rid = f"project.model.{need.slug}"
        try:
            folder = fetch(need.ref, need.revision)
        except Exception as exc:
            results.append(
                problem("project.model-fetch-failed").check(
                    Status.FAIL, rid, data={"model": need.ref}, model=need.ref,
                    reason=_fetch_reason(exc), command=download_command(need.ref),
                )
            )  # fmt: skip
            continue
        files = observe(need, cache)
        size = f" ({gib(files.size_bytes)})" if files.size_bytes else ""
        results.append(
            CheckResult.ok(
                rid,
                f"fetched {need.ref}{size} into {folder}",
                data={"model": need.ref, "folder": str(folder)},
            )
        )
    return results
