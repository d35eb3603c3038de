"""`chatenv smoke-test --distributed` with real processes: the `chatenv` entry point, torch's own
launcher (torchrun) and gloo on CPU, on 127.0.0.1. Two "nodes" are two chatenv processes with
`--nnodes 2` and one rendezvous endpoint; a launcher's ranks are processes started with the
variables srun or a PyTorchJob sets. A rank that exits, hangs or adds a wrong value is
tests/smoke/distributed_faults.py: the real worker with one hook changed.

Every run is bounded: a fault must end with its line within its timeouts (each subprocess has a
hard limit, so a hang fails the test instead of stalling the suite). NCCL cannot run here (no
GPU): its paths are covered by test_nccl.py with logs recorded on real machines."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

from chatenv.schemas import schema_text
from tests.conftest import CHATENV, clean_env

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tests.conftest import RunCli

FAULTS = Path(__file__).with_name("distributed_faults.py")
#: quick timeouts: a collective that takes 3 s on 2 cores has hung
QUICK = ("--timeout", "3", "--rdzv-timeout", "30")
GLOO = ("smoke-test", "--distributed", "--backend", "gloo")
LIMIT_S = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def document(stdout: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(stdout)
    jsonschema.validate(found, json.loads(schema_text("smoke-test")))
    return found


def by_id(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in doc["results"]}


def start(*args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(CHATENV), *args],
        env=dict(env or clean_env()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = proc.communicate(timeout=LIMIT_S)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def faulty(mode: str, fault: str, *args: str, env: Mapping[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, str(FAULTS), mode, fault, *args],
        env=dict(env or clean_env()),
        capture_output=True,
        text=True,
        timeout=LIMIT_S,
        check=False,
    )


# -- usage errors: one line, exit 2, before torch is imported ----------------------------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("smoke-test", "--nproc", "2"), "error: --nproc only apply with --distributed"),
        (
            ("smoke-test", "--distributed", "--train"),
            "error: --train and --distributed: the distributed test runs on its own",
        ),
        (
            ("smoke-test", "--distributed", "--nnodes", "2"),
            "error: --nnodes 2 needs --rdzv-endpoint HOST:PORT: where node 0 listens and the "
            "other nodes connect",
        ),
        (
            ("smoke-test", "--distributed", "--nnodes", "2", "--rdzv-endpoint", "node-0"),
            "error: --rdzv-endpoint 'node-0' is not HOST:PORT",
        ),
    ],
)
def test_distributed_usage_errors_are_one_line_and_exit_2(
    run_cli: RunCli, args: tuple[str, ...], line: str
) -> None:
    done = run_cli(*args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0] == line
    assert "Traceback" not in done.stderr


def test_launch_options_under_a_launcher_are_a_usage_error(run_cli: RunCli) -> None:
    env = clean_env(RANK="0", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT="1")
    done = run_cli("smoke-test", "--distributed", "--nproc", "4", env=env)
    assert done.returncode == 2
    assert done.stderr.startswith(
        "error: --nproc: RANK/WORLD_SIZE already started this process as one rank"
    )


# -- one node, chatenv launches -------------------------------------------------------------------


@pytest.mark.slow
def test_two_workers_on_one_node_pass_every_stage_and_report_json(run_cli: RunCli) -> None:
    done = run_cli(*GLOO, "--nproc", "2", *QUICK, "--json", timeout=LIMIT_S)
    assert done.returncode == 0, done.stdout + done.stderr
    doc = document(done.stdout)
    assert doc["stages"] == {"distributed": "ok"}
    results = by_id(doc)
    assert list(results) == [
        "distributed.rendezvous",
        "distributed.init",
        "distributed.allreduce",
        "distributed.broadcast",
        "distributed.barrier",
        "distributed.bandwidth",
        "distributed.versions",
    ]
    assert all(r["status"] == "ok" for r in results.values())
    ranks = results["distributed.rendezvous"]["data"]["ranks"]
    host = socket.gethostname()
    assert [(r["rank"], r["host"], r["device"], r["state"]) for r in ranks] == [
        (0, host, "cpu", "ok"),
        (1, host, "cpu", "ok"),
    ]
    import torch

    assert {r["torch"] for r in ranks} == {torch.__version__}
    sizes = results["distributed.bandwidth"]["data"]["sizes"]
    assert [s["bytes"] for s in sizes] == [8, 64 * 2**10, 2**20, 4 * 2**20]
    for size in sizes:
        # two ranks: busbw = algbw * 2(n-1)/n = algbw (nccl-tests)
        assert size["busbw_gbps"] == size["algbw_gbps"]
        assert size["algbw_gbps"] == pytest.approx(size["bytes"] / size["time_us"] / 1e3, rel=1e-2)
    assert doc["distributed"]["launcher"] == "torchrun, 1 node"
    assert (doc["distributed"]["backend"], doc["distributed"]["world_size"]) == ("gloo", 2)
    assert doc["distributed"]["logs"] is None  # removed after a run that passed


@pytest.mark.slow
def test_four_workers_on_one_node_print_every_rank_and_the_bandwidth_table(
    run_cli: RunCli,
) -> None:
    done = run_cli(*GLOO, "--nproc", "4", *QUICK, timeout=LIMIT_S)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "✓ 4 ranks on 1 node arrived" in out
    assert "✓ all-reduce: the sum is exact on all 4 ranks (4096 float32 values)" in out
    table = [line.split() for line in out.splitlines() if line.startswith("      ")]
    assert ["rank", "node", "host", "device", "torch", "state"] in table
    assert [row[0] for row in table if row[-1] == "ok"] == ["0", "1", "2", "3"]
    assert ["size", "time", "algbw", "busbw", "slowest", "rank"] in table
    assert "7 ok, 0 warnings, 0 failed, 0 skipped" in out


# -- two nodes on 127.0.0.1 -----------------------------------------------------------------------


@pytest.mark.slow
def test_two_nodes_meet_at_one_endpoint_and_node_0_reports_for_both() -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    node = (*GLOO, "--nnodes", "2", "--nproc", "1", "--rdzv-endpoint", endpoint, *QUICK)
    second = start(*node, "--node-rank", "1", "--json")
    first = finish(start(*node, "--node-rank", "0", "--json"))
    other = finish(second)
    assert first.returncode == 0, first.stdout + first.stderr
    doc = document(first.stdout)
    ranks = by_id(doc)["distributed.rendezvous"]["data"]["ranks"]
    assert [(r["rank"], r["node"], r["state"]) for r in ranks] == [(0, 0, "ok"), (1, 1, "ok")]
    assert by_id(doc)["distributed.rendezvous"]["summary"].startswith("2 ranks on 2 nodes arrived")
    assert (doc["distributed"]["nnodes"], doc["distributed"]["endpoint"]) == (2, endpoint)
    # node 1 prints no second report: node 0's is the job's one
    assert (other.returncode, other.stdout, other.stderr) == (0, "", "")


@pytest.mark.slow
def test_a_missing_node_and_a_wrong_port_each_end_with_their_line() -> None:
    """Node 0 waits at one port, node 1 knocks at another: both give up within the rendezvous
    timeout, node 0 naming the node that never came, node 1 what it found at its port."""
    right, wrong = free_port(), free_port()
    quick = (*GLOO, "--nnodes", "2", "--nproc", "1", "--timeout", "3", "--rdzv-timeout", "3")
    node0 = start(*quick, "--node-rank", "0", "--rdzv-endpoint", f"127.0.0.1:{right}", "--json")
    node1 = finish(start(*quick, "--node-rank", "1", "--rdzv-endpoint", f"127.0.0.1:{wrong}"))
    node0_done = finish(node0)
    assert node0_done.returncode == 1
    [line] = document(node0_done.stdout)["results"]
    assert line["summary"] == (
        f"1 of 2 nodes never arrived at 127.0.0.1:{right} within 3 s: node 1"
    )
    assert f"nc -zv 127.0.0.1 {right}" in line["fix"]
    assert node1.returncode == 1
    assert (
        f"✗ could not reach the rendezvous at 127.0.0.1:{wrong} within 3 s: connection refused: "
        f"nothing listens on port {wrong}"
    ) in node1.stdout


# -- faults: a rank that exits, hangs or adds a wrong value -------------------------------------


def _faulty_launch(fault: str) -> dict[str, Any]:
    done = faulty("launch", fault, "--nproc", "2", *QUICK)
    assert done.returncode == 1, done.stdout + done.stderr
    return document(done.stdout)


@pytest.mark.slow
def test_a_worker_that_exits_early_is_named_with_its_exit_code_and_last_words() -> None:
    doc = _faulty_launch("exit@broadcast:1")
    line = by_id(doc)["distributed.broadcast"]
    assert line["status"] == "fail"
    assert line["summary"].startswith("rank 1 (") and line["summary"].endswith(
        "exited during the broadcast check (exit code 7)"
    )
    assert "rank 1's last words: rank 1: exiting on purpose before broadcast" in line["details"]
    logs = doc["distributed"]["logs"]
    assert logs and Path(logs, "torchrun.log").is_file()  # kept: something failed
    assert "distributed.barrier" not in by_id(doc)


@pytest.mark.slow
def test_a_worker_that_hangs_is_named_and_the_job_ends_within_its_timeout() -> None:
    doc = _faulty_launch("hang@allreduce:1")
    line = by_id(doc)["distributed.allreduce"]
    assert line["summary"].endswith(
        "hung in the all-reduce check: the other ranks waited 3 s for it"
    )
    assert line["summary"].startswith("rank 1 (")
    rank0 = next(d for d in line["details"] if d.startswith("rank 0 "))
    assert "Timed out" in rank0  # rank 0 timed out waiting; rank 1 is the one named


@pytest.mark.slow
def test_a_wrong_contribution_fails_the_exact_sum_check() -> None:
    doc = _faulty_launch("wrong@allreduce:1")
    results = by_id(doc)
    assert results["distributed.allreduce"]["summary"] == (
        "all-reduce returned a wrong sum on 2 of 2 ranks (0-1): value 0 is 4, expected 3"
    )
    assert results["distributed.broadcast"]["status"] == "ok"  # the ranks stayed in step
    assert doc["exit_code"] == 1


# -- under another launcher: srun, torchrun, a PyTorchJob -------------------------------------


def _srun_task(rank: int, port: int) -> dict[str, str]:
    """What srun sets for one task of `srun --ntasks=2` on one node (srun(1))."""
    return clean_env(
        SLURM_JOB_ID="4242",
        SLURM_STEP_ID="0",
        SLURM_STEP_NUM_TASKS="2",
        SLURM_NTASKS="2",
        SLURM_STEP_NODELIST="localhost",
        SLURM_PROCID=str(rank),
        SLURM_LOCALID=str(rank),
        SLURM_NODEID="0",
        MASTER_PORT=str(port),
    )


@pytest.mark.slow
def test_under_srun_each_task_is_a_rank_and_only_rank_0_prints() -> None:
    port = free_port()
    args = (*GLOO, *QUICK, "--json")
    follower = start(*args, env=_srun_task(1, port))
    leader = finish(start(*args, env=_srun_task(0, port)))
    other = finish(follower)
    assert leader.returncode == 0, leader.stdout + leader.stderr
    doc = document(leader.stdout)
    assert doc["distributed"]["launcher"] == "Slurm (srun)"
    assert doc["distributed"]["endpoint"] == f"localhost:{port}"
    assert all(r["status"] == "ok" for r in doc["results"])
    assert (other.returncode, other.stdout, other.stderr) == (0, "", "")


@pytest.mark.slow
def test_a_rank_that_hangs_under_a_launcher_is_stopped_by_its_watchdog() -> None:
    """No torchrun to kill it: rank 0 times out, says abort, and the hung rank's watchdog ends
    it, so the job (here: both processes) still ends."""
    port = free_port()
    env = {"WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    hung = subprocess.Popen(
        [sys.executable, str(FAULTS), "rank", "hang@broadcast:1", *QUICK],
        env=clean_env(RANK="1", **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    leader = finish(start(*GLOO, *QUICK, "--json", env=clean_env(RANK="0", **env)))
    hung.communicate(timeout=LIMIT_S)
    assert hung.returncode == 3  # EXIT_ABORTED: its watchdog ended it
    assert leader.returncode == 1
    line = by_id(document(leader.stdout))["distributed.broadcast"]
    assert line["summary"].endswith(
        "hung in the broadcast check: the other ranks waited 3 s for it"
    )
    assert any(d.startswith("rank 1 (") and "stopped: rank 0 failed" in d for d in line["details"])


@pytest.mark.slow
def test_under_torchrun_chatenv_is_each_rank_and_rank_0_prints_one_document() -> None:
    """`torchrun ... -m chatenv smoke-test --distributed`: the ranks use torchrun's own store."""
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "chatenv", *GLOO, *QUICK, "--json"],
        env=clean_env(OMP_NUM_THREADS="1"),
        capture_output=True,
        text=True,
        timeout=LIMIT_S,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    doc = document(done.stdout)  # one document: rank 1 printed nothing
    assert doc["distributed"]["launcher"] == "torchrun"
    ranks = by_id(doc)["distributed.rendezvous"]["data"]["ranks"]
    assert [r["state"] for r in ranks] == ["ok", "ok"]


def test_without_torch_the_distributed_test_is_one_line_with_the_install_fix(
    run_cli: RunCli, tmp_path: Path
) -> None:
    from tests.smoke.test_cli_local import _blocking

    site = _blocking(tmp_path, "torch")
    done = run_cli(*GLOO, env=clean_env(PYTHONPATH=str(site)))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: torch.distributed is not available: No module named 'torch'",
        "  fix: chatenv install local",
    ]


@pytest.mark.slow
def test_a_rank_that_cannot_reach_rank_0_says_so_on_stderr_only(run_cli: RunCli) -> None:
    port = free_port()  # nothing listens there: rank 0 never started
    env = clean_env(RANK="1", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    done = run_cli(*GLOO, "--rdzv-timeout", "2", "--json", env=env, timeout=LIMIT_S)
    assert done.returncode == 1
    assert done.stdout == ""  # rank 0 prints the job's document, not rank 1
    assert done.stderr.splitlines()[0] == (
        f"error: rank 1 could not reach rank 0 at 127.0.0.1:{port} within 2 s: connection "
        f"refused: nothing listens on port {port}"
    )
