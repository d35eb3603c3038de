"""The Hugging Face cache as huggingface_hub sees it: where models are stored
(`huggingface_hub/constants.py`: HF_HUB_CACHE, else the legacy HUGGINGFACE_HUB_CACHE, else
$HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub), where
`hf auth login` keeps the token (HF_TOKEN_PATH, else $HF_HOME/token), whether offline mode is
on, and how much the cache holds."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv.records import dataclass

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

#: huggingface_hub's truthy values (constants.ENV_VARS_TRUE_VALUES)
_TRUE = {"1", "ON", "YES", "TRUE"}


#: Counting the cache stops after this many directory entries (a cache of ~10,000 models)...
SIZE_ENTRY_CAP = 1_000_000
#: ...or after this long, which only a very slow filesystem takes (a million stats take ~2 s;
#: a hung one never returns from its system call: doctor's time budget reports that).
SIZE_TIME_CAP_S = 10.0
#: hub repository folders: models--org--name, datasets--..., spaces--...
_REPO_PREFIXES = ("models--", "datasets--", "spaces--")


@dataclass(frozen=True)
class CacheSize:
    bytes: int
    models: int  # models--* folders in the hub cache
    complete: bool  # False when counting stopped at the entry or time cap
    elapsed_s: float
    #: why counting stopped early: "entries" (the cap: the same on every run) or "time" (the
    #: filesystem is too slow to answer), None when complete
    stopped: str | None = None


_VAR = re.compile(r"\$(\w+)|\$\{([^}]*)\}")


def _expand(value: str, environ: Mapping[str, str], home: Path) -> Path:
    """os.path.expanduser + expandvars, against the given environment."""
    if value == "~" or value.startswith("~/"):
        value = str(home) + value[1:]

    def var(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return environ.get(name, m.group(0))

    return Path(_VAR.sub(var, value))


def hf_home(environ: Mapping[str, str], home: Path) -> Path:
    """HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface (constants.HF_HOME)."""
    if environ.get("HF_HOME"):
        return _expand(environ["HF_HOME"], environ, home)
    if environ.get("XDG_CACHE_HOME"):
        return _expand(environ["XDG_CACHE_HOME"], environ, home) / "huggingface"
    return home / ".cache/huggingface"


def token_path(environ: Mapping[str, str], home: Path) -> Path:
    """The file `hf auth login` writes the active token to (constants.HF_TOKEN_PATH):
    HF_TOKEN_PATH, else $HF_HOME/token."""
    if environ.get("HF_TOKEN_PATH"):
        return _expand(environ["HF_TOKEN_PATH"], environ, home)
    return hf_home(environ, home) / "token"


def model_cached(repo_id: str, environ: Mapping[str, str], home: Path) -> bool:
    """The hub cache holds `repo_id`'s config.json at `main` (what a load with
    `local_files_only=True` looks up first: refs/main names the snapshot), read from the
    folders alone, without huggingface_hub."""
    folder = hub_cache(environ, home)[0] / ("models--" + repo_id.replace("/", "--"))
    try:
        commit = (folder / "refs" / "main").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return False
    return bool(commit) and (folder / "snapshots" / commit / "config.json").is_file()


def hub_cache(environ: Mapping[str, str], home: Path) -> tuple[Path, str]:
    """The folder transformers downloads models into, and the variable that chose it."""
    if environ.get("HF_HUB_CACHE"):
        return _expand(environ["HF_HUB_CACHE"], environ, home), "HF_HUB_CACHE"
    if environ.get("HUGGINGFACE_HUB_CACHE"):
        return _expand(environ["HUGGINGFACE_HUB_CACHE"], environ, home), "HUGGINGFACE_HUB_CACHE"
    if environ.get("HF_HOME"):
        return _expand(environ["HF_HOME"], environ, home) / "hub", "HF_HOME"
    if environ.get("XDG_CACHE_HOME"):
        return _expand(
            environ["XDG_CACHE_HOME"], environ, home
        ) / "huggingface/hub", "XDG_CACHE_HOME"
    return home / ".cache/huggingface/hub", "default"


def is_offline(environ: Mapping[str, str]) -> bool:
    """As huggingface_hub reads it: HF_HUB_OFFLINE, else TRANSFORMERS_OFFLINE, when truthy."""
    value = environ.get("HF_HUB_OFFLINE") or environ.get("TRANSFORMERS_OFFLINE")
    return value is not None and value.upper() in _TRUE


def nearest_existing(path: Path) -> Path | None:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return None


def cache_size(
    root: Path,
    entry_cap: int = SIZE_ENTRY_CAP,
    time_cap_s: float = SIZE_TIME_CAP_S,
    progress: Callable[[int], None] | None = None,
) -> CacheSize:
    """Bytes under `root`, not following symlinks. In a hub repository folder
    (`models--org--name`) only `blobs/` is read: the snapshots are symlinks into it and refs/
    holds commit hashes, so the work is one stat per stored file, linear in the files.

    The answer does not depend on how busy the machine is: counting stops after `entry_cap`
    entries, the same place on every run. The time cap only guards against a stuck filesystem
    (a hung network mount) and is reported as such."""
    started = time.monotonic()
    total = entries = models = 0
    stopped: str | None = None
    stack = [root]
    while stack and stopped is None:
        folder = stack.pop()
        in_repo = folder.parent == root and folder.name.startswith(_REPO_PREFIXES)
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    entries += 1
                    if entries > entry_cap:
                        stopped = "entries"
                        break
                    if entries % 1024 == 0:
                        if time.monotonic() - started > time_cap_s:
                            stopped = "time"
                            break
                        if progress is not None:
                            progress(entries)
                    if folder == root and entry.name.startswith("models--"):
                        models += 1
                    if in_repo and entry.name != "blobs":
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return CacheSize(total, models, stopped is None, time.monotonic() - started, stopped)
