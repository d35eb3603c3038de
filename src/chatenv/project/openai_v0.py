"""Find code that still uses the OpenAI v0 API, the way many tutorials teach it, and say what
replaces each use in v1.

What counts (openai >= 1.0's own `openai/lib/_old_api.py` lists the removed names: calling any
of them raises `APIRemovedInV1`):
- `openai.Completion.create(...)`, `openai.ChatCompletion.acreate(...)`, ... and
  `from openai import Completion`: the module-level resources;
- `engine=` in those calls (v1 takes `model=`);
- `openai.error.RateLimitError`: the exceptions moved to `openai.RateLimitError`;
- `openai.api_base = ...`: v1's module client reads `openai.base_url`, and ignores this;
- `openai.api_key = ...` / `openai.organization = ...` in a file that also makes v0 calls:
  still read by v1's module-level client, but not by the `OpenAI()` client the migrated calls
  use;
- retired model names (`text-davinci-003`, `code-davinci-002`, ...) written as strings.

The scan is an AST walk of each `.py` file (nothing is imported or run), bounded so doctor stays
fast on any tree: at most MAX_FILES files of at most MAX_FILE_BYTES each, a file read only when
its text mentions openai or davinci, and no descent into virtualenvs, node_modules,
site-packages, caches, build output or hidden folders.
"""

from __future__ import annotations

import ast
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatenv.records import dataclass

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

MAX_FILES = 5_000
MAX_FILE_BYTES = 1_000_000
#: folders never scanned (a folder holding pyvenv.cfg, a virtualenv, is skipped too)
SKIP_DIRS = frozenset(
    {
        ".venv", "venv", "env", ".env", "node_modules", "site-packages", "dist-packages",
        "__pycache__", "build", "dist", ".tox", ".nox", ".git", ".hg", ".mypy_cache",
        ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints", ".eggs",
    }
)  # fmt: skip
#: openai >= 1.0: openai/lib/_old_api.py SYMBOLS
REMOVED = frozenset(
    {
        "Edit", "File", "Audio", "Image", "Model", "Engine", "Customer", "FineTune", "Embedding",
        "Completion", "Deployment", "Moderation", "ErrorObject", "FineTuningJob", "ChatCompletion",
    }
)  # fmt: skip
#: (resource, method) -> the v1 call; `client = OpenAI()` (AsyncOpenAI() for a-methods)
V1_CALLS: dict[tuple[str, str], str] = {
    ("Completion", "create"): "client.completions.create(model=..., prompt=...)",
    ("ChatCompletion", "create"): "client.chat.completions.create(model=..., messages=[...])",
    ("Embedding", "create"): "client.embeddings.create(model=..., input=...)",
    ("Image", "create"): "client.images.generate(prompt=...)",
    ("Image", "create_edit"): "client.images.edit(image=..., prompt=...)",
    ("Image", "create_variation"): "client.images.create_variation(image=...)",
    ("Audio", "transcribe"): "client.audio.transcriptions.create(model=..., file=...)",
    ("Audio", "translate"): "client.audio.translations.create(model=..., file=...)",
    ("Moderation", "create"): "client.moderations.create(input=...)",
    ("Model", "list"): "client.models.list()",
    ("Model", "retrieve"): "client.models.retrieve(...)",
    ("Model", "delete"): "client.models.delete(...)",
    ("File", "create"): "client.files.create(file=..., purpose=...)",
    ("File", "list"): "client.files.list()",
    ("File", "retrieve"): "client.files.retrieve(...)",
    ("File", "delete"): "client.files.delete(...)",
    ("File", "download"): "client.files.content(...)",
    ("FineTuningJob", "create"): "client.fine_tuning.jobs.create(...)",
    ("FineTuningJob", "list"): "client.fine_tuning.jobs.list()",
    ("FineTuningJob", "retrieve"): "client.fine_tuning.jobs.retrieve(...)",
    ("FineTuningJob", "cancel"): "client.fine_tuning.jobs.cancel(...)",
    ("FineTuningJob", "list_events"): "client.fine_tuning.jobs.list_events(...)",
}
#: resources v1 has nothing like
V1_GONE: dict[str, str] = {
    "Edit": "the edits endpoint is gone: client.chat.completions.create(model=..., messages=[...])",
    "FineTune": "legacy fine-tunes are gone: client.fine_tuning.jobs.create(...)",
    "Engine": "engines are gone: client.models.list()",
    "Customer": "no v1 equivalent",
    "Deployment": "no v1 equivalent (Azure deployments: AzureOpenAI(azure_deployment=...))",
    "ErrorObject": "no v1 equivalent",
}
#: where each resource lives on the v1 client
V1_RESOURCES = {
    "Completion": "completions",
    "ChatCompletion": "chat.completions",
    "Embedding": "embeddings",
    "Image": "images",
    "Audio": "audio",
    "Moderation": "moderations",
    "Model": "models",
    "File": "files",
    "FineTuningJob": "fine_tuning.jobs",
}
#: v0 module settings and what v1's OpenAI() takes instead
V1_SETTINGS = {
    "api_key": "OpenAI(api_key=...) or the OPENAI_API_KEY variable",
    "organization": "OpenAI(organization=...) or the OPENAI_ORG_ID variable",
    "api_base": "OpenAI(base_url=...) or the OPENAI_BASE_URL variable",
}
_MENTIONS = re.compile(rb"openai|davinci", re.I)
_RETIRED_SHAPE = re.compile(r"^(text|code)-(davinci|curie|babbage|ada|cushman)(-edit)?-\d{3}$")


@dataclass(frozen=True)
class V0Use:
    path: Path
    line: int
    #: what the code does, as written ("openai.Completion.create(engine=...)")
    found: str
    #: what v1 has instead
    v1: str

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "line": self.line, "found": self.found, "v1": self.v1}


@dataclass(frozen=True)
class Scan:
    uses: tuple[V0Use, ...]
    #: Python files read and parsed
    files: int
    #: files left out: over the size cap, unreadable or not Python this interpreter parses
    skipped: int
    #: stopped at MAX_FILES
    truncated: bool
    elapsed_s: float

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "skipped": self.skipped,
            "truncated": self.truncated,
            "elapsed_s": round(self.elapsed_s, 3),
            "uses": [u.to_json() for u in self.uses],
        }


def python_files(root: Path, limit: int = MAX_FILES) -> Iterator[Path]:
    """The project's .py files, in a stable order, outside environments and build output."""
    count = 0
    for base, dirs, names in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIP_DIRS
            and not d.startswith(".")
            and not d.endswith(".egg-info")
            and not (Path(base) / d / "pyvenv.cfg").exists()
        )
        for name in sorted(names):
            if name.endswith(".py"):
                yield Path(base) / name
                count += 1
                if count >= limit:
                    return


def scan(
    root: Path,
    *,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_FILE_BYTES,
    progress: Callable[[int], None] | None = None,
) -> Scan:
    started = time.monotonic()
    uses: list[V0Use] = []
    files = skipped = seen = 0
    for path in python_files(root, max_files + 1):
        seen += 1
        if seen > max_files:
            break
        if progress is not None and seen % 200 == 0:
            progress(seen)
        try:
            if path.stat().st_size > max_bytes:
                skipped += 1
                continue
            data = path.read_bytes()
        except OSError:
            skipped += 1
            continue
        if not _MENTIONS.search(data):
            continue
        try:
            tree = ast.parse(data, filename=str(path))
        except (SyntaxError, ValueError):
            skipped += 1
            continue
        files += 1
        uses += find_uses(tree, path)
    return Scan(tuple(uses), files, skipped, seen > max_files, time.monotonic() - started)


def _aliases(tree: ast.AST) -> tuple[set[str], dict[str, str], set[str]]:
    """Names bound to the openai module, to removed resources (name -> resource) and to
    openai.error."""
    modules: set[str] = set()
    resources: dict[str, str] = {}
    errors: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "openai":
                    modules.add(alias.asname or "openai")
                elif alias.name == "openai.error":
                    if alias.asname:
                        errors.add(alias.asname)
                    else:
                        modules.add("openai")
        elif isinstance(node, ast.ImportFrom) and node.module == "openai" and not node.level:
            for alias in node.names:
                if alias.name in REMOVED:
                    resources[alias.asname or alias.name] = alias.name
                elif alias.name == "error":
                    errors.add(alias.asname or "error")
    return modules, resources, errors


def _resource(node: ast.expr, modules: set[str], resources: dict[str, str]) -> str | None:
    """The removed resource an expression names: `openai.Completion`, or `Completion` imported
    from openai."""
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
        and node.attr in REMOVED
    ):
        return node.attr
    if isinstance(node, ast.Name) and node.id in resources:
        return resources[node.id]
    return None


def _call_v1(resource: str, method: str) -> str:
    """The v1 replacement of `openai.<resource>.<method>(...)` (method "": the import)."""
    is_async = method.startswith("a") and (resource, method[1:]) in V1_CALLS
    base = method[1:] if is_async else method
    if (resource, base) in V1_CALLS:
        call = V1_CALLS[(resource, base)]
        if is_async:
            return f"await AsyncOpenAI().{call.removeprefix('client.')}"
        return f"client = OpenAI(); {call}"
    if resource in V1_GONE:
        return V1_GONE[resource]
    where = V1_RESOURCES.get(resource, resource.lower())
    return f"from openai import OpenAI; client = OpenAI(); client.{where}"


def find_uses(tree: ast.AST, path: Path) -> list[V0Use]:
    """Every v0 use in one parsed file, in line order."""
    modules, resources, errors = _aliases(tree)
    found: dict[tuple[int, str], V0Use] = {}
    settings: list[V0Use] = []
    inner: set[int] = set()  # `openai.error` nodes reported with the name after them

    def add(line: int, what: str, v1: str) -> None:
        found.setdefault((line, what), V0Use(path, line, what, v1))

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "openai" and not node.level:
            for alias in node.names:
                if alias.name in REMOVED:
                    add(node.lineno, f"from openai import {alias.name}", _call_v1(alias.name, ""))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            resource = _resource(node.func.value, modules, resources)
            if resource is not None:
                method = node.func.attr
                engine = any(k.arg == "engine" for k in node.keywords)
                what = f"{_dotted(node.func)}({'engine=...' if engine else '...'})"
                v1 = _call_v1(resource, method)
                if engine:
                    v1 += " (model= instead of engine=)"
                add(node.lineno, what, v1)
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in ("model", "engine"):
                    _retired(keyword.value, add)
        if isinstance(node, ast.Attribute) and _is_error_module(node.value, modules):
            inner.add(id(node.value))
            add(node.lineno, f"{_dotted(node)}", f"openai.{node.attr} (openai.error is gone in v1)")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in modules and node.attr == "error" and id(node) not in inner:
                add(node.lineno, f"{node.value.id}.error", "the exceptions are openai.<Name> in v1")
            elif node.value.id in errors:
                add(
                    node.lineno,
                    f"{node.value.id}.{node.attr}",
                    f"openai.{node.attr} (openai.error is gone in v1)",
                )
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id in modules
                    and target.attr in V1_SETTINGS
                ):
                    what = f"{target.value.id}.{target.attr} = ..."
                    use = V0Use(path, node.lineno, what, V1_SETTINGS[target.attr])
                    if target.attr == "api_base":  # ignored by v1 whatever the calls
                        add(use.line, use.found, use.v1)
                    else:
                        settings.append(use)
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _RETIRED_SHAPE.match(node.value)
        ):
            _retired(node, add)
    if found:  # settings matter once the calls move to OpenAI()
        for use in settings:
            found.setdefault((use.line, use.found), use)
    return sorted(found.values(), key=lambda u: (u.line, u.found))


def _retired(node: ast.expr, add: Callable[[int, str, str], None]) -> None:
    from chatenv.smoke.legacy_api import replacement

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        instead = replacement(node.value)
        if instead:
            add(node.lineno, repr(node.value), f"retired model: {instead}")


def _is_error_module(node: ast.expr, modules: set[str]) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "error"
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
    )


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return "…"
