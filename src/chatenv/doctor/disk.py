"""The disk section: free space where models are stored, the size of that cache, and whether
Hugging Face's offline mode is on (where the cache is: `chatenv.system.hf_cache`)."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.results import CheckResult, Status
from chatenv.system.hf_cache import cache_size, hub_cache, is_offline, nearest_existing

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from chatenv.doctor.context import Context
    from chatenv.system.hf_cache import CacheSize

GIB = 1024**3
#: Below this, only small models fit (a 7B model in 16-bit is about 15 GB).
WARN_FREE_BYTES = 10 * GIB
#: Below this, even GPT-2 and a torch wheel may not fit.
FAIL_FREE_BYTES = 1 * GIB


@dataclass(frozen=True)
class DiskFacts:
    cache_dir: Path
    #: the variable that chose it ("HF_HUB_CACHE", "HF_HOME", ...) or "default"
    source: str
    #: the nearest existing folder at or above cache_dir (where the space is measured)
    measured_at: Path | None
    free_bytes: int | None
    total_bytes: int | None
    writable: bool
    size: CacheSize | None
    offline: bool
    #: offline-related variables as set
    offline_vars: Mapping[str, str]
    #: variables set that the current libraries ignore
    ignored_vars: Mapping[str, str]


def _disk_usage(path: Path) -> tuple[int, int, int]:
    total, used, free = shutil.disk_usage(path)
    return total, used, free


def observe(
    environ: Mapping[str, str],
    home: Path,
    usage: Callable[[Path], tuple[int, int, int]] = _disk_usage,
    progress: Callable[[int], None] | None = None,
) -> DiskFacts:
    cache_dir, source = hub_cache(environ, home)
    at = nearest_existing(cache_dir)
    free = total = None
    if at is not None:
        with contextlib.suppress(OSError):
            total, _used, free = usage(at)
    writable = at is not None and os.access(at, os.W_OK | os.X_OK)
    size = cache_size(cache_dir, progress=progress) if cache_dir.is_dir() else None
    offline_names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
    ignored_names = (
        "TRANSFORMERS_CACHE",
        "PYTORCH_TRANSFORMERS_CACHE",
        "PYTORCH_PRETRAINED_BERT_CACHE",
    )
    return DiskFacts(
        cache_dir=cache_dir,
        source=source,
        measured_at=at,
        free_bytes=free,
        total_bytes=total,
        writable=writable,
        size=size,
        offline=is_offline(environ),
        offline_vars={n: environ[n] for n in offline_names if n in environ},
        ignored_vars={n: environ[n] for n in ignored_names if environ.get(n)},
    )


def _gib(value: int) -> str:
    return f"{value / GIB:.1f} GiB"


def check_space(facts: DiskFacts) -> CheckResult:
    where = (
        f"{facts.cache_dir} ({'default' if facts.source == 'default' else 'from ' + facts.source})"
    )
    data = {
        "cache_dir": str(facts.cache_dir),
        "source": facts.source,
        "measured_at": str(facts.measured_at) if facts.measured_at else None,
        "free_bytes": facts.free_bytes,
        "total_bytes": facts.total_bytes,
        "writable": facts.writable,
    }
    details = [f"model cache: {where}"]
    if facts.measured_at and facts.measured_at != facts.cache_dir:
        details.append(f"not created yet; space measured at {facts.measured_at}")
    if facts.free_bytes is None:
        return problem("disk.unmeasurable").check(
            Status.WARN,
            "disk.space",
            details=details,
            data=data,
            where=where,
            cache_dir=facts.cache_dir,
        )
    summary = f"{_gib(facts.free_bytes)} free for models in {where}"
    if not facts.writable:
        return problem("disk.not-writable").check(
            Status.WARN, "disk.space", details=details, data=data, summary=summary
        )
    if facts.free_bytes < FAIL_FREE_BYTES:
        return problem("disk.almost-full").check(
            Status.FAIL, "disk.space", details=details, data=data, summary=summary
        )
    if facts.free_bytes < WARN_FREE_BYTES:
        return problem("disk.low-space").check(
            Status.WARN, "disk.space", details=details, data=data, summary=summary
        )
    return CheckResult.ok("disk.space", summary, details=details, data=data)


def check_cache(facts: DiskFacts) -> CheckResult:
    if facts.size is None:
        return CheckResult.ok(
            "disk.cache",
            "model cache is empty (not created yet)",
            data={"bytes": 0, "models": 0, "complete": True},
        )
    size = facts.size
    amount = _gib(size.bytes) if size.complete else f"at least {_gib(size.bytes)}"
    note = {
        None: "",
        "entries": " (counting stopped at a million files)",
        "time": f" (counting stopped after {size.elapsed_s:.1f} s: the filesystem is slow)",
    }[size.stopped]
    return CheckResult.ok(
        "disk.cache",
        f"model cache holds {size.models} model{'s' if size.models != 1 else ''}, {amount}{note}",
        data={
            "bytes": size.bytes,
            "models": size.models,
            "complete": size.complete,
            "stopped": size.stopped,
            "elapsed_s": round(size.elapsed_s, 3),
        },
    )


def check_offline(facts: DiskFacts) -> list[CheckResult]:
    results = []
    data = {"offline": facts.offline, "variables": dict(facts.offline_vars)}
    shown = ", ".join(f"{k}={v}" for k, v in facts.offline_vars.items())
    if facts.offline:
        models = facts.size.models if facts.size else 0
        if models == 0:
            results.append(
                problem("disk.offline-empty-cache").check(
                    Status.WARN, "disk.offline", data=data, variables=shown
                )
            )
        else:
            results.append(
                CheckResult.ok(
                    "disk.offline",
                    f"Hugging Face offline mode is on ({shown}): only the cached models load",
                    data=data,
                )
            )
    else:
        results.append(
            CheckResult.ok(
                "disk.offline",
                "Hugging Face downloads allowed" + (f" ({shown})" if shown else ""),
                data=data,
            )
        )
    for name, value in facts.ignored_vars.items():
        results.append(
            problem("disk.legacy-cache-variable").check(
                Status.WARN,
                f"disk.legacy.{name}",
                data={"name": name, "value": value},
                name=name,
                value=value,
            )
        )
    return results


def check_disk(facts: DiskFacts) -> list[CheckResult]:
    return [check_space(facts), check_cache(facts), *check_offline(facts)]


def collect(ctx: Context) -> list[CheckResult]:
    home = Path(ctx.environ.get("HOME") or Path.home())
    return check_disk(
        observe(ctx.environ, home, progress=lambda n: ctx.step(f"counted {n} files in the cache"))
    )
