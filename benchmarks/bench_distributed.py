"""chatenv's all-reduce bus bandwidth beside torch's own all-reduce timed directly.

Runs `chatenv smoke-test --distributed --json` and a bare torchrun script that initialises the
same process group and times `dist.all_reduce` on the same sizes with the same warm-up and
iteration counts (chatenv's own table: rank.CPU_SIZES for gloo, rank.GPU_SIZES for NCCL),
alternating which goes first, several times. For each size it prints the medians of the time
per all-reduce (averaged over ranks, as nccl-tests reports it) and of the bus bandwidth
(nccl-tests: busbw = algbw * 2(n-1)/n), chatenv's beside the bare one; then the wall time of
each whole run: what chatenv's rendezvous, control store and checks add to a job that only
starts torchrun and times.

    python benchmarks/bench_distributed.py [--runs 5] [--nproc 2] [--backend gloo|nccl]

The figures are what this machine does; on a 2-core box with other work, gloo's small sizes
vary from run to run by more than any difference between the two.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from chatenv.smoke.distributed.rank import CPU_SIZES, GPU_SIZES
from chatenv.smoke.distributed.report import busbw, size_text, time_text

CHATENV = Path(sys.executable).with_name("chatenv")

BARE = """
import json, os, sys, time
from datetime import timedelta
import torch
import torch.distributed as dist

backend, sizes = sys.argv[1], json.loads(sys.argv[2])
dist.init_process_group(backend, timeout=timedelta(seconds=60))
device = torch.device("cpu")
if backend == "nccl":
    device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    torch.cuda.set_device(device)

def sync():
    if backend == "nccl":
        torch.cuda.synchronize(device)

times = []
for size, warmup, iters in sizes:
    tensor = torch.zeros(max(size // 4, 1), dtype=torch.float32, device=device)
    for _ in range(warmup):
        dist.all_reduce(tensor)
    dist.barrier()
    sync()
    started = time.perf_counter()
    for _ in range(iters):
        dist.all_reduce(tensor)
    sync()
    times.append((time.perf_counter() - started) / iters)
gathered = [None] * dist.get_world_size()
dist.all_gather_object(gathered, times)
if dist.get_rank() == 0:
    print(json.dumps(gathered))
dist.destroy_process_group()
"""


def chatenv_run(nproc: int, backend: str) -> tuple[float, dict[int, float]]:
    """Wall seconds, and the mean time per all-reduce for each size."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(CHATENV), "smoke-test", "--distributed", "--backend", backend, "--nproc", str(nproc),
         "--json"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"chatenv failed:\n{done.stdout}\n{done.stderr}")
    report = json.loads(done.stdout)
    [bandwidth] = [r for r in report["results"] if r["id"] == "distributed.bandwidth"]
    return wall, {row["bytes"]: row["time_us"] / 1e6 for row in bandwidth["data"]["sizes"]}


def bare_run(
    script: Path, nproc: int, backend: str, sizes: tuple[tuple[int, int, int], ...]
) -> tuple[float, dict[int, float]]:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
         str(nproc), str(script), backend, json.dumps(sizes)],
        capture_output=True, text=True, timeout=600, check=False, env=env,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the bare script failed:\n{done.stdout}\n{done.stderr}")
    per_rank = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, {
        size: statistics.mean(times[i] for times in per_rank)
        for i, (size, _, _) in enumerate(sizes)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--backend", choices=("gloo", "nccl"), default="gloo")
    args = parser.parse_args()
    sizes = GPU_SIZES if args.backend == "nccl" else CPU_SIZES
    walls: dict[str, list[float]] = {"chatenv": [], "bare": []}
    times: dict[str, dict[int, list[float]]] = {"chatenv": {}, "bare": {}}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp, "bare_allreduce.py")
        script.write_text(BARE)
        for run in range(args.runs):
            order = ("chatenv", "bare") if run % 2 == 0 else ("bare", "chatenv")
            for who in order:
                wall, found = (
                    chatenv_run(args.nproc, args.backend)
                    if who == "chatenv"
                    else bare_run(script, args.nproc, args.backend, sizes)
                )
                walls[who].append(wall)
                for size, seconds in found.items():
                    times[who].setdefault(size, []).append(seconds)
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr)

    n = args.nproc
    print(
        f"all-reduce, {args.backend}, {n} ranks on this node, {args.runs} runs each "
        "(medians; busbw = algbw * 2(n-1)/n, nccl-tests)"
    )
    print(
        f"{'size':>8}  {'chatenv time':>12}  {'busbw':>12}  {'bare time':>10}  {'busbw':>12}  ratio"
    )
    for size, _, _ in sizes:
        ours = statistics.median(times["chatenv"][size])
        bare = statistics.median(times["bare"][size])
        print(
            f"{size_text(size):>8}  {time_text(ours * 1e6):>12}  "
            f"{busbw(size / ours / 1e9, n):>7.3f} GB/s  {time_text(bare * 1e6):>10}  "
            f"{busbw(size / bare / 1e9, n):>7.3f} GB/s  x{ours / bare:.2f}"
        )
    ours_wall, bare_wall = statistics.median(walls["chatenv"]), statistics.median(walls["bare"])
    print(
        f"wall per run: chatenv {ours_wall:.2f} s, bare torchrun {bare_wall:.2f} s "
        f"(chatenv adds {ours_wall - bare_wall:+.2f} s: its CLI, the control store, the checks)"
    )


if __name__ == "__main__":
    main()
