"""NCCL's INFO log, turned into lines. No NCCL runs here (no GPU): the logs in tests/data/nccl/
were recorded on real machines and published, and are kept as they were printed:

- A100_CONTAINER: `NCCL_DEBUG=INFO all_reduce_perf -g 2` (nccl-tests) in a Docker container on
  two A100-SXM4-80GB, NCCL 2.20.5 (a public engineering notebook);
- IFNAME_WRONG: a DeepSpeed job on a 4x A6000 node with NCCL_SOCKET_IFNAME=eth0 set for a host
  whose interface has another name;
- SHM_FULL: a container with Docker's 64 MB /dev/shm (NCCL's own troubleshooting guide quotes
  the same line);
- P2P_DISABLED: two RTX 5060 Ti on a Proxmox host with NCCL_P2P_DISABLE=1 (joorklee/p2p-bench);
- TWO_NODES_TCP: a 3-node, 24-GPU job on cloud VMs without InfiniBand.
"""

from __future__ import annotations

from pathlib import Path

from chatenv.results import Status
from chatenv.smoke.distributed.nccl import RankLog, excerpt, findings, prepare_log, shm_finding

RECORDED = Path(__file__).resolve().parents[1] / "data" / "nccl"


def recorded(name: str) -> str:
    return (RECORDED / f"{name}.log").read_text(encoding="utf-8")


A100_CONTAINER = recorded("a100-container")
IFNAME_WRONG = recorded("ifname-wrong")
SHM_FULL = recorded("shm-full")
P2P_DISABLED = recorded("p2p-disabled")
TWO_NODES_TCP = recorded("two-nodes-tcp")


def log(text: str, rank: int = 0, host: str = "gpu-a", stuck: bool = False) -> RankLog:
    return RankLog(rank, host, tuple(excerpt(text)), stuck)


def test_the_excerpt_keeps_versions_networks_and_one_line_per_transport() -> None:
    lines = excerpt(A100_CONTAINER)
    assert lines == [
        "NCCL INFO Bootstrap : Using eth0:172.17.0.2<0>",
        "NCCL version 2.20.5+cuda12.4",
        "NCCL INFO NET/IB : No device found.",
        "NCCL INFO Using network Socket",
        "NCCL INFO Channel 00/0 : 1[1] -> 0[0] via P2P/direct pointer/read",
    ]


def test_a_healthy_single_node_p2p_log_has_no_findings() -> None:
    logs = [log(A100_CONTAINER, 0), log(A100_CONTAINER, 1)]
    assert findings(logs, nnodes=1, local_ranks={"gpu-a": 2}) == []


def test_no_socket_interface_names_the_setting_and_the_host() -> None:
    [found] = findings([log(IFNAME_WRONG, host="rcvlab-A6000x4-0")], nnodes=1, local_ranks={})
    assert found.status is Status.FAIL and found.id == "distributed.nccl.interface"
    assert found.summary == (
        "NCCL found no network interface to use on rcvlab-A6000x4-0 (NCCL_SOCKET_IFNAME=eth0)"
    )
    assert found.fix is not None and found.fix.startswith("ip -br addr on rcvlab-A6000x4-0")


def test_a_full_dev_shm_is_a_failure_with_docker_s_fix() -> None:
    [found] = findings([log(SHM_FULL, host="3d3e22c3066f")], nnodes=1, local_ranks={})
    assert found.status is Status.FAIL
    assert found.summary.startswith("NCCL could not create its shared memory in /dev/shm on 3d3e")
    assert found.fix is not None and "--shm-size=1g" in found.fix


def test_tcp_between_nodes_is_a_warning_only_across_nodes_and_unless_chosen() -> None:
    logs = [log(TWO_NODES_TCP, 0, "vm-1"), log(TWO_NODES_TCP, 8, "vm-2")]
    [found] = findings(logs, nnodes=2, local_ranks={"vm-1": 8, "vm-2": 8})
    assert found.status is Status.WARN and found.id == "distributed.nccl.network"
    assert "not InfiniBand/RoCE, on vm-1, vm-2" in found.summary
    assert findings(logs, nnodes=1, local_ranks={"vm-1": 8}) == []
    chosen = "NCCL INFO NCCL_IB_DISABLE set by environment to 1.\n" + TWO_NODES_TCP
    assert findings([log(chosen)], nnodes=2, local_ranks={}) == []


def test_gpus_that_exchange_through_shm_are_a_warning_with_the_reason() -> None:
    logs = [log(P2P_DISABLED, 0, "proxmox"), log(P2P_DISABLED, 1, "proxmox")]
    [found] = findings(logs, nnodes=1, local_ranks={"proxmox": 2})
    assert found.status is Status.WARN
    assert found.summary == (
        "the GPUs on proxmox exchange data through host memory (SHM), not P2P: "
        "NCCL_P2P_DISABLE=1 is set"
    )
    without_env = P2P_DISABLED.splitlines()[-1]
    [unset] = findings(
        [log(without_env, 0, "vm"), log(without_env, 1, "vm")], nnodes=1, local_ranks={"vm": 2}
    )
    assert "cannot reach each other directly" in unset.summary


def test_a_rank_stuck_while_p2p_was_in_use_suggests_turning_p2p_off() -> None:
    stuck = [log(A100_CONTAINER, 0, stuck=True), log(A100_CONTAINER, 1)]
    [found] = findings(stuck, nnodes=1, local_ranks={"gpu-a": 2})
    assert found.id == "distributed.nccl.p2p-hang"
    assert found.fix is not None and found.fix.startswith("NCCL_P2P_DISABLE=1 chatenv smoke-test")


def test_another_nccl_warning_is_passed_on_as_it_was_written() -> None:
    text = "gpu-a:1:1 [0] NCCL WARN Cuda failure 'peer access is not supported between these two"
    text += " devices'\n"
    [found] = findings([log(text)], nnodes=1, local_ranks={})
    assert found.summary == (
        "NCCL warned on gpu-a (rank 0): Cuda failure 'peer access is not supported between these "
        "two devices'"
    )


def test_a_small_shm_is_named_per_host() -> None:
    [found] = shm_finding({"gpu-a": 64 * 2**20, "gpu-b": 2**34}, {"gpu-a": 8, "gpu-b": 8})
    assert found.summary.startswith("/dev/shm on gpu-a is 64 MiB for 8 GPU ranks")
    assert shm_finding({"gpu-a": 64 * 2**20}, {"gpu-a": 1}) == []


def test_the_log_is_asked_for_unless_the_user_chose_a_file() -> None:
    env: dict[str, str] = {}
    assert prepare_log(env, "/logs")
    assert env == {"NCCL_DEBUG": "INFO", "NCCL_DEBUG_FILE": "/logs/nccl.%h.%p.log"}
    theirs = {"NCCL_DEBUG": "WARN", "NCCL_DEBUG_FILE": "/mine/nccl.log"}
    assert not prepare_log(theirs, "/logs")
    assert theirs == {"NCCL_DEBUG": "WARN", "NCCL_DEBUG_FILE": "/mine/nccl.log"}
    level_only = {"NCCL_DEBUG": "WARN"}
    assert prepare_log(level_only, "/logs") and level_only["NCCL_DEBUG"] == "WARN"
