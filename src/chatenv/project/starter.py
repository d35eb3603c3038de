"""A first project file, written from a machine where the project works (`chatenv init`), as
env-doctor's `export` writes a machine's environment as a spec; but here a spec the rest of
chatenv reads back (doctor judges by it, setup provisions it).

What it takes from where:
- profiles: the chatenv stacks installed (openai: api; torch and transformers: local);
- packages: nothing when the project declares its packages itself (pyproject.toml, a
  requirements file: they are read from there); otherwise `also`, the LLM packages installed
  here at their installed release (torch held to its minor release: its CUDA builds change
  with it);
- torch: a CUDA build here writes `variant = "cuda"`;
- GPUs, their memory and compute capability: written as comments (what this machine has is
  more than the project may need; uncomment what it does need);
- environment variables: the ones the project's code reads (`os.environ["X"]`,
  `os.getenv("X")`) and the well-known ones set here (OPENAI_API_KEY, HF_TOKEN, ...): names
  only, never a value;
- models: the hub ids the code loads (`from_pretrained("org/name")`, `pipeline(model=...)`,
  `snapshot_download(...)`), with their parameter count when their files are here;
- the API model: the first `model=` literal of a `...create(...)` call on an OpenAI client.

Pure functions over observations; `chatenv.commands.init` observes and writes.
"""

from __future__ import annotations

import ast
import json
import re
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from chatenv.project.openai_v0 import MAX_FILE_BYTES, MAX_FILES, python_files
from chatenv.records import dataclass, field
from chatenv.system.files import names_like

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from chatenv.installed import Installed, TorchBuild
    from chatenv.system.nvml import GpuProbe

#: LLM packages worth pinning in `also` when the project declares nothing itself
STACK = (
    "torch", "transformers", "tokenizers", "safetensors", "accelerate", "openai", "vllm", "peft",
    "trl", "datasets", "bitsandbytes", "sentence-transformers", "huggingface-hub", "litellm",
)  # fmt: skip
#: well-known variables and where to get each
KNOWN_ENV: Mapping[str, str] = {
    "OPENAI_API_KEY": "https://platform.openai.com/api-keys",
    "HF_TOKEN": "https://huggingface.co/settings/tokens",
    "ANTHROPIC_API_KEY": "https://console.anthropic.com/settings/keys",
    "WANDB_API_KEY": "https://wandb.ai/authorize",
}
#: variables code reads that are the machine's, not the project's
_SYSTEM_ENV = frozenset(
    {
        "PATH", "HOME", "USER", "USERNAME", "PWD", "SHELL", "LANG", "TERM", "TMPDIR", "TEMP",
        "PYTHONPATH", "VIRTUAL_ENV", "CUDA_VISIBLE_DEVICES", "LOCAL_RANK", "RANK", "WORLD_SIZE",
        "MASTER_ADDR", "MASTER_PORT", "LOCAL_WORLD_SIZE", "NODE_RANK", "CI", "DEBUG",
    }
)  # fmt: skip
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_MODEL_LOADERS = {"from_pretrained", "snapshot_download", "hf_hub_download", "pipeline"}
_API_CALLS = ("completions.create", "responses.create")


@dataclass(frozen=True)
class CodeFacts:
    """What the project's code names: hub models, environment variables, the API model."""

    #: hub id -> where it is first named ("src/app.py:12")
    models: dict[str, str] = field(default_factory=dict)
    #: variable -> (where, read without a default)
    env: dict[str, tuple[str, bool]] = field(default_factory=dict)
    api_model: tuple[str, str] | None = None
    files: int = 0


def read_code(root: Path, *, max_files: int = MAX_FILES) -> CodeFacts:
    """The project's Python files, bounded as the v0 scan is (same folders skipped)."""
    models: dict[str, str] = {}
    env: dict[str, tuple[str, bool]] = {}
    api: tuple[str, str] | None = None
    count = 0
    for path in python_files(root, max_files):
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        count += 1
        rel = path.relative_to(root).as_posix()
        for node in ast.walk(tree):
            where = f"{rel}:{getattr(node, 'lineno', 0)}"
            model = _loaded_model(node)
            if model:
                models.setdefault(model, where)
            read = _env_read(node)
            if read and read[0] not in _SYSTEM_ENV:
                name, required = read
                before = env.get(name)
                env[name] = (before[0] if before else where, required or bool(before and before[1]))
            if api is None:
                found = _api_model(node)
                if found:
                    api = (found, where)
    return CodeFacts(models, env, api, count)


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _loaded_model(node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call) or _call_name(node) not in _MODEL_LOADERS:
        return None
    candidates = [k.value for k in node.keywords if k.arg in ("model", "repo_id")]
    if _call_name(node) != "pipeline" and node.args:
        candidates.insert(0, node.args[0])
    for candidate in candidates:
        text = _literal(candidate)
        if text and _HUB_ID.match(text):
            return text
    return None


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _env_read(node: ast.AST) -> tuple[str, bool] | None:
    """`os.environ["X"]` (required), `os.environ.get("X")` / `os.getenv("X")` (required
    when there is no default)."""
    if isinstance(node, ast.Subscript) and _dotted(node.value) in ("os.environ", "environ"):
        name = _literal(node.slice)
        return (name, True) if name else None
    if isinstance(node, ast.Call) and _dotted(node.func) in (
        "os.environ.get", "environ.get", "os.getenv", "getenv",
    ):  # fmt: skip
        name = _literal(node.args[0]) if node.args else None
        return (name, len(node.args) < 2 and not node.keywords) if name else None
    return None


def _api_model(node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call) or not _dotted(node.func).endswith(_API_CALLS):
        return None
    return next((_literal(k.value) for k in node.keywords if k.arg == "model"), None)


@dataclass(frozen=True)
class Machine:
    """What `chatenv init` observed."""

    installed: Installed
    torch: TorchBuild | None
    gpus: GpuProbe
    #: names set in the environment or the .env file (values are never read into the file)
    env_names: frozenset[str]
    #: the project already declares packages (dependencies or requirements files)
    declares_packages: bool
    code: CodeFacts
    #: hub id -> parameters, for the models whose files are here
    params: Mapping[str, int] = field(default_factory=dict)


def _q(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def _release(version: str) -> tuple[int, int, int] | None:
    try:
        parsed = Version(version)
    except InvalidVersion:
        return None
    return parsed.major, parsed.minor, parsed.micro


def _also(installed: Installed) -> list[str]:
    pins = []
    for name in STACK:
        version = installed.version(name)
        release = _release(version) if version else None
        if release is None:
            continue
        major, minor, micro = release
        if name == "torch":
            pins.append(f"torch~={major}.{minor}.{micro}")  # within the minor release
        else:
            pins.append(f"{name}>={major}.{minor}")
    return pins


def profiles_for(installed: Installed) -> list[str]:
    found = []
    openai = installed.version("openai")
    if openai and (_release(openai) or (0,))[0] >= 1:
        found.append("api")
    if installed.version("torch") and installed.version("transformers"):
        found.append("local")
    return found or ["all"]


@dataclass(frozen=True)
class Starter:
    text: str
    #: what each table says, in a line, for the report
    said: dict[str, str]


def starter(machine: Machine, *, prefix: str, written_by: str) -> Starter:
    """The project file's text: under `[tool.chatenv]` for a pyproject.toml (prefix
    "tool.chatenv"), at the top level for a chatenv.toml (prefix "")."""

    def table(name: str) -> str:
        full = ".".join(p for p in (prefix, name) if p)
        return f"[{full}]"

    said: dict[str, str] = {}
    out: list[str] = []
    profiles = profiles_for(machine.installed)
    said["profiles"] = ", ".join(profiles)
    if prefix:
        out.append(table(""))
    out += [
        f"# {written_by}, from what this machine has.",
        "# Edit it to say what the project needs; docs/project-file.md explains every key.",
        f"profiles = [{', '.join(_q(p) for p in profiles)}]",
        "",
    ]
    out += _packages(machine, table, said)
    out += _torch(machine, table, said)
    out += _gpus(machine, table, said)
    out += _env(machine, table, said)
    out += _models(machine, table, said)
    out += _api(machine, table, said)
    return Starter("\n".join(out).rstrip("\n") + "\n", said)


def _packages(machine: Machine, table: Any, said: dict[str, str]) -> list[str]:
    lines = [table("packages")]
    if machine.declares_packages:
        lines += [
            "# read from the project's own declarations ([project] dependencies and extras,",
            "# requirements*.txt, uv.lock / pylock.toml); name the extras a developer installs:",
            '# extras = ["dev"]',
            "",
        ]
        said["packages"] = "read from the project's own declarations"
        return lines
    also = _also(machine.installed)
    said["packages"] = ", ".join(also) if also else "none found"
    lines.append("# the project declares no packages itself: these are the ones installed here")
    lines.append(f"also = [{', '.join(_q(a) for a in also)}]")
    return [*lines, ""]


def _torch(machine: Machine, table: Any, said: dict[str, str]) -> list[str]:
    build = machine.torch
    if build is None:
        return []
    lines = [table("torch")]
    if build.cuda is not None:
        said["torch"] = f"a CUDA build (this machine: torch {build.version})"
        lines += [
            f'variant = "cuda"  # this machine: torch {build.version}',
            f"# min_cuda = {_q(str(build.cuda))}",
        ]
    else:
        said["torch"] = f"any build (this machine: torch {build.version}, {build.kind})"
        lines += [f'# variant = "cuda"  # this machine: torch {build.version} ({build.kind})']
    return [*lines, ""]


def _gpus(machine: Machine, table: Any, said: dict[str, str]) -> list[str]:
    gpus = machine.gpus.gpus
    if not gpus:
        return []
    first = gpus[0]
    names = ", ".join(dict.fromkeys(g.name or "unknown" for g in gpus))
    memory = min((g.memory_total or 0) for g in gpus) / 1024**3
    cc = first.compute_capability
    said["gpus"] = f"commented out (this machine: {len(gpus)} × {names})"
    lines = [
        table("gpus"),
        f"# this machine: {len(gpus)} × {names}; uncomment what the project needs",
        "# count = 1",
    ]
    if memory:
        lines.append(f"# memory_gib = {int(memory)}")
    if cc:
        lines.append(f"# compute_capability = {_q(f'{cc[0]}.{cc[1]}')}")
    return [*lines, ""]


def _env(machine: Machine, table: Any, said: dict[str, str]) -> list[str]:
    names: dict[str, str] = {}
    for name, (where, _required) in sorted(machine.code.env.items()):
        names[name] = f"read in {where}"
    for name in KNOWN_ENV:
        if name in machine.env_names and name not in names:
            names[name] = "set on this machine"
    if not names:
        return []
    said["env"] = ", ".join(names)
    lines = [table("env")]
    for name, why in names.items():
        parts = []
        if name in KNOWN_ENV:
            parts.append(f"url = {_q(KNOWN_ENV[name])}")
        read = machine.code.env.get(name)
        if read is not None and not read[1]:
            parts.append("required = false")
        value = "{ " + ", ".join(parts) + " }" if parts else "{}"
        lines.append(f"{name} = {value}  # {why}")
    return [*lines, ""]


def _models(machine: Machine, table: Any, said: dict[str, str]) -> list[str]:
    if not machine.code.models:
        return []
    said["models"] = ", ".join(machine.code.models)
    lines: list[str] = []
    for model, where in machine.code.models.items():
        lines += [f"[{table('models')}]", f"id = {_q(model)}  # loaded in {where}"]
        params = machine.params.get(model)
        if params:
            lines.append(f"params = {params}  # from its files here")
        else:
            lines.append('# params = "8B"  # to check the fit before it is downloaded')
        lines.append("")
    return lines


def _api(machine: Machine, table: Any, said: dict[str, str]) -> list[str]:
    if machine.code.api_model is None:
        return []
    model, where = machine.code.api_model
    said["api"] = f"model {model}"
    return [table("api"), f"model = {_q(model)}  # used in {where}", ""]


def has_declarations(pyproject: Mapping[str, Any] | None, folder: Path) -> bool:
    deps = ((pyproject or {}).get("project") or {}).get("dependencies")
    return bool(deps) or bool(names_like(folder, "requirements", ".txt"))


def names_set(environ: Mapping[str, str], dotenv: Mapping[str, str]) -> frozenset[str]:
    return frozenset(n for n in (*environ, *dotenv) if environ.get(n) or dotenv.get(n))
