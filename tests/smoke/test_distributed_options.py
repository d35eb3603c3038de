"""Who starts the ranks: chatenv's own options, or the variables another launcher set. The
environments below are what the launchers really set: torchrun's from a real `python -m
torch.distributed.run` of torch 2.13 on this machine (a worker's os.environ), the PyTorchJob
operator's from kubeflow/training-operator (pkg/controller.v1/pytorch/envvar.go: MASTER_PORT,
MASTER_ADDR, WORLD_SIZE, RANK, PYTHONUNBUFFERED), Slurm's from a real job's `env | grep SLURM`
(a batch step) plus what srun(1) documents for a task (SLURM_STEP_ID, SLURM_STEP_NUM_TASKS,
SLURM_STEP_NODELIST, SLURM_PROCID, SLURM_LOCALID, SLURM_NODEID)."""

from __future__ import annotations

import pytest

from chatenv.errors import UsageError
from chatenv.smoke.distributed.options import (
    DistributedRequest,
    Endpoint,
    Launcher,
    NodePlan,
    detect_launcher,
    first_host,
    parse_endpoint,
    plan,
    slurm_port,
)

TORCHRUN_WORKER = {
    "RANK": "1",
    "WORLD_SIZE": "2",
    "LOCAL_RANK": "1",
    "GROUP_RANK": "0",
    "MASTER_ADDR": "localhost",
    "MASTER_PORT": "43707",
    "TORCHELASTIC_USE_AGENT_STORE": "True",
    "LOCAL_WORLD_SIZE": "2",
    "TORCHELASTIC_RUN_ID": "none",
    "TORCHELASTIC_RESTART_COUNT": "0",
    "OMP_NUM_THREADS": "1",
}
PYTORCHJOB_WORKER = {
    "MASTER_PORT": "23456",
    "MASTER_ADDR": "pytorch-dist-master-0",
    "WORLD_SIZE": "4",
    "RANK": "3",
    "PYTHONUNBUFFERED": "0",
}
SLURM_BATCH_STEP = {
    "SLURM_NODELIST": "gnode[10,20,25,37]",
    "SLURM_JOB_NAME": "test-multi-nodes",
    "SLURM_NTASKS_PER_NODE": "4",
    "SLURM_NNODES": "4",
    "SLURM_JOBID": "200505",
    "SLURM_NTASKS": "4",
    "SLURM_JOB_ID": "200505",
    "SLURM_NODEID": "0",
    "SLURM_PROCID": "0",
    "SLURM_JOB_NODELIST": "gnode[10,20,25,37]",
    "SLURM_LOCALID": "0",
    "SLURM_JOB_NUM_NODES": "4",
}
SLURM_SRUN_TASK = {
    **SLURM_BATCH_STEP,
    "SLURM_STEP_ID": "0",
    "SLURM_STEPID": "0",
    "SLURM_STEP_NUM_TASKS": "16",
    "SLURM_STEP_NODELIST": "gnode[20,25]",
    "SLURM_PROCID": "13",
    "SLURM_LOCALID": "5",
    "SLURM_NODEID": "1",
}


def test_a_torchrun_worker_is_one_rank_that_uses_the_agents_store() -> None:
    found = detect_launcher(TORCHRUN_WORKER)
    assert found == Launcher(
        kind="torchrun",
        rank=1,
        world_size=2,
        local_rank=1,
        node=0,
        master=Endpoint("localhost", 43707),
        run_id="none-0",
        agent_store=True,
    )


def test_a_pytorchjob_pod_is_one_rank_whose_rank_0_hosts_the_store() -> None:
    found = detect_launcher(PYTORCHJOB_WORKER)
    assert found is not None
    assert (found.kind, found.rank, found.world_size, found.local_rank) == ("env", 3, 4, 0)
    assert found.master == Endpoint("pytorch-dist-master-0", 23456)
    assert not found.agent_store
    assert found.description == "RANK/WORLD_SIZE"


def test_an_srun_task_is_one_rank_with_rank_0_on_the_steps_first_node() -> None:
    found = detect_launcher(SLURM_SRUN_TASK)
    assert found is not None
    assert (found.kind, found.rank, found.world_size) == ("slurm", 13, 16)
    assert (found.local_rank, found.node) == (5, 1)
    # the step's nodes, not the job's: gnode20 is the step's first
    assert found.master == Endpoint("gnode20", 15000 + 505)
    assert found.run_id == "slurm-200505-0"


def test_srun_with_master_addr_and_port_set_uses_them() -> None:
    env = {**SLURM_SRUN_TASK, "MASTER_ADDR": "10.1.2.3", "MASTER_PORT": "29511"}
    found = detect_launcher(env)
    assert found is not None and found.master == Endpoint("10.1.2.3", 29511)


def test_a_batch_script_or_a_one_task_srun_shell_is_not_a_launcher() -> None:
    assert detect_launcher(SLURM_BATCH_STEP) is None  # no SLURM_STEP_ID: the batch step
    pty = {**SLURM_SRUN_TASK, "SLURM_STEP_NUM_TASKS": "1", "SLURM_PROCID": "0"}
    assert detect_launcher(pty) is None  # srun --pty bash: a step of one task
    assert detect_launcher({"PATH": "/usr/bin"}) is None


@pytest.mark.parametrize(
    ("nodelist", "first"),
    [
        ("gnode[10,20,25,37]", "gnode10"),
        ("gpu-[03-04,07]", "gpu-03"),
        ("rack[1-2]-n[01-08]", "rack1-n01"),
        ("a,b[1-3]", "a"),
        ("node7", "node7"),
        ("gpu-[001-128],cpu-[1-4]", "gpu-001"),
    ],
)
def test_the_first_host_of_a_slurm_hostlist(nodelist: str, first: str) -> None:
    assert first_host(nodelist) == first


def test_the_slurm_port_is_lightnings_job_id_rule() -> None:
    assert slurm_port("200505") == 15505
    assert slurm_port("12") == 15012
    assert slurm_port("4242_7") == 15000 + 2427  # an array job's id: digits only


def test_rank_variables_without_master_addr_are_one_usage_error() -> None:
    with pytest.raises(UsageError, match="MASTER_ADDR or MASTER_PORT is not"):
        detect_launcher({"RANK": "0", "WORLD_SIZE": "2"})
    with pytest.raises(UsageError, match=r"RANK='x' is not a rank"):
        detect_launcher({**PYTORCHJOB_WORKER, "RANK": "x"})
    with pytest.raises(UsageError, match="RANK="):
        detect_launcher({**PYTORCHJOB_WORKER, "RANK": "4"})  # outside 0..WORLD_SIZE-1


@pytest.mark.parametrize(
    ("text", "endpoint"),
    [
        ("node-0:29500", Endpoint("node-0", 29500)),
        ("10.0.0.5:1", Endpoint("10.0.0.5", 1)),
        ("[fd00::5]:29500", Endpoint("fd00::5", 29500)),
    ],
)
def test_endpoints_parse_as_torchrun_writes_them(text: str, endpoint: Endpoint) -> None:
    assert parse_endpoint(text) == endpoint
    assert str(endpoint) == text


@pytest.mark.parametrize("text", ["node-0", "node-0:", ":29500", "node-0:99999", "a b:1"])
def test_a_bad_endpoint_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="is not HOST:PORT"):
        parse_endpoint(text)


def test_chatenv_launches_when_no_launcher_is_there() -> None:
    assert plan(DistributedRequest(nproc=4), {}) == NodePlan(1, 0, None, 4)
    two = plan(DistributedRequest(nnodes=2, node_rank=1, rdzv_endpoint="n0:29500"), {})
    assert two == NodePlan(2, 1, Endpoint("n0", 29500), None)


def test_node_options_that_cannot_work_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="--nnodes 2 needs --rdzv-endpoint"):
        plan(DistributedRequest(nnodes=2), {})
    with pytest.raises(UsageError, match="--node-rank 2 with --nnodes 2"):
        plan(DistributedRequest(nnodes=2, node_rank=2, rdzv_endpoint="n0:1"), {})
    with pytest.raises(UsageError, match="is not HOST:PORT"):
        plan(DistributedRequest(nnodes=2, rdzv_endpoint="n0:0"), {})  # others cannot find 0


def test_launch_options_under_a_launcher_are_a_usage_error() -> None:
    assert isinstance(plan(DistributedRequest(), TORCHRUN_WORKER), Launcher)
    with pytest.raises(UsageError, match="--nproc, --nnodes: torchrun already started"):
        plan(DistributedRequest(nproc=2, nnodes=1), TORCHRUN_WORKER)
