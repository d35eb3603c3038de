"""Where a project's model is on this machine, and what its files say about it.

A hub model is looked up in the Hugging Face cache the way huggingface_hub lays it out
(`<cache>/models--org--name/refs/<revision>` holds a commit, `snapshots/<commit>/` its files as
symlinks into `blobs/`); a folder model is its folder. Nothing is downloaded and nothing is
imported: the parameter count and dtype come from the safetensors headers (an 8-byte length and
a JSON table of tensors: dtype, shape, offsets; the format's own spec, github.com/huggingface/
safetensors), which is exact and reads a few KiB per file however large the weights are.

Whether the token can read a gated model is not checked here: that needs the hub (see
`AccessCheck`, the seam the HF token checks plug into).
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from chatenv.records import dataclass

if TYPE_CHECKING:
    from chatenv.project.settings import ModelNeed

#: a header larger than this is not a safetensors header (the format caps it at 100 MB)
MAX_HEADER_BYTES = 100_000_000
#: weight files read for their headers, at most
MAX_WEIGHT_FILES = 256
#: files counted for a snapshot's size, at most
MAX_FILES = 10_000
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
#: safetensors dtype -> the project file's dtype name (bytes per parameter: settings.DTYPE_BYTES)
_DTYPES = {
    "F64": "float32",  # no float64 entry: counted as 4 bytes would be wrong, but nobody ships it
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "F8_E4M3": "float8",
    "F8_E5M2": "float8",
    "I8": "int8",
    "U8": "int8",
}


@dataclass(frozen=True)
class ModelFiles:
    """What this machine holds of a model."""

    #: the folder with its files (the cached snapshot, or the given folder); None: not here
    folder: Path | None
    #: bytes of its files (following the cache's symlinks)
    size_bytes: int | None = None
    #: parameters, from the safetensors headers
    params: int | None = None
    #: the dtype most of its parameters are stored in
    dtype: str | None = None
    #: has a config.json and weights (a download stopped half-way has not)
    complete: bool = False
    #: where it would be cached (hub models)
    cache_folder: Path | None = None

    @property
    def present(self) -> bool:
        return self.folder is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder) if self.folder else None,
            "size_bytes": self.size_bytes,
            "params": self.params,
            "dtype": self.dtype,
            "complete": self.complete,
            "cache_folder": str(self.cache_folder) if self.cache_folder else None,
        }


class AccessCheck(Protocol):
    """Can the token read this hub model (gated, private)? The HF token checks implement it
    (they need the network and the token); until one is handed in, doctor says it did not ask."""

    def __call__(self, repo_id: str, revision: str | None) -> str | None: ...


def cache_folder(cache: Path, repo_id: str) -> Path:
    return cache / ("models--" + repo_id.replace("/", "--"))


def snapshot(cache: Path, repo_id: str, revision: str | None) -> Path | None:
    """The cached snapshot folder for a revision (a branch, a tag or a commit), or None."""
    repo = cache_folder(cache, repo_id)
    wanted = revision or "main"
    if _COMMIT.match(wanted):
        folder = repo / "snapshots" / wanted
        return folder if folder.is_dir() else None
    try:
        commit = (repo / "refs" / wanted).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    folder = repo / "snapshots" / commit
    return folder if commit and folder.is_dir() else None


def observe(need: ModelNeed, cache: Path) -> ModelFiles:
    if need.folder is not None:
        folder = need.folder if need.folder.is_dir() else None
        return _describe(folder, None)
    found = snapshot(cache, need.ref, need.revision)
    return _describe(found, cache_folder(cache, need.ref))


def _describe(folder: Path | None, cached_at: Path | None) -> ModelFiles:
    if folder is None:
        return ModelFiles(None, cache_folder=cached_at)
    files = _files(folder)
    size = 0
    for path in files:
        try:
            size += path.stat().st_size
        except OSError:
            continue
    weights = sorted(p for p in files if p.suffix == ".safetensors")[:MAX_WEIGHT_FILES]
    params, dtype = read_params(weights)
    has_weights = bool(weights) or any(p.suffix in (".bin", ".pt", ".gguf") for p in files)
    complete = (folder / "config.json").is_file() and has_weights
    return ModelFiles(folder, size, params, dtype, complete, cached_at)


def _files(folder: Path) -> list[Path]:
    found: list[Path] = []
    for base, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            found.append(Path(base) / name)
            if len(found) >= MAX_FILES:
                return found
    return found


def safetensors_header(path: Path) -> dict[str, Any] | None:
    """The JSON header of a safetensors file, or None when it is not one."""
    try:
        with path.open("rb") as f:
            raw = f.read(8)
            if len(raw) != 8:
                return None
            (length,) = struct.unpack("<Q", raw)
            if not 0 < length <= MAX_HEADER_BYTES:
                return None
            header = json.loads(f.read(length))
    except (OSError, ValueError):
        return None
    return header if isinstance(header, dict) else None


def read_params(files: list[Path]) -> tuple[int | None, str | None]:
    """Parameters and the dominant dtype over safetensors files (None, None when there are
    none, or one cannot be read: a partial count would understate the model)."""
    total = 0
    by_dtype: Counter[str] = Counter()
    for path in files:
        header = safetensors_header(path)
        if header is None:
            return None, None
        for name, tensor in header.items():
            if name == "__metadata__" or not isinstance(tensor, dict):
                continue
            shape = tensor.get("shape")
            if not isinstance(shape, list):
                continue
            count = math.prod(int(d) for d in shape)
            total += count
            by_dtype[str(tensor.get("dtype", ""))] += count
    if not total:
        return None, None
    top = by_dtype.most_common(1)[0][0]
    return total, _DTYPES.get(top)
