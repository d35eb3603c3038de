"""What a project file says, as typed settings: read from the `[tool.chatenv]` table of a
`pyproject.toml` (or the top level of a `chatenv.toml`) and checked value by value, each bad
value one line that names the file, the line and the key (docs/project-file.md lists them all).

Pure: a parsed table and the file's key lines in, `ProjectSettings` (or a `ProjectFileError`)
out.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatenv.errors import ChatenvError
from chatenv.project.lines import line_of
from chatenv.records import dataclass, field
from chatenv.system.nvml import CudaVersion

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chatenv.project.lines import KeyPath

#: the profiles a project may name (chatenv's own: install/pins.toml)
PROFILES = ("api", "local", "all")
#: where the project's packages can be read from
SOURCES = ("pyproject", "requirements", "uv.lock", "pylock.toml")
TORCH_VARIANTS = ("any", "cuda", "cpu")
#: bytes a parameter takes in memory, by dtype name (4-bit formats pack two to a byte)
DTYPE_BYTES: Mapping[str, float] = {
    "float32": 4,
    "fp32": 4,
    "float16": 2,
    "fp16": 2,
    "bfloat16": 2,
    "bf16": 2,
    "float8": 1,
    "fp8": 1,
    "int8": 1,
    "int4": 0.5,
    "nf4": 0.5,
}
#: what the estimate adds to the weights when the project says nothing: the KV cache for a
#: short context, activations, the CUDA context and allocator slack (docs/project-file.md)
DEFAULT_OVERHEAD = 0.2
#: names whose values are secrets, so they are masked wherever they are shown
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$", re.I)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PARAMS = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMbBtT]?)\s*$")
_SCALE = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}

KNOWN_KEYS: Mapping[str, frozenset[str]] = {
    "": frozenset({"profiles", "packages", "torch", "gpus", "env", "models", "api", "smoke"}),
    "packages": frozenset({"sources", "extras", "groups", "requirements", "also"}),
    "torch": frozenset({"variant", "min_cuda"}),
    "gpus": frozenset({"count", "memory_gib", "compute_capability"}),
    "models": frozenset({"id", "path", "revision", "dtype", "params", "overhead", "gpus"}),
    "env": frozenset({"url", "why", "required", "secret"}),
    "api": frozenset({"model", "base_url"}),
    "smoke": frozenset({"model"}),
}


class ProjectFileError(ChatenvError):
    """The project file cannot be used as it stands (not TOML, a bad value). Carries where."""

    def __init__(
        self, message: str, *, fix: str | None = None, path: Path, line: int | None = None
    ) -> None:
        super().__init__(message, fix=fix)
        self.path = path
        self.line = line


@dataclass(frozen=True)
class PackageSettings:
    #: the sources to read; None: every one found beside the project file
    sources: tuple[str, ...] | None = None
    #: extras of [project.optional-dependencies] a developer installs ("*": all of them)
    extras: tuple[str, ...] = ()
    #: groups of [dependency-groups] (PEP 735) a developer installs
    groups: tuple[str, ...] = ()
    #: requirements files; None: every requirements*.txt beside the project file
    requirements: tuple[str, ...] | None = None
    #: requirements the project declares nowhere else
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class TorchPolicy:
    variant: str = "any"
    min_cuda: CudaVersion | None = None

    @property
    def says_anything(self) -> bool:
        return self.variant != "any" or self.min_cuda is not None

    def allows(self, cuda: CudaVersion | None, *, rocm: bool = False) -> bool:
        """Does a torch build (its CUDA version; None for CPU and ROCm builds) meet it?"""
        if self.variant == "any":
            return True
        if self.variant == "cpu":
            return cuda is None and not rocm
        return cuda is not None and (self.min_cuda is None or self.min_cuda <= cuda)

    def describe(self) -> str:
        if self.variant == "cpu":
            return "a CPU build of torch"
        if self.min_cuda is not None:
            return f"a CUDA {self.min_cuda}+ build of torch"
        if self.variant == "cuda":
            return "a CUDA build of torch"
        return "any torch build"


@dataclass(frozen=True)
class GpuNeeds:
    count: int = 0
    #: total memory each of those GPUs must have (NVML's figure, GiB)
    memory_gib: float | None = None
    compute_capability: tuple[int, int] | None = None

    @property
    def says_anything(self) -> bool:
        return bool(self.count or self.memory_gib or self.compute_capability)


@dataclass(frozen=True)
class EnvNeed:
    name: str
    url: str | None = None
    why: str | None = None
    required: bool = True
    secret: bool = True


@dataclass(frozen=True)
class ModelNeed:
    #: as written: a hub id ("org/name") or, for `path`, the folder as written
    ref: str
    #: the folder, for a model given by `path` (relative paths from the project file's folder)
    folder: Path | None = None
    revision: str | None = None
    dtype: str | None = None
    params: int | None = None
    overhead: float = DEFAULT_OVERHEAD
    #: how many GPUs the model is split across (None: the project's gpus.count, else 1)
    gpus: int | None = None
    #: its position in the file's models array (for its line)
    index: int = 0

    @property
    def is_folder(self) -> bool:
        return self.folder is not None

    @property
    def slug(self) -> str:
        """The model as a check id part: the hub cache's spelling, `org--name`."""
        text = self.ref if self.folder is None else self.folder.name
        return re.sub(r"[^A-Za-z0-9_.-]+", "--", text).strip("-.") or f"model{self.index}"


@dataclass(frozen=True)
class ApiSettings:
    model: str | None = None
    base_url: str | None = None


@dataclass(frozen=True)
class ProjectSettings:
    #: the chatenv profiles the project uses; None: not said (taken from its requirements)
    profiles: tuple[str, ...] | None = None
    packages: PackageSettings = field(default_factory=PackageSettings)
    torch: TorchPolicy = field(default_factory=TorchPolicy)
    gpus: GpuNeeds = field(default_factory=GpuNeeds)
    env: tuple[EnvNeed, ...] = ()
    models: tuple[ModelNeed, ...] = ()
    api: ApiSettings = field(default_factory=ApiSettings)
    #: the model setup's local smoke test loads (None: chatenv's small default)
    smoke_model: str | None = None


@dataclass(frozen=True)
class UnknownKey:
    """A key chatenv does not read (a typo, or a key from a newer chatenv)."""

    key: str
    line: int | None
    hint: str = ""


class _Reader:
    """Checks values against what each key takes; the first bad one raises, naming its line."""

    def __init__(self, path: Path, lines: Mapping[KeyPath, int], prefix: KeyPath) -> None:
        self.path = path
        self.lines = lines
        self.prefix = prefix
        self.unknown: list[UnknownKey] = []

    def name(self, *keys: str | int) -> str:
        """A key as the docs and messages spell it: `[tool.chatenv.gpus] count`."""
        tables = [str(k) for k in (*self.prefix, *keys[:-1]) if not isinstance(k, int)]
        last = keys[-1] if keys else ""
        table = f"[{'.'.join(tables)}]" if tables else "the top level"
        if isinstance(last, int):
            return f"{table} item {last + 1}"
        return f"{table} {last}"

    def bad(self, keys: tuple[str | int, ...], reason: str) -> ProjectFileError:
        from chatenv.problems import problem

        line = line_of(self.lines, (*self.prefix, *keys))
        where = f"{self.path.name}:{line}" if line else self.path.name
        message, fix = problem("project.bad-value").pair(
            where=where, key=self.name(*keys), reason=reason
        )
        return ProjectFileError(message, fix=fix, path=self.path, line=line)

    def table(self, value: Any, keys: tuple[str | int, ...]) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.bad(keys, f"must be a table, not {_shown(value)}")
        return value

    def known(self, table: Mapping[str, Any], kind: str, keys: tuple[str | int, ...]) -> None:
        import difflib

        for key in table:
            if key in KNOWN_KEYS[kind]:
                continue
            close = difflib.get_close_matches(key, sorted(KNOWN_KEYS[kind]), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            line = line_of(self.lines, (*self.prefix, *keys, key))
            self.unknown.append(UnknownKey(self.name(*keys, key), line, hint))

    def strings(self, value: Any, keys: tuple[str | int, ...]) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.bad(keys, f"must be a list of strings, not {_shown(value)}")
        return tuple(v.strip() for v in value)

    def choice(self, value: Any, keys: tuple[str | int, ...], allowed: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value.strip().lower() not in allowed:
            raise self.bad(keys, f"must be one of {', '.join(allowed)}, not {_shown(value)}")
        return value.strip().lower()

    def count(self, value: Any, keys: tuple[str | int, ...], *, least: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise self.bad(keys, f"must be a whole number of at least {least}, not {_shown(value)}")
        return value

    def number(self, value: Any, keys: tuple[str | int, ...], *, positive: bool = True) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or value < 0 or (positive and value == 0):
            kind = "a number above 0" if positive else "a number of at least 0"
            raise self.bad(keys, f"must be {kind}, not {_shown(value)}")
        return float(value)

    def text(self, value: Any, keys: tuple[str | int, ...]) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.bad(keys, f"must be a non-empty string, not {_shown(value)}")
        return value.strip()

    def flag(self, value: Any, keys: tuple[str | int, ...]) -> bool:
        if not isinstance(value, bool):
            raise self.bad(keys, f"must be true or false, not {_shown(value)}")
        return value


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def parse_settings(
    table: Mapping[str, Any], *, path: Path, lines: Mapping[KeyPath, int], prefix: KeyPath
) -> tuple[ProjectSettings, tuple[UnknownKey, ...]]:
    """The settings a project file's table holds, and the keys chatenv does not know."""
    r = _Reader(path, lines, prefix)
    r.known(table, "", ())
    profiles = None
    if "profiles" in table:
        profiles = tuple(
            r.choice(p, ("profiles",), PROFILES)
            for p in r.strings(table["profiles"], ("profiles",))
        )
        if not profiles:
            raise r.bad(("profiles",), "must name at least one profile (api, local or all)")
    settings = ProjectSettings(
        profiles=profiles,
        packages=_packages(r, table.get("packages", {})),
        torch=_torch(r, table.get("torch", {})),
        gpus=_gpus(r, table.get("gpus", {})),
        env=_env(r, table.get("env", {})),
        models=_models(r, table.get("models", []), path.parent),
        api=_api(r, table.get("api", {})),
        smoke_model=_smoke(r, table.get("smoke", {})),
    )
    return settings, tuple(r.unknown)


def _packages(r: _Reader, value: Any) -> PackageSettings:
    keys: tuple[str | int, ...] = ("packages",)
    t = r.table(value, keys)
    r.known(t, "packages", keys)
    sources = None
    if "sources" in t:
        sources = tuple(
            r.choice(s, (*keys, "sources"), SOURCES)
            for s in r.strings(t["sources"], (*keys, "sources"))
        )
    also = r.strings(t.get("also", []), (*keys, "also"))
    for index, text in enumerate(also):
        reason = _requirement_problem(text)
        if reason:
            raise r.bad((*keys, "also", index), f"{text!r} is not a requirement: {reason}")
    return PackageSettings(
        sources=sources,
        extras=r.strings(t.get("extras", []), (*keys, "extras")),
        groups=r.strings(t.get("groups", []), (*keys, "groups")),
        requirements=(
            r.strings(t["requirements"], (*keys, "requirements")) if "requirements" in t else None
        ),
        also=also,
    )


def _requirement_problem(text: str) -> str | None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(text)
    except InvalidRequirement as exc:
        return str(exc).splitlines()[0]
    return None


def _torch(r: _Reader, value: Any) -> TorchPolicy:
    keys: tuple[str | int, ...] = ("torch",)
    t = r.table(value, keys)
    r.known(t, "torch", keys)
    variant = (
        r.choice(t["variant"], (*keys, "variant"), TORCH_VARIANTS) if "variant" in t else "any"
    )
    min_cuda = None
    if "min_cuda" in t:
        raw = t["min_cuda"]
        text = str(raw) if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) else ""
        if not re.fullmatch(r"\d{1,2}(\.\d{1,2})?", text.strip()):
            raise r.bad(
                (*keys, "min_cuda"), f'must be a CUDA version such as "12.4", not {_shown(raw)}'
            )
        min_cuda = CudaVersion.parse(text)
        if variant == "cpu":
            raise r.bad((*keys, "min_cuda"), 'cannot go with variant = "cpu"')
        variant = "cuda"
    return TorchPolicy(variant, min_cuda)


def _gpus(r: _Reader, value: Any) -> GpuNeeds:
    keys: tuple[str | int, ...] = ("gpus",)
    t = r.table(value, keys)
    r.known(t, "gpus", keys)
    count = r.count(t["count"], (*keys, "count")) if "count" in t else 0
    memory = r.number(t["memory_gib"], (*keys, "memory_gib")) if "memory_gib" in t else None
    cc = None
    if "compute_capability" in t:
        raw = t["compute_capability"]
        text = str(raw) if isinstance(raw, (str, float, int)) and not isinstance(raw, bool) else ""
        match = re.fullmatch(r"(\d{1,2})\.(\d)", text.strip())
        if not match:
            raise r.bad(
                (*keys, "compute_capability"), f'must be such as "8.0" or "9.0", not {_shown(raw)}'
            )
        cc = (int(match.group(1)), int(match.group(2)))
    if (memory or cc) and not count:
        count = 1  # a GPU of that kind implies one
    return GpuNeeds(count, memory, cc)


def _env(r: _Reader, value: Any) -> tuple[EnvNeed, ...]:
    keys: tuple[str | int, ...] = ("env",)
    if isinstance(value, list):
        names = r.strings(value, keys)
        entries: dict[str, Any] = {name: {} for name in names}
    else:
        entries = dict(r.table(value, keys))
    needs = []
    for name, given in entries.items():
        if not _ENV_NAME.match(name):
            raise r.bad((*keys, name), "is not an environment variable name")
        here = (*keys, name)
        t = r.table({"url": given} if isinstance(given, str) else given, here)
        r.known(t, "env", here)
        needs.append(
            EnvNeed(
                name=name,
                url=r.text(t["url"], (*here, "url")) if "url" in t else None,
                why=r.text(t["why"], (*here, "why")) if "why" in t else None,
                required=r.flag(t["required"], (*here, "required")) if "required" in t else True,
                secret=(
                    r.flag(t["secret"], (*here, "secret"))
                    if "secret" in t
                    else bool(_SECRET_NAME.search(name))
                ),
            )
        )
    return tuple(needs)


def _models(r: _Reader, value: Any, folder: Path) -> tuple[ModelNeed, ...]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise r.bad(("models",), f"must be an array of tables ([[models]]), not {_shown(value)}")
    needs = []
    for index, item in enumerate(value):
        keys: tuple[str | int, ...] = ("models", index)
        t = r.table({"id": item} if isinstance(item, str) else item, keys)
        r.known(t, "models", keys)
        if ("id" in t) == ("path" in t):
            raise r.bad(keys, "needs exactly one of id (a hub model) and path (a folder)")
        model_folder = None
        if "path" in t:
            ref = r.text(t["path"], (*keys, "path"))
            given = Path(ref).expanduser()
            model_folder = given if given.is_absolute() else folder / given
        else:
            ref = r.text(t["id"], (*keys, "id"))
            if ref.count("/") > 1 or ref.startswith(("/", ".", "~")):
                raise r.bad((*keys, "id"), f"{ref!r} is not a hub id (org/name); a folder is path")
        dtype = None
        if "dtype" in t:
            dtype = r.choice(t["dtype"], (*keys, "dtype"), tuple(DTYPE_BYTES))
        needs.append(
            ModelNeed(
                ref=ref,
                folder=model_folder,
                revision=r.text(t["revision"], (*keys, "revision")) if "revision" in t else None,
                dtype=dtype,
                params=_params(r, t["params"], (*keys, "params")) if "params" in t else None,
                overhead=(
                    r.number(t["overhead"], (*keys, "overhead"), positive=False)
                    if "overhead" in t
                    else DEFAULT_OVERHEAD
                ),
                gpus=r.count(t["gpus"], (*keys, "gpus"), least=1) if "gpus" in t else None,
                index=index,
            )
        )
    return tuple(needs)


def parse_params(value: Any) -> int | None:
    """A parameter count as a project file may write it: 8030000000, 8.03e9, "8B", "350M"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return round(value) if math.isfinite(value) and value >= 1 else None
    if not isinstance(value, str):
        return None
    match = _PARAMS.match(value.replace("_", ""))
    if not match:
        return None
    count = float(match.group(1)) * _SCALE[match.group(2).lower()]
    return round(count) if count >= 1 else None


def _params(r: _Reader, value: Any, keys: tuple[str | int, ...]) -> int:
    count = parse_params(value)
    if count is None:
        raise r.bad(
            keys, f'must be a parameter count such as "8B", "350M" or 8.03e9, not {_shown(value)}'
        )
    return count


def _api(r: _Reader, value: Any) -> ApiSettings:
    keys: tuple[str | int, ...] = ("api",)
    t = r.table(value, keys)
    r.known(t, "api", keys)
    base_url = None
    if "base_url" in t:
        base_url = r.text(t["base_url"], (*keys, "base_url"))
        if not re.match(r"^https?://[^/\s]+", base_url):
            raise r.bad((*keys, "base_url"), f"{base_url!r} is not an http(s) URL")
    return ApiSettings(
        model=r.text(t["model"], (*keys, "model")) if "model" in t else None,
        base_url=base_url,
    )


def _smoke(r: _Reader, value: Any) -> str | None:
    keys: tuple[str | int, ...] = ("smoke",)
    t = r.table(value, keys)
    r.known(t, "smoke", keys)
    return r.text(t["model"], (*keys, "model")) if "model" in t else None
