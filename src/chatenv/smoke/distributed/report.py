"""From what every rank left in the control store to the report's lines: pure functions over a
`World`, so a test can hand them any cluster, healthy or not.

Bus bandwidth is nccl-tests' (github.com/NVIDIA/nccl-tests, doc/PERFORMANCE.md): for all-reduce
`algbw = S / t` and `busbw = algbw * 2(n-1)/n`, S the bytes per rank, t the time per operation
averaged over the ranks (what nccl-tests reports by default), GB = 10^9 bytes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from chatenv.problems import problem
from chatenv.records import dataclass, field
from chatenv.results import CheckResult, Status
from chatenv.smoke.distributed import nccl
from chatenv.smoke.distributed.rank import EXIT_ABORTED, STAGES

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

SECTION = "distributed"
STAGE_NAMES = {
    "start": "its start",
    "arrive": "the rendezvous",
    "init": "the process-group init",
    "allreduce": "the all-reduce check",
    "broadcast": "the broadcast check",
    "barrier": "the barrier",
    "bandwidth": "the bandwidth test",
}
BUSBW = "busbw = algbw * 2(n-1)/n (nccl-tests, doc/PERFORMANCE.md)"
#: exit codes of a rank ended from outside: torchrun's SIGTERM/SIGKILL, chatenv's watchdog
STOPPED_CODES = (-15, -9, EXIT_ABORTED)
VERSION_NAMES = {
    "torch": "torch",
    "cuda": "CUDA",
    "nccl": "NCCL",
    "driver": "driver",
    "chatenv": "chatenv",
    "python": "Python",
}


@dataclass(frozen=True)
class RankView:
    """One rank as the reporter last saw it."""

    rank: int
    #: what it said when it arrived; None: it never did
    info: Mapping[str, Any] | None = None
    #: the stage it announced last
    stage: str | None = None
    #: its final word; None: it never wrote one (crashed, killed)
    result: Mapping[str, Any] | None = None
    #: its heartbeat stopped before the end
    gone: bool = False
    #: its exit code, when its node's torchrun said
    exit_code: int | None = None
    #: the last line it wrote on stderr, when torchrun kept its output
    tail: str | None = None

    @property
    def host(self) -> str:
        return str(self.info["host"]) if self.info else "?"

    @property
    def where(self) -> str:
        if not self.info:
            return "never arrived"
        return f"{self.info['host']}, {self.info['device']}"

    @property
    def end_stage(self) -> str:
        if self.result is not None:
            return str(self.result["stage"])
        return self.stage or "start"

    def passed(self, stage: str) -> bool:
        if self.result is not None:
            return stage in self.result.get("passed", ())
        if self.stage is None or self.stage not in STAGES:
            return False
        return STAGES.index(stage) < STAGES.index(self.stage)

    @property
    def failed_kind(self) -> str | None:
        """The kind of its own failure (timeout, peer, error, missing), if it wrote one."""
        if self.result is not None and self.result["status"] == "failed":
            return str(self.result.get("kind") or "error")
        return None


@dataclass(frozen=True)
class World:
    launcher: str
    backend: str
    world_size: int
    nnodes: int
    endpoint: str
    ranks: tuple[RankView, ...]
    timeout_s: float
    rdzv_timeout_s: float
    #: seconds until every rank had arrived, as the reporter saw it
    arrived_s: float | None = None
    #: where the logs were kept (they are removed after a run that passed)
    logs: str | None = None
    #: chatenv ended the job at its deadline
    deadline_s: float | None = None
    timed_out: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


def results(world: World) -> list[CheckResult]:
    """The stage lines, then versions, /dev/shm and NCCL's findings."""
    found = [_rendezvous(world)]
    if found[0].status is Status.OK:
        for stage in STAGES[1:]:
            line = _stage(world, stage)
            found.append(line)
            if not all(rank.passed(stage) for rank in world.ranks):
                break
    arrived = [rank for rank in world.ranks if rank.info]
    if arrived:
        found.append(versions(arrived))
    found += _node_findings(world)
    return found


# -- the rendezvous --------------------------------------------------------------------------------


def _rendezvous(world: World) -> CheckResult:
    rid = f"{SECTION}.rendezvous"
    table = {"ranks": [rank_row(rank) for rank in world.ranks]}
    missing = [rank for rank in world.ranks if not rank.info]
    if missing:
        return problem("dist.ranks-missing").check(
            Status.FAIL,
            rid,
            section=SECTION,
            details=[_missing_detail(rank) for rank in missing],
            data=table,
            count=len(missing),
            world=world.world_size,
            timeout=world.rdzv_timeout_s,
            ranks=named(rank.rank for rank in missing),
            endpoint=world.endpoint,
        )
    hosts = _hosts(world.ranks)
    spread = ", ".join(f"{host}: {len(ranks)}" for host, ranks in hosts.items())
    took = f" in {world.arrived_s:.1f} s" if world.arrived_s is not None else ""
    nodes = f"{world.nnodes} node{'s' if world.nnodes != 1 else ''}"
    return CheckResult.ok(
        rid,
        f"{world.world_size} ranks on {nodes} arrived{took} ({spread}; {world.launcher}, "
        f"rendezvous at {world.endpoint})",
        section=SECTION,
        data=table,
    )


def _missing_detail(rank: RankView) -> str:
    if rank.exit_code is not None:
        tail = f": {rank.tail}" if rank.tail else ""
        return f"rank {rank.rank}: exited with code {rank.exit_code} before it arrived{tail}"
    return f"rank {rank.rank}: never said who it is"


def rank_row(rank: RankView) -> dict[str, Any]:
    info = rank.info or {}
    versions = info.get("versions") or {}
    return {
        "rank": rank.rank,
        "node": info.get("node"),
        "local_rank": info.get("local_rank"),
        "host": info.get("host"),
        "pid": info.get("pid"),
        "device": info.get("device"),
        "device_name": info.get("device_name"),
        "torch": versions.get("torch"),
        "cuda": versions.get("cuda"),
        "nccl": versions.get("nccl"),
        "driver": versions.get("driver"),
        "chatenv": versions.get("chatenv"),
        "state": state(rank),
    }


def state(rank: RankView) -> str:
    """One rank's end, in a few words."""
    if not rank.info:
        return "never arrived"
    result = rank.result
    where = STAGE_NAMES.get(rank.end_stage, rank.end_stage)
    if result is None:
        how = _no_result(rank)
        return f"{how} in {where}"
    if result["status"] == "ok":
        wrong = [s for s, check in result.get("checks", {}).items() if not check.get("ok", True)]
        return f"wrong values in {', '.join(STAGE_NAMES[s] for s in wrong)}" if wrong else "ok"
    if result["status"] == "aborted":
        return f"{result.get('error')} (in {where})"
    return f"failed in {where}: {result.get('error')}"


def _no_result(rank: RankView) -> str:
    code = rank.exit_code
    if code is not None:
        if code in (-15, -9):
            return f"stopped by the launcher (signal {-code})"
        return f"exited with code {code}"
    return "exited (no heartbeat)" if rank.gone else "stopped answering"


# -- the stages ------------------------------------------------------------------------------------


def _stage(world: World, stage: str) -> CheckResult:
    rid = f"{SECTION}.{stage}"
    if not all(rank.passed(stage) for rank in world.ranks):
        return _stage_failed(world, stage)
    if stage in ("allreduce", "broadcast"):
        wrong = _wrong_values(world, stage)
        if wrong is not None:
            return wrong
    n = world.world_size
    if stage == "init":
        slowest = max(_timing(rank, "init_s") for rank in world.ranks)
        summary = (
            f"process group ({world.backend}) initialised on {n} ranks in {slowest * 1000:.0f} ms"
        )
    elif stage == "allreduce":
        elements = max(int(_check(rank, stage).get("elements", 0)) for rank in world.ranks)
        summary = f"all-reduce: the sum is exact on all {n} ranks ({elements} float32 values)"
    elif stage == "broadcast":
        summary = f"broadcast from rank 0: all {n} ranks received exactly what it sent"
    elif stage == "barrier":
        summary = f"barrier: all {n} ranks passed it"
    else:
        return bandwidth_result(world)
    return CheckResult.ok(rid, summary, section=SECTION)


def _check(rank: RankView, stage: str) -> Mapping[str, Any]:
    checks = rank.result.get("checks", {}) if rank.result else {}
    return dict(checks.get(stage) or {})


def _timing(rank: RankView, name: str) -> float:
    timings = rank.result.get("timings", {}) if rank.result else {}
    return float(timings.get(name) or 0.0)


def _wrong_values(world: World, stage: str) -> CheckResult | None:
    wrong = [(rank, _check(rank, stage)) for rank in world.ranks]
    wrong = [(rank, check) for rank, check in wrong if check and not check.get("ok", True)]
    if not wrong:
        return None
    first = wrong[0][1]
    details = [
        f"rank {rank.rank} ({rank.where}): {check['wrong']} of {check['elements']} values wrong, "
        f"first at {check['index']}: {check['got']:g} instead of {check['expected']:g}"
        for rank, check in wrong
    ]
    ranks = _list(rank.rank for rank, _ in wrong)
    got, expected = f"{first['got']:g}", f"{first['expected']:g}"
    rid, n = f"{SECTION}.{stage}", world.world_size
    if stage == "allreduce":
        return problem("dist.wrong-sum").check(
            Status.FAIL,
            rid,
            section=SECTION,
            details=details,
            ranks=ranks,
            count=len(wrong),
            world=n,
            index=first["index"],
            got=got,
            expected=expected,
        )
    return problem("dist.wrong-broadcast").check(
        Status.FAIL,
        rid,
        section=SECTION,
        details=details,
        ranks=ranks,
        count=len(wrong),
        world=n,
        index=first["index"],
        got=got,
        expected=expected,
    )


def _stage_failed(world: World, stage: str) -> CheckResult:
    """The first stage some rank did not pass: name the rank that caused it, not the ranks
    that timed out waiting for it."""
    rid = f"{SECTION}.{stage}"
    name = STAGE_NAMES[stage]
    stuck = [rank for rank in world.ranks if not rank.passed(stage)]
    details = [f"rank {rank.rank} ({rank.where}): {state(rank)}" for rank in world.ranks]
    details += [
        f"rank {r.rank}'s last words: {r.tail}" for r in stuck if r.tail and r.result is None
    ]
    waited = [r for r in world.ranks if r.failed_kind in ("timeout", "peer")]
    exited = [r for r in stuck if r.result is None and _exited(r)]
    if exited:
        first = exited[0]
        code = (
            f"exit code {first.exit_code}" if first.exit_code is not None else "no heartbeat since"
        )
        return problem("dist.rank-exited").check(
            Status.FAIL,
            rid,
            section=SECTION,
            details=details,
            rank=first.rank,
            where=first.where,
            stage=name,
            code=code,
            more=_more(exited),
            logs=world.logs or "the launcher's log",
        )
    errors = [r for r in stuck if r.failed_kind == "error"]
    if errors:
        first = errors[0]
        return problem("dist.rank-failed").check(
            Status.FAIL,
            rid,
            section=SECTION,
            details=details,
            rank=first.rank,
            where=first.where,
            stage=name,
            error=first.result.get("error") if first.result else "?",
            more=_more(errors),
        )
    silent = [r for r in stuck if r.failed_kind is None and not _deadline(r)]
    if silent and waited:
        first = silent[0]
        return problem("dist.rank-hung").check(
            Status.FAIL,
            rid,
            section=SECTION,
            details=details,
            rank=first.rank,
            where=first.where,
            stage=name,
            timeout=world.timeout_s,
            more=_more(silent),
            host=first.host,
        )
    timed_out = [r for r in stuck if r.failed_kind == "timeout"]
    if timed_out and len(timed_out) == len(stuck) and not world.timed_out:
        return problem("dist.stage-timeout").check(
            Status.FAIL,
            rid,
            section=SECTION,
            details=details,
            stage=name,
            ranks=named(r.rank for r in timed_out),
            timeout=world.timeout_s,
        )
    if world.timed_out or any(_deadline(r) for r in stuck):
        return problem("dist.job-deadline").check(
            Status.FAIL,
            rid,
            section=SECTION,
            details=details,
            deadline=world.deadline_s or 0,
            stage=name,
            ranks=named(r.rank for r in stuck),
        )
    first = stuck[0]
    error = first.result.get("error") if first.result else state(first)
    return problem("dist.rank-failed").check(
        Status.FAIL,
        rid,
        section=SECTION,
        details=details,
        rank=first.rank,
        where=first.where,
        stage=name,
        error=error,
        more=_more(stuck),
    )


def _exited(rank: RankView) -> bool:
    if rank.exit_code is not None:
        return rank.exit_code not in STOPPED_CODES
    return rank.gone


def _deadline(rank: RankView) -> bool:
    error = str(rank.result.get("error") or "") if rank.result else ""
    return "deadline" in error


def _more(ranks: Sequence[RankView]) -> str:
    others = [r.rank for r in ranks[1:]]
    return f" (and rank{'s' if len(others) > 1 else ''} {_list(others)})" if others else ""


# -- bandwidth -------------------------------------------------------------------------------------


def bandwidth_table(world: World) -> list[dict[str, Any]]:
    """One row per size: the time per all-reduce averaged over ranks, algbw and busbw in
    GB/s, and the slowest rank at that size."""
    n = world.world_size
    by_size: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for rank in world.ranks:
        for row in (rank.result or {}).get("bandwidth", ()):
            by_size[int(row["bytes"])].append((rank.rank, float(row["time_s"])))
    rows = []
    for size in sorted(by_size):
        times = by_size[size]
        mean = sum(t for _, t in times) / len(times)
        slowest, slowest_t = max(times, key=lambda item: item[1])
        algbw = size / mean / 1e9 if mean > 0 else 0.0
        rows.append(
            {
                "bytes": size,
                "time_us": round(mean * 1e6, 2),
                "algbw_gbps": _significant(algbw),
                "busbw_gbps": _significant(busbw(algbw, n)),
                "slowest_rank": slowest,
                "slowest_time_us": round(slowest_t * 1e6, 2),
            }
        )
    return rows


def _significant(value: float) -> float:
    return float(f"{value:.4g}")


def busbw(algbw: float, n: int) -> float:
    """nccl-tests' bus bandwidth of an all-reduce over n ranks."""
    return algbw * 2 * (n - 1) / n if n > 0 else 0.0


def bandwidth_result(world: World) -> CheckResult:
    rows = bandwidth_table(world)
    largest, smallest = rows[-1], rows[0]
    slowest = world.ranks[largest["slowest_rank"]]
    data = {"sizes": rows, "formula": BUSBW, "slowest_rank": slowest.rank}
    if world.world_size == 1:
        summary = (
            f"all-reduce on one rank: nothing crosses a link, so no bus bandwidth (latency "
            f"{time_text(smallest['time_us'])} at {size_text(smallest['bytes'])})"
        )
        return CheckResult.ok(f"{SECTION}.bandwidth", summary, section=SECTION, data=data)
    summary = (
        f"all-reduce bus bandwidth {largest['busbw_gbps']:.2f} GB/s at "
        f"{size_text(largest['bytes'])}, "
        f"latency {time_text(smallest['time_us'])} at {size_text(smallest['bytes'])}; slowest rank "
        f"{slowest.rank} ({slowest.where}: {time_text(largest['slowest_time_us'])} against "
        f"{time_text(largest['time_us'])} on average)"
    )
    return CheckResult.ok(
        f"{SECTION}.bandwidth",
        summary,
        section=SECTION,
        details=[BUSBW],
        data=data,
    )


def size_text(size: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"


def time_text(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1e3:
        return f"{us / 1e3:.2f} ms"
    return f"{us:.0f} µs"


# -- versions and node-level findings --------------------------------------------------------------


def versions(ranks: Sequence[RankView]) -> CheckResult:
    """Everything a rank runs should be the same everywhere; name what differs, and where."""
    rid = f"{SECTION}.versions"
    seen: dict[str, dict[str, list[int]]] = {}
    for rank in ranks:
        values = (rank.info or {}).get("versions") or {}
        for key in VERSION_NAMES:
            seen.setdefault(key, defaultdict(list))[str(values.get(key))].append(rank.rank)
    differ = {key: groups for key, groups in seen.items() if len(groups) > 1}
    if differ:
        parts = [
            f"{VERSION_NAMES[key]} ("
            + "; ".join(f"{value} on {named(r)}" for value, r in groups.items())
            + ")"
            for key, groups in differ.items()
        ]
        return problem("dist.versions-differ").check(
            Status.WARN,
            rid,
            section=SECTION,
            data={"differ": {k: dict(v) for k, v in differ.items()}},
            what=", ".join(VERSION_NAMES[key] for key in differ),
            groups="; ".join(parts),
        )
    same = [
        f"{VERSION_NAMES[key]} {value}"
        for key, groups in seen.items()
        for value in groups
        if value != "None"
    ]
    return CheckResult.ok(rid, f"same versions on every rank: {', '.join(same)}", section=SECTION)


def _node_findings(world: World) -> list[CheckResult]:
    if world.backend != "nccl":
        return []
    arrived = [rank for rank in world.ranks if rank.info]
    local = {host: len(ranks) for host, ranks in _hosts(arrived).items()}
    shm = {rank.host: (rank.info or {}).get("shm_bytes") for rank in arrived}
    logs = [
        nccl.RankLog(
            rank=rank.rank,
            host=rank.host,
            lines=tuple((rank.result or {}).get("nccl") or ()),
            stuck=rank.failed_kind == "timeout" or (rank.result is None and not rank.gone),
        )
        for rank in arrived
    ]
    return nccl.shm_finding(shm, local) + nccl.findings(
        logs, nnodes=world.nnodes, local_ranks=local
    )


def _hosts(ranks: Iterable[RankView]) -> dict[str, list[RankView]]:
    found: dict[str, list[RankView]] = {}
    for rank in ranks:
        found.setdefault(rank.host, []).append(rank)
    return found


def named(ranks: Iterable[int], word: str = "rank") -> str:
    """ "rank 3", "ranks 0-3, 7"."""
    values = sorted(set(ranks))
    return f"{word}{'s' if len(values) > 1 else ''} {_list(values)}"


def _list(ranks: Iterable[int]) -> str:
    """0, 1, 2, 3, 7 → "0-3, 7"."""
    values = sorted(set(ranks))
    parts: list[str] = []
    start = prev = None
    for value in values:
        if start is None:
            start = prev = value
        elif prev is not None and value == prev + 1:
            prev = value
        else:
            parts.append(f"{start}-{prev}" if start != prev else f"{start}")
            start = prev = value
    if start is not None:
        parts.append(f"{start}-{prev}" if start != prev else f"{start}")
    return ", ".join(parts)
