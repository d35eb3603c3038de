"""Where the OpenAI settings come from: the process environment and the .env file.

The environment wins, as it does for python-dotenv's `load_dotenv()` (override=False) and for
the openai client itself, so this is what the user's own code will see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.errors import ChatenvError
from chatenv.keys.mask import Secret, register, register_url
from chatenv.records import dataclass, field

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from chatenv.system.files import FileRefused

KEY = "OPENAI_API_KEY"
BASE_URL = "OPENAI_BASE_URL"
ORG = "OPENAI_ORG_ID"
PROJECT = "OPENAI_PROJECT_ID"
DEFAULT_BASE_URL = "https://api.openai.com/v1"

#: v0-era names the v1 client ignores, and what replaced them
LEGACY_NAMES: dict[str, str] = {
    "OPENAI_API_BASE": BASE_URL,
    "OPENAI_ORGANIZATION": ORG,
}

ENVIRONMENT = "environment"
ENV_FILE = "env-file"


def source_label(source: str | None, env_file: Path) -> str:
    """Where a setting comes from, in words: "the environment", the .env path, or "nowhere"."""
    if source == ENVIRONMENT:
        return "the environment"
    if source == ENV_FILE:
        return str(env_file)
    return "nowhere"


@dataclass(frozen=True)
class Setting:
    value: str
    source: str  # ENVIRONMENT or ENV_FILE


@dataclass(frozen=True)
class OpenAIConfig:
    env_file: Path
    key: Secret | None = None
    key_source: str | None = None
    #: both places set a key, to different values (the environment wins)
    key_conflict: bool = False
    base_url: Setting | None = None
    organization: Setting | None = None
    project: Setting | None = None
    #: legacy variable name -> where it was found
    legacy: dict[str, str] = field(default_factory=dict)
    #: why the .env file could not be read, if it could not, and what to do about it
    env_file_error: str | None = None
    env_file_fix: str | None = None

    @property
    def effective_base_url(self) -> str:
        return self.base_url.value if self.base_url else DEFAULT_BASE_URL


@dataclass(frozen=True)
class EnvFileChoice:
    """The .env file a command reads (and configure-key writes), and how it was chosen."""

    path: Path
    #: "given" (--env-file), "found" (the nearest .env at or above the folder the command runs
    #: in, within the project, as python-dotenv's find_dotenv finds it) or "new" (none found:
    #: where one goes, the project's root folder, else the current folder)
    how: str
    #: the project's top folder (where the search stopped)
    root: Path
    #: a .env further up that this one, created here, would hide from code run in this folder
    shadows: Path | None = None

    def to_json(self) -> dict[str, str | None]:
        return {
            "path": str(self.path),
            "how": self.how,
            "root": str(self.root),
            "shadows": str(self.shadows) if self.shadows else None,
        }


def locate_env_file(given: Path | None, cwd: Path, home: Path | None = None) -> EnvFileChoice:
    """The .env file the user's own code would load from `cwd` (python-dotenv's
    `load_dotenv()` walks up from the current folder: `find_dotenv(usecwd=True)`), stopping at
    the project root (`chatenv.system.project`); `given` (--env-file) as it is."""
    from chatenv.system.project import MARKERS, find_upward

    if given is not None:  # kept as typed: messages name it as the user wrote it
        path = given if given.is_absolute() else cwd / given
        root = find_upward(".env", path.parent, home).root
        shadows = None
        if not path.exists() and path.parent != root:
            above = find_upward(path.name, path.parent.parent, home).path
            shadows = above if above is not None and above != path else None
        return EnvFileChoice(given, "given", root, shadows)
    found = find_upward(".env", cwd, home)
    if found.path is not None:
        return EnvFileChoice(found.path, "found", found.root)
    marked = any((found.root / marker).exists() for marker in MARKERS)
    return EnvFileChoice((found.root if marked else cwd.absolute()) / ".env", "new", found.root)


class EnvFileError(ChatenvError):
    """The .env file exists but cannot be read as a dotenv file."""


def read_env_file(path: Path, progress: Callable[[int], None] | None = None) -> dict[str, str]:
    """The file's variables, as python-dotenv (and so the user's code) reads them.

    A missing file is empty; anything but a regular file of at most 1 MiB (a FIFO nobody
    writes to, /dev/stdin, /dev/zero), or a file that cannot be read or decoded, raises
    EnvFileError: a reader never hangs on a pipe or reads a device until memory runs out.
    python-dotenv is imported only when there is a file (it imports logging: ~4 ms)."""
    from chatenv.problems import problem
    from chatenv.system.files import FileRefused, read_regular

    try:
        raw = read_regular(path).data
    except FileRefused as exc:
        if exc.reason == "missing":
            return {}
        raise refused(exc) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise problem("env-file.not-utf8").error(
            EnvFileError, path=path, position=f"byte {exc.start}"
        ) from None
    # python-dotenv opens the file in text mode: universal newlines
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    values = dotenv_values_linear(text, progress)
    return {k: v for k, v in values.items() if v is not None}


def dotenv_values_linear(
    text: str, progress: Callable[[int], None] | None = None
) -> dict[str, str | None]:
    """What `dotenv.dotenv_values` returns for a file holding `text`, in linear time.

    python-dotenv's interpolation copies os.environ and every value so far for each line
    (`dotenv.main.resolve_variables`): quadratic, 14 s for a 30,000-line file on a 2-core
    machine, where doctor's time budget is a few seconds. This walks the same bindings
    (`dotenv.parser.parse_stream`, unparsable lines skipped as python-dotenv skips them) and
    resolves each `${VAR}` / `${VAR:-default}` against the values so far, then the process
    environment, the order `dotenv_values` (override=True) uses, through a ChainMap instead of
    a copy. tests/keys/test_env_read.py checks it against `dotenv_values` on generated files."""
    import io
    import os
    from collections import ChainMap

    from dotenv.parser import parse_stream
    from dotenv.variables import parse_variables

    values: dict[str, str | None] = {}
    seen: ChainMap[str, str | None] = ChainMap(values, os.environ)  # type: ignore[arg-type]
    for count, binding in enumerate(parse_stream(io.StringIO(text)), 1):
        if progress is not None and count % 1024 == 0:
            progress(count)
        if binding.key is None:
            continue
        if binding.value is None:
            values[binding.key] = None
            continue
        values[binding.key] = "".join(atom.resolve(seen) for atom in parse_variables(binding.value))
    return values


def refused(exc: FileRefused) -> ChatenvError:
    """The one-line error for a .env path that is not a readable regular file."""
    from chatenv.problems import problem
    from chatenv.system.files import MAX_TEXT_FILE_BYTES

    path = exc.path
    if exc.reason == "loop":
        return problem("env-file.symlink-loop").error(EnvFileError, path=path)
    if exc.reason == "directory":
        return problem("env-file.is-directory").error(EnvFileError, path=path)
    if exc.reason == "not-regular":
        return problem("env-file.not-regular").error(EnvFileError, path=path, what=exc.kind)
    if exc.reason == "too-large":
        limit = f"{MAX_TEXT_FILE_BYTES // (1 << 20)} MiB"
        return problem("env-file.too-large").error(
            EnvFileError, path=path, size=exc.size, limit=limit
        )
    if exc.reason == "changed":
        return problem("env-file.changed").error(EnvFileError, path=path)
    return problem("env-file.unreadable").error(EnvFileError, path=path, reason=exc.error)


def resolve(
    environ: Mapping[str, str],
    env_file: Path,
    progress: Callable[[int], None] | None = None,
) -> OpenAIConfig:
    """Combine the environment and the .env file the way the user's code will (`progress`
    hears how many lines of the file were read, every 1,024)."""
    try:
        file_values = read_env_file(env_file, progress)
        file_error = file_fix = None
    except EnvFileError as exc:
        file_values, file_error, file_fix = {}, exc.message, exc.fix

    def setting(name: str) -> Setting | None:
        if environ.get(name, "").strip():
            return Setting(environ[name].strip(), ENVIRONMENT)
        if file_values.get(name, "").strip():
            return Setting(file_values[name].strip(), ENV_FILE)
        return None

    key_setting = setting(KEY)
    env_key = environ.get(KEY, "").strip()
    file_key = file_values.get(KEY, "").strip()
    for raw in (env_key, file_key):  # both are secrets, whichever one wins
        register(raw)
    for url in (environ.get(BASE_URL, ""), file_values.get(BASE_URL, "")):
        register_url(url)  # a password or token in the base URL is masked wherever it shows
    legacy = {}
    for name in LEGACY_NAMES:
        if environ.get(name):
            legacy[name] = ENVIRONMENT
        elif file_values.get(name):
            legacy[name] = ENV_FILE
    return OpenAIConfig(
        env_file=env_file,
        key=Secret(key_setting.value) if key_setting else None,
        key_source=key_setting.source if key_setting else None,
        key_conflict=bool(env_key and file_key and env_key != file_key),
        base_url=setting(BASE_URL),
        organization=setting(ORG),
        project=setting(PROJECT),
        legacy=legacy,
        env_file_error=file_error,
        env_file_fix=file_fix,
    )
