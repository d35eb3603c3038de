"""What the distributed stage was asked to do, and who starts the ranks: pure functions over the
command line and the environment, so a test can hand them any cluster's variables.

Two ways to run:

- chatenv starts the workers itself, through torch's own launcher (`python -m
  torch.distributed.run`, torchrun): one per GPU, or `--nproc` CPU workers; with `--nnodes N
  --node-rank K --rdzv-endpoint HOST:PORT` on every node, as a torchrun per node would;
- chatenv *is* one rank of a job another launcher started: torchrun (`RANK`, `WORLD_SIZE`,
  `MASTER_ADDR`, ... and `TORCHELASTIC_RUN_ID`), Slurm's srun (`SLURM_PROCID`,
  `SLURM_STEP_NUM_TASKS`, ...) or a Kubernetes PyTorchJob (the training operator sets `RANK`,
  `WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT` in every pod).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chatenv.problems import problem
from chatenv.records import dataclass

if TYPE_CHECKING:
    from collections.abc import Mapping

BACKENDS = ("auto", "nccl", "gloo")
#: seconds every node and rank gets to arrive (torchrun's own default join_timeout is 600 s)
DEFAULT_RDZV_TIMEOUT = 60.0
#: seconds one collective may take before it counts as hung (the process group's timeout)
DEFAULT_TIMEOUT = 10.0
#: CPU workers when there is no GPU and --nproc is not given
DEFAULT_CPU_WORKERS = 2
#: MASTER_PORT under srun when the job does not set it: 15000 + the job id's last four digits, as
#: Lightning's SLURMEnvironment derives it (every task of the job computes the same port)
SLURM_PORT_BASE = 15000


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class DistributedRequest:
    """The command line of `chatenv smoke-test --distributed` (None: not given)."""

    nproc: int | None = None
    nnodes: int | None = None
    node_rank: int | None = None
    rdzv_endpoint: str | None = None
    backend: str = "auto"
    rdzv_timeout_s: float = DEFAULT_RDZV_TIMEOUT
    timeout_s: float = DEFAULT_TIMEOUT

    @property
    def launch_options(self) -> tuple[str, ...]:
        """The options that only mean something when chatenv starts the workers."""
        given = {
            "--nproc": self.nproc,
            "--nnodes": self.nnodes,
            "--node-rank": self.node_rank,
            "--rdzv-endpoint": self.rdzv_endpoint,
        }
        return tuple(name for name, value in given.items() if value is not None)


@dataclass(frozen=True)
class NodePlan:
    """chatenv starts this node's workers through torchrun."""

    nnodes: int
    node_rank: int
    #: where node 0 listens; None on a single node (a free port on 127.0.0.1)
    endpoint: Endpoint | None
    #: None: one per GPU with NCCL, else DEFAULT_CPU_WORKERS
    nproc: int | None


@dataclass(frozen=True)
class Launcher:
    """This process is one rank of a job another launcher started."""

    #: "torchrun", "slurm" or "env" (RANK/WORLD_SIZE set by something else: a PyTorchJob)
    kind: str
    rank: int
    world_size: int
    local_rank: int
    #: the node's index when the launcher says (torchrun's GROUP_RANK, Slurm's SLURM_NODEID)
    node: int | None
    master: Endpoint
    #: a name shared by every rank of the job, to keep its keys apart in the store
    run_id: str
    #: torchrun's agent already hosts a store at MASTER_ADDR:MASTER_PORT (else rank 0 hosts it)
    agent_store: bool

    @property
    def description(self) -> str:
        return {"torchrun": "torchrun", "slurm": "Slurm (srun)"}.get(self.kind, "RANK/WORLD_SIZE")


def plan(request: DistributedRequest, env: Mapping[str, str]) -> NodePlan | Launcher:
    """Who starts the ranks: the options win (chatenv launches), then a launcher's variables."""
    launcher = detect_launcher(env)
    if launcher is not None:
        if request.launch_options:
            raise problem("dist.options-under-launcher").error(
                options=", ".join(request.launch_options), launcher=launcher.description
            )
        return launcher
    return node_plan(request)


def node_plan(request: DistributedRequest) -> NodePlan:
    nnodes = request.nnodes if request.nnodes is not None else 1
    node_rank = request.node_rank if request.node_rank is not None else 0
    if node_rank >= nnodes:
        raise problem("dist.node-rank-out-of-range").error(node_rank=node_rank, nnodes=nnodes)
    endpoint = parse_endpoint(request.rdzv_endpoint) if request.rdzv_endpoint else None
    if endpoint is None and nnodes > 1:
        raise problem("dist.nnodes-without-endpoint").error(nnodes=nnodes)
    if endpoint is not None and endpoint.port == 0 and nnodes > 1:
        raise problem("dist.bad-endpoint").error(value=request.rdzv_endpoint)
    return NodePlan(nnodes, node_rank, endpoint, request.nproc)


_ENDPOINT = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9_.-]+)):(?P<port>\d{1,5})$"
)


def parse_endpoint(text: str) -> Endpoint:
    """`HOST:PORT` or `[IPv6]:PORT`, as torchrun's --rdzv-endpoint takes it."""
    match = _ENDPOINT.match(text.strip())
    port = int(match.group("port")) if match else -1
    if match is None or not 0 <= port <= 65535:
        raise problem("dist.bad-endpoint").error(value=text)
    return Endpoint(match.group("v6") or match.group("host"), port)


# -- launchers ---------------------------------------------------------------------------------


def detect_launcher(env: Mapping[str, str]) -> Launcher | None:
    """torchrun or anything else that sets RANK and WORLD_SIZE; else an srun step of more than
    one task; else None (chatenv launches). A Slurm batch script or an `srun --pty bash` shell
    is no launcher: the first has no SLURM_STEP_ID, the second a step of one task."""
    if "RANK" in env and "WORLD_SIZE" in env:
        return _from_rank_variables(env)
    if "SLURM_PROCID" in env and "SLURM_STEP_ID" in env:
        tasks = env.get("SLURM_STEP_NUM_TASKS") or env.get("SLURM_NTASKS") or "1"
        if _number(tasks, "SLURM_STEP_NUM_TASKS") > 1:
            return _from_slurm(env)
    return None


def _from_rank_variables(env: Mapping[str, str]) -> Launcher:
    rank = _number(env["RANK"], "RANK")
    world = _number(env["WORLD_SIZE"], "WORLD_SIZE")
    if world < 1 or not 0 <= rank < world:
        raise problem("dist.bad-launcher-variable").error(name="RANK", value=env["RANK"])
    addr = env.get("MASTER_ADDR", "").strip()
    port_text = env.get("MASTER_PORT", "").strip()
    if not addr or not port_text:
        raise problem("dist.master-unset").error(rank=rank, world=world)
    torchrun = "TORCHELASTIC_RUN_ID" in env
    node = env.get("GROUP_RANK") if torchrun else env.get("NODE_RANK")
    run_id = (
        env.get("TORCHELASTIC_RUN_ID", "job") + "-" + env.get("TORCHELASTIC_RESTART_COUNT", "0")
    )
    return Launcher(
        kind="torchrun" if torchrun else "env",
        rank=rank,
        world_size=world,
        local_rank=_number(env.get("LOCAL_RANK", "0"), "LOCAL_RANK"),
        node=_number(node, "GROUP_RANK") if node else None,
        master=Endpoint(addr, _port(port_text)),
        run_id=run_id,
        agent_store=env.get("TORCHELASTIC_USE_AGENT_STORE", "").lower() == "true",
    )


def _from_slurm(env: Mapping[str, str]) -> Launcher:
    world = _number(env.get("SLURM_STEP_NUM_TASKS") or env["SLURM_NTASKS"], "SLURM_STEP_NUM_TASKS")
    nodelist = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST", "")
    addr = env.get("MASTER_ADDR", "").strip() or first_host(nodelist)
    if not addr:
        raise problem("dist.slurm-no-nodelist").error()
    job = env.get("SLURM_JOB_ID", "")
    port_text = env.get("MASTER_PORT", "").strip()
    port = _port(port_text) if port_text else slurm_port(job)
    return Launcher(
        kind="slurm",
        rank=_number(env["SLURM_PROCID"], "SLURM_PROCID"),
        world_size=world,
        local_rank=_number(env.get("SLURM_LOCALID", "0"), "SLURM_LOCALID"),
        node=_number(env.get("SLURM_NODEID", "0"), "SLURM_NODEID"),
        master=Endpoint(addr, port),
        run_id=f"slurm-{job or 'job'}-{env.get('SLURM_STEP_ID', '0')}",
        agent_store=False,
    )


def slurm_port(job_id: str) -> int:
    digits = re.sub(r"\D", "", job_id)[-4:]
    return SLURM_PORT_BASE + (int(digits) if digits else 0)


def first_host(nodelist: str) -> str:
    """The first host of a Slurm hostlist: `gpu-[03-04,07]` is gpu-03, `rack[1-2]-n[01-08]`
    rack1-n01, `a,b` a (what `scontrol show hostnames` prints first)."""
    text = nodelist.strip()
    depth = 0
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            text = text[:i]
            break
    while "[" in text and "]" in text:
        head, _, rest = text.partition("[")
        inside, _, tail = rest.partition("]")
        first = inside.split(",")[0].split("-")[0]
        text = head + first + tail
    return text


def _number(text: str, name: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise problem("dist.bad-launcher-variable").error(name=name, value=text) from None


def _port(text: str) -> int:
    port = _number(text, "MASTER_PORT")
    if not 0 < port <= 65535:
        raise problem("dist.bad-launcher-variable").error(name="MASTER_PORT", value=text)
    return port
