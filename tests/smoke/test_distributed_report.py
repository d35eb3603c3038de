"""The distributed report from what the ranks left in the store: pure functions over a
`World`. The rank records have the shape chatenv.smoke.distributed.rank writes (the slow tests in
test_distributed.py produce the same from real runs)."""

from __future__ import annotations

from typing import Any

import pytest

from chatenv.results import Status
from chatenv.smoke.distributed.rank import STAGES
from chatenv.smoke.distributed.report import (
    RankView,
    World,
    bandwidth_table,
    busbw,
    results,
    size_text,
    time_text,
)


def info(rank: int, host: str = "gpu-a", **versions: str | None) -> dict[str, Any]:
    return {
        "rank": rank,
        "local_rank": rank % 8,
        "node": rank // 8,
        "host": host,
        "pid": 1000 + rank,
        "device": f"cuda:{rank % 8}",
        "device_name": "NVIDIA H100 80GB HBM3",
        "backend": "nccl",
        "versions": {
            "torch": "2.13.0+cu128",
            "cuda": "12.8",
            "nccl": "2.27.5",
            "driver": "570.124.06",
            "chatenv": "0.1.0",
            "python": "3.12.3",
            **versions,
        },
        "shm_bytes": 64 * 2**30,
        "nccl_log": None,
    }


def passed(times: dict[int, float] | None = None, **checks: Any) -> dict[str, Any]:
    """A rank's result after every stage passed; `times`: seconds per size."""
    times = times or {8: 20e-6, 2**20: 50e-6, 256 * 2**20: 3e-3}
    return {
        "status": "ok",
        "stage": "done",
        "passed": list(STAGES),
        "error": None,
        "kind": None,
        "checks": {
            "allreduce": checks.get("allreduce", {"ok": True, "elements": 4096}),
            "broadcast": checks.get("broadcast", {"ok": True, "elements": 4096}),
        },
        "timings": {"init_s": 0.5},
        "bandwidth": [{"bytes": b, "iters": 20, "time_s": t} for b, t in times.items()],
        "nccl": [],
    }


def failed(stage: str, error: str, kind: str) -> dict[str, Any]:
    return {
        "status": "failed",
        "stage": stage,
        "passed": list(STAGES[: STAGES.index(stage)]),
        "error": error,
        "kind": kind,
        "checks": {},
        "timings": {},
        "bandwidth": [],
        "nccl": [],
    }


def aborted(stage: str, reason: str) -> dict[str, Any]:
    return {**failed(stage, reason, "aborted"), "status": "aborted"}


def world(*ranks: RankView, nnodes: int = 1, backend: str = "nccl", **kw: Any) -> World:
    return World(
        launcher="torchrun, 1 node",
        backend=backend,
        world_size=len(ranks),
        nnodes=nnodes,
        endpoint="node-0:29500",
        ranks=tuple(ranks),
        timeout_s=10.0,
        rdzv_timeout_s=60.0,
        arrived_s=4.2,
        logs="/tmp/chatenv-distributed-x",
        deadline_s=300.0,
        **kw,
    )


def by_id(found: list[Any]) -> dict[str, Any]:
    return {r.id: r for r in found}


def test_a_healthy_world_passes_every_stage_with_its_figures() -> None:
    w = world(*(RankView(r, info(r), "bandwidth", passed()) for r in range(4)))
    found = by_id(results(w))
    assert list(found) == [
        "distributed.rendezvous",
        "distributed.init",
        "distributed.allreduce",
        "distributed.broadcast",
        "distributed.barrier",
        "distributed.bandwidth",
        "distributed.versions",
    ]
    assert all(r.status is Status.OK for r in found.values())
    assert found["distributed.rendezvous"].summary.startswith("4 ranks on 1 node arrived in 4.2 s")
    rows = found["distributed.rendezvous"].data["ranks"]
    assert [(r["rank"], r["host"], r["device"], r["state"]) for r in rows][1] == (
        1,
        "gpu-a",
        "cuda:1",
        "ok",
    )
    assert found["distributed.versions"].summary == (
        "same versions on every rank: torch 2.13.0+cu128, CUDA 12.8, NCCL 2.27.5, driver "
        "570.124.06, chatenv 0.1.0, Python 3.12.3"
    )


def test_bus_bandwidth_is_nccl_tests_formula_on_the_mean_time() -> None:
    # 256 MiB in 3 ms on ranks 0-2, 5 ms on rank 3: mean 3.5 ms
    slow = {8: 20e-6, 2**20: 50e-6, 256 * 2**20: 5e-3}
    ranks = [RankView(r, info(r), "bandwidth", passed()) for r in range(3)]
    ranks.append(RankView(3, info(3, host="gpu-b"), "bandwidth", passed(slow)))
    w = world(*ranks)
    rows = bandwidth_table(w)
    big = rows[-1]
    algbw = 256 * 2**20 / 3.5e-3 / 1e9
    assert big["time_us"] == pytest.approx(3500)
    assert big["algbw_gbps"] == pytest.approx(algbw, rel=1e-3)
    assert big["busbw_gbps"] == pytest.approx(algbw * 2 * 3 / 4, rel=1e-3)
    assert (big["slowest_rank"], big["slowest_time_us"]) == (3, pytest.approx(5000))
    line = by_id(results(w))["distributed.bandwidth"]
    assert "slowest rank 3 (gpu-b, cuda:3: 5.00 ms against 3.50 ms on average)" in line.summary
    assert "latency 20 µs at 8 B" in line.summary
    assert busbw(10.0, 2) == 10.0 and busbw(10.0, 1) == 0.0


def test_a_rank_that_exited_is_named_not_the_ones_its_exit_broke() -> None:
    reset = "RuntimeError: Read error [10.0.0.2]:41000: Connection reset by peer."
    w = world(
        RankView(0, info(0), "broadcast", failed("broadcast", reset, "peer")),
        RankView(1, info(1), "broadcast", None, exit_code=7, tail="Segmentation fault"),
        RankView(2, info(2), "broadcast", None, exit_code=-15),
    )
    found = results(w)
    broadcast = by_id(found)["distributed.broadcast"]
    assert broadcast.status is Status.FAIL
    assert broadcast.summary == (
        "rank 1 (gpu-a, cuda:1) exited during the broadcast check (exit code 7)"
    )
    assert "rank 1's last words: Segmentation fault" in broadcast.details
    assert "rank 2 (gpu-a, cuda:2): stopped by the launcher (signal 15) in the broadcast check" in (
        broadcast.details
    )
    assert "distributed.barrier" not in by_id(found)  # the stages after the first failure


def test_a_rank_that_hung_is_named_when_the_others_timed_out_waiting() -> None:
    timeout = "RuntimeError: Timed out waiting 10000ms for recv operation to complete"
    w = world(
        RankView(0, info(0), "barrier", failed("barrier", timeout, "timeout")),
        RankView(1, info(1), "broadcast", aborted("broadcast", "stopped: rank 0 failed")),
    )
    line = by_id(results(w))["distributed.broadcast"]
    assert line.summary == (
        "rank 1 (gpu-a, cuda:1) hung in the broadcast check: the other ranks waited 10 s for it"
    )
    assert "gpu-a" in (line.fix or "")


def test_every_rank_timing_out_in_one_collective_is_the_collective_s_failure() -> None:
    timeout = "DistBackendError: Watchdog caught collective operation timeout"
    w = world(
        *(
            RankView(r, info(r), "allreduce", failed("allreduce", timeout, "timeout"))
            for r in range(2)
        )
    )
    line = by_id(results(w))["distributed.allreduce"]
    assert line.summary.startswith("the all-reduce check timed out after 10 s on ranks 0-1")


def test_ranks_that_never_arrived_are_listed_with_how_they_ended() -> None:
    w = world(
        RankView(0, info(0), "arrive", failed("arrive", "ranks 1, 3 never arrived", "missing")),
        RankView(1, None, None, None, exit_code=1, tail="ModuleNotFoundError: No module named 'x'"),
        RankView(2, info(2), "arrive", failed("arrive", "ranks 1, 3 never arrived", "missing")),
        RankView(3, None),
    )
    found = results(w)
    assert [r.id for r in found] == ["distributed.rendezvous", "distributed.versions"]
    line = found[0]
    assert line.summary == "2 of 4 ranks never arrived within 60 s: ranks 1, 3"
    assert line.details == (
        "rank 1: exited with code 1 before it arrived: ModuleNotFoundError: No module named 'x'",
        "rank 3: never said who it is",
    )


def test_a_wrong_sum_fails_the_all_reduce_and_the_later_stages_still_report() -> None:
    wrong = {"ok": False, "elements": 4096, "wrong": 4096, "index": 0, "got": 4.0, "expected": 3.0}
    w = world(*(RankView(r, info(r), "bandwidth", passed(allreduce=wrong)) for r in range(2)))
    found = by_id(results(w))
    line = found["distributed.allreduce"]
    assert line.status is Status.FAIL
    assert line.summary == (
        "all-reduce returned a wrong sum on 2 of 2 ranks (0-1): value 0 is 4, expected 3"
    )
    assert found["distributed.bandwidth"].status is Status.OK
    assert found["distributed.rendezvous"].data["ranks"][0]["state"] == (
        "wrong values in the all-reduce check"
    )


def test_different_versions_are_named_with_their_ranks() -> None:
    w = world(
        RankView(0, info(0), "bandwidth", passed()),
        RankView(1, info(1), "bandwidth", passed()),
        RankView(
            2, info(2, host="gpu-b", torch="2.12.1+cu126", nccl="2.26.2"), "bandwidth", passed()
        ),
    )
    line = by_id(results(w))["distributed.versions"]
    assert line.status is Status.WARN
    assert line.summary == (
        "torch, NCCL differ across ranks: torch (2.13.0+cu128 on ranks 0-1; 2.12.1+cu126 on "
        "rank 2); NCCL (2.27.5 on ranks 0-1; 2.26.2 on rank 2)"
    )
    assert line.fix and "chatenv install local" in line.fix


def test_a_small_dev_shm_is_a_warning_only_for_several_gpu_ranks_on_a_host() -> None:
    docker = {**info(0), "shm_bytes": 64 * 2**20}
    w = world(
        RankView(0, docker, "bandwidth", passed()),
        RankView(1, {**info(1), "shm_bytes": 64 * 2**20}, "bandwidth", passed()),
    )
    line = by_id(results(w))["distributed.shm"]
    assert line.status is Status.WARN
    assert line.summary.startswith("/dev/shm on gpu-a is 64 MiB for 2 GPU ranks")
    assert line.fix and "--shm-size=1g" in line.fix
    alone = world(RankView(0, docker, "bandwidth", passed()))
    assert "distributed.shm" not in by_id(results(alone))
    gloo = world(
        RankView(0, docker, "bandwidth", passed()),
        RankView(1, docker, "bandwidth", passed()),
        backend="gloo",
    )
    assert "distributed.shm" not in by_id(results(gloo))


@pytest.mark.parametrize(
    ("size", "text"), [(8, "8 B"), (65536, "64 KiB"), (2**20, "1 MiB"), (3 * 2**30, "3 GiB")]
)
def test_sizes_read_as_nccl_tests_steps(size: int, text: str) -> None:
    assert size_text(size) == text


def test_times_read_in_their_unit() -> None:
    assert [time_text(t) for t in (12.3, 4500.0, 2.5e6)] == ["12 µs", "4.50 ms", "2.50 s"]


def test_one_rank_has_no_bus_bandwidth_to_speak_of() -> None:
    found = by_id(results(world(RankView(0, info(0), "bandwidth", passed()))))
    assert found["distributed.bandwidth"].summary == (
        "all-reduce on one rank: nothing crosses a link, so no bus bandwidth (latency 20 µs at 8 B)"
    )
