"""One rank's part of the test, the same whoever launched it.

In order: arrive (say who it is, wait for every other rank), initialise the process group with a
timeout, an all-reduce whose sum is checked exactly, a broadcast checked exactly, a barrier, then
all-reduce timed at a few sizes. Each stage is announced in the control store before it starts,
so a rank that stops answering is known by its last stage; a watchdog thread keeps a heartbeat,
and ends the rank when another one gave up (`abort`) or when its own deadline passes, so a
hung collective never outlives the job.

A wrong value is a failed check, not an exception: the rank records it and goes on, so every
rank stays in step and the report shows the later stages too. An exception (a timeout, a peer
that went away) stops the rank, and it asks the others to stop (`abort`) rather than let each of
them wait out its own timeout.
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import sys
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.smoke.distributed import nccl
from chatenv.smoke.distributed.control import GONE_AFTER_S, HEARTBEAT_S

if TYPE_CHECKING:
    from chatenv.smoke.distributed.control import Control

STAGES = ("arrive", "init", "allreduce", "broadcast", "barrier", "bandwidth")
#: the counter every rank raises once it has said who it is
ARRIVED = "arrived"
#: the exit code of a rank its watchdog ended (another rank gave up, or the deadline passed)
EXIT_ABORTED = 3
CHECK_ELEMENTS = 4096
KiB, MiB = 2**10, 2**20
#: (bytes, warm-up iterations, timed iterations) for the bus bandwidth table, as nccl-tests'
#: all_reduce_perf steps through sizes; CPU sizes stay small enough for gloo on a laptop
GPU_SIZES = ((8, 5, 20), (1 * MiB, 5, 20), (32 * MiB, 5, 20), (256 * MiB, 3, 10))
CPU_SIZES = ((8, 5, 20), (64 * KiB, 5, 20), (1 * MiB, 3, 10), (4 * MiB, 2, 5))


@dataclass(frozen=True)
class Identity:
    rank: int
    world_size: int
    local_rank: int
    node: int
    #: "env": torchrun set MASTER_ADDR/MASTER_PORT for init_process_group("env://");
    #: "store": the process group meets in the control store (srun, RANK/WORLD_SIZE)
    pg_init: str = "env"


@dataclass(frozen=True)
class Settings:
    backend: str  # "nccl" or "gloo"
    timeout_s: float
    rdzv_timeout_s: float
    #: seconds from the rank's start after which its watchdog ends it whatever it is doing
    deadline_s: float
    #: where NCCL's INFO log goes (None: the user chose their own NCCL_DEBUG_FILE)
    nccl_log_dir: str | None = None


class Hooks(Protocol):
    """Where a test makes a rank misbehave: before a stage (exit, hang), or by changing what it
    adds to the all-reduce."""

    def before(self, stage: str) -> None: ...
    def contribution(self, values: Any) -> Any: ...


class NoHooks:
    def before(self, stage: str) -> None:
        pass

    def contribution(self, values: Any) -> Any:
        return values


NO_HOOKS = NoHooks()


class Failed(Exception):
    """A stage could not finish: `kind` is timeout, peer (another rank went away) or error."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


# -- the rank ------------------------------------------------------------------------------------


def run_rank(
    identity: Identity, control: Control, settings: Settings, hooks: Hooks = NO_HOOKS
) -> dict[str, Any]:
    """Run every stage; returns the result it also wrote to the store."""
    import torch

    tracker = Tracker(control, identity.rank)
    watchdog = Watchdog(control.clone(), identity.rank, settings.deadline_s, tracker)
    watchdog.start()
    device, no_device = _device(torch, identity, settings.backend)
    info = describe(torch, identity, settings, device)
    control.put(f"rank/{identity.rank}/info", info)
    control.add(f"backend/{settings.backend}", 1)
    control.add(ARRIVED, 1)
    checks: dict[str, Any] = {}
    timings: dict[str, float] = {}
    bandwidth: list[dict[str, Any]] = []
    result: dict[str, Any]
    try:
        if no_device is not None:
            raise no_device
        stages = Stages(torch, identity, control, settings, device, hooks)
        for stage in STAGES:
            tracker.enter(stage)
            hooks.before(stage)
            started = time.perf_counter()
            outcome = stages.run(stage)
            timings[f"{stage}_s"] = round(time.perf_counter() - started, 6)
            if stage == "bandwidth":
                bandwidth = outcome
            elif outcome is not None:
                checks[stage] = outcome
            tracker.passed.append(stage)
        result = _result("ok", "done", tracker.passed, checks, timings, bandwidth)
    except Exception as exc:
        failure = exc if isinstance(exc, Failed) else classify(exc)
        result = _result(
            "failed", tracker.stage, tracker.passed, checks, timings, bandwidth, failure
        )
    result["nccl"] = _nccl_excerpt(info)
    with watchdog.finishing:
        control.put(f"rank/{identity.rank}/result", result)
        if result["status"] != "ok" and not control.has("abort"):
            control.put("abort", {"by": identity.rank, "reason": f"rank {identity.rank} failed"})
        watchdog.stop()
    if result["status"] == "ok":
        _destroy(torch)
    return result


def _result(
    status: str,
    stage: str,
    passed: list[str],
    checks: dict[str, Any],
    timings: dict[str, float],
    bandwidth: list[dict[str, Any]],
    failure: Failed | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "stage": stage,
        "passed": list(passed),
        "error": str(failure) if failure else None,
        "kind": failure.kind if failure else None,
        "checks": checks,
        "timings": timings,
        "bandwidth": bandwidth,
    }


class Tracker:
    """The stage a rank is in, announced in the store before it starts."""

    def __init__(self, control: Control, rank: int) -> None:
        self._control = control
        self._rank = rank
        self.stage = "start"
        self.passed: list[str] = []

    def enter(self, stage: str) -> None:
        self.stage = stage
        self._control.put(f"rank/{self._rank}/stage", stage)


class Watchdog(threading.Thread):
    """The heartbeat, and the end of a rank that must stop: another rank gave up (`abort`),
    the store went away for good, or the deadline passed. A rank stuck in a collective cannot
    stop itself; this thread can (os._exit), after writing why."""

    def __init__(self, control: Control, rank: int, deadline_s: float, tracker: Tracker) -> None:
        super().__init__(name="chatenv-watchdog", daemon=True)
        self._control = control
        self._rank = rank
        self._deadline = time.monotonic() + deadline_s
        self._deadline_s = deadline_s
        self._tracker = tracker
        self._stopped = threading.Event()
        #: held while the rank writes its own result: the watchdog does not end it meanwhile
        self.finishing = threading.Lock()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        lost_since: float | None = None
        while not self._stopped.wait(HEARTBEAT_S):
            try:
                self._control.add(f"rank/{self._rank}/beat", 1)
                abort = self._control.get("abort")
                lost_since = None
            except RuntimeError:
                abort = None
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since > 2 * GONE_AFTER_S:
                    self._end("lost the control store (the rank or node hosting it is gone)")
            if abort and abort.get("by") != self._rank:
                self._end(f"stopped: {abort.get('reason', 'another rank gave up')}")
            if time.monotonic() > self._deadline:
                self._end(f"stopped: the job's deadline ({self._deadline_s:g} s) passed")

    def _end(self, reason: str) -> None:
        if not self.finishing.acquire(blocking=False):
            return  # the rank is writing its own result
        if self._stopped.is_set():
            self.finishing.release()
            return
        result = _result(
            "aborted",
            self._tracker.stage,
            self._tracker.passed,
            {},
            {},
            [],
            Failed(reason, "aborted"),
        )
        with contextlib.suppress(RuntimeError):
            self._control.put(f"rank/{self._rank}/result", result)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_ABORTED)


# -- the stages ----------------------------------------------------------------------------------


class Stages:
    def __init__(
        self,
        torch: Any,
        identity: Identity,
        control: Control,
        settings: Settings,
        device: Any,
        hooks: Hooks,
    ) -> None:
        self.torch = torch
        self.dist = torch.distributed
        self.identity = identity
        self.control = control
        self.settings = settings
        self.device = device
        self.hooks = hooks

    def run(self, stage: str) -> Any:
        try:
            return getattr(self, f"_{stage}")()
        except Failed:
            raise
        except Exception as exc:
            raise classify(exc) from exc

    def _arrive(self) -> None:
        """Wait until every rank has said who it is. One counter is polled, not every rank's
        key: a thousand ranks asking for a thousand keys ten times a second would drown the
        store; the keys are read once, to name the missing ranks."""
        world = self.identity.world_size
        deadline = time.monotonic() + self.settings.rdzv_timeout_s
        while self.control.counter(ARRIVED) < world:
            if self.control.has("abort"):
                raise Failed("stopped: another rank gave up before every rank arrived", "aborted")
            if time.monotonic() > deadline:
                missing = [r for r in range(world) if not self.control.has(f"rank/{r}/info")]
                raise Failed(f"ranks {_ranks(missing)} never arrived", "missing")
            time.sleep(0.2)
        self._same_backend()

    def _same_backend(self) -> None:
        """Ranks that chose different backends would wait for each other forever in init.
        Each rank counted itself under its backend when it arrived."""
        world = self.identity.world_size
        if self.control.counter(f"backend/{self.settings.backend}") == world:
            return
        infos = self.control.get_many([f"rank/{r}/info" for r in range(world)])
        chosen: dict[str, list[int]] = {}
        for info in infos:
            chosen.setdefault(str(info["backend"]), []).append(int(info["rank"]))
        groups = "; ".join(f"{b} on ranks {_ranks(r)}" for b, r in chosen.items())
        raise Failed(problem("dist.rank-backends-differ").text(groups=groups))

    def _init(self) -> None:
        dist, ident = self.dist, self.identity
        options: dict[str, Any] = {
            "backend": self.settings.backend,
            "rank": ident.rank,
            "world_size": ident.world_size,
            "timeout": timedelta(seconds=self.settings.timeout_s),
        }
        if self.settings.backend == "nccl":
            options["device_id"] = self.device  # eager NCCL init: this stage, not the next
        if ident.pg_init == "store":
            options["store"] = dist.PrefixStore("pg", self.control.raw)
        else:
            options["init_method"] = "env://"
        dist.init_process_group(**options)

    def _allreduce(self) -> dict[str, Any]:
        """Each rank adds (rank % 7 + 1) times a fixed pattern; the sum is known exactly (small
        integers, exact in float32 for any world up to millions of ranks)."""
        torch, n = self.torch, self.identity.world_size
        pattern = self._pattern(13)
        values = self.hooks.contribution(pattern * (self.identity.rank % 7 + 1))
        self.dist.all_reduce(values)
        self._sync()
        factor = sum(r % 7 + 1 for r in range(n))
        return _compare(torch, values, pattern * factor)

    def _broadcast(self) -> dict[str, Any]:
        expected = (self._pattern(1009) * 31 + 7) % 1009
        values = expected.clone() if self.identity.rank == 0 else self.torch.zeros_like(expected)
        self.dist.broadcast(values, src=0)
        self._sync()
        return _compare(self.torch, values, expected)

    def _barrier(self) -> None:
        if self.settings.backend == "nccl":
            self.dist.barrier(device_ids=[self.device.index])
        else:
            self.dist.barrier()
        self._sync()

    def _bandwidth(self) -> list[dict[str, Any]]:
        sizes = GPU_SIZES if self.settings.backend == "nccl" else CPU_SIZES
        return [
            {"bytes": size, "iters": iters, "time_s": self.time_allreduce(size, warmup, iters)}
            for size, warmup, iters in sizes
        ]

    def time_allreduce(self, size: int, warmup: int, iters: int) -> float:
        """Seconds per in-place all-reduce of `size` bytes of float32 zeros (zeros stay zeros:
        no overflow however often they are summed), timed on this rank after a barrier."""
        tensor = self.torch.zeros(max(size // 4, 1), dtype=self.torch.float32, device=self.device)
        for _ in range(warmup):
            self.dist.all_reduce(tensor)
        self._barrier()
        started = time.perf_counter()
        for _ in range(iters):
            self.dist.all_reduce(tensor)
        self._sync()
        return (time.perf_counter() - started) / iters

    def _pattern(self, modulo: int) -> Any:
        torch = self.torch
        return (torch.arange(CHECK_ELEMENTS, device=self.device) % modulo + 1).to(torch.float32)

    def _sync(self) -> None:
        if self.settings.backend == "nccl":
            self.torch.cuda.synchronize(self.device)


def _compare(torch: Any, got: Any, expected: Any) -> dict[str, Any]:
    wrong = (got != expected).nonzero()
    if not len(wrong):
        return {"ok": True, "elements": int(expected.numel())}
    index = int(wrong[0])
    return {
        "ok": False,
        "elements": int(expected.numel()),
        "wrong": len(wrong),
        "index": index,
        "got": float(got[index]),
        "expected": float(expected[index]),
    }


def classify(exc: BaseException) -> Failed:
    """A collective's exception as a timeout, a peer that went away, or another error."""
    text = " ".join(str(exc).split())
    lowered = text.lower()
    if "timed out" in lowered or "timeout" in lowered:
        kind = "timeout"
    elif any(
        words in lowered
        for words in ("connection reset", "connection closed", "broken pipe", "connection refused")
    ):
        kind = "peer"
    else:
        kind = "error"
    # gloo prefixes its messages with the C++ source path: "[.../pair.cc:537] Read error ..."
    message = text.split("] ", 1)[1] if text.startswith("[") and "] " in text else text
    return Failed(f"{type(exc).__name__}: {message}"[:300], kind)


def _ranks(ranks: list[int]) -> str:
    return ", ".join(map(str, ranks[:12])) + (
        f" and {len(ranks) - 12} more" if len(ranks) > 12 else ""
    )


def _destroy(torch: Any) -> None:
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


# -- who this rank is ------------------------------------------------------------------------------


def _device(torch: Any, identity: Identity, backend: str) -> tuple[Any, Failed | None]:
    """The rank's device: the CPU for gloo, GPU LOCAL_RANK (modulo the GPUs it sees: srun's
    --gpus-per-task shows each task one) for NCCL; or why there is none."""
    if backend != "nccl":
        return torch.device("cpu"), None
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        host = socket.gethostname()
        return torch.device("cpu"), Failed(problem("dist.rank-no-gpu").text(host=host))
    index = identity.local_rank % count
    torch.cuda.set_device(index)
    return torch.device("cuda", index), None


def describe(torch: Any, identity: Identity, settings: Settings, device: Any) -> dict[str, Any]:
    """What the report shows for this rank: where it runs and with which versions."""
    from chatenv import __version__

    host = socket.gethostname()
    return {
        "rank": identity.rank,
        "local_rank": identity.local_rank,
        "node": identity.node,
        "host": host,
        "pid": os.getpid(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "backend": settings.backend,
        "versions": {
            "torch": str(torch.__version__),
            "cuda": torch.version.cuda,
            "nccl": _nccl_version(torch),
            "driver": _driver_version(),
            "chatenv": __version__,
            "python": platform.python_version(),
        },
        "shm_bytes": _shm_bytes(),
        "nccl_log": nccl.log_file(settings.nccl_log_dir, host, os.getpid())
        if settings.nccl_log_dir and settings.backend == "nccl"
        else None,
    }


def _nccl_version(torch: Any) -> str | None:
    if not torch.cuda.is_available():
        return None
    try:
        version = torch.cuda.nccl.version()
    except Exception:
        return None
    return ".".join(map(str, version)) if isinstance(version, tuple) else str(version)


def _driver_version() -> str | None:
    from chatenv.system import nvml

    try:
        driver = nvml.probe().driver
    except Exception:
        return None
    return driver.version if driver else None


def _shm_bytes() -> int | None:
    try:
        stats = os.statvfs("/dev/shm")
    except (OSError, AttributeError):
        return None
    return stats.f_blocks * stats.f_frsize


def _nccl_excerpt(info: dict[str, Any]) -> list[str]:
    path = info.get("nccl_log")
    if not path:
        return []
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            return nccl.excerpt(log.read())
    except OSError:
        return []
