"""Running the ranks, and collecting what they found.

`launch`: chatenv starts this node's workers through torch's own launcher, `python -m
torch.distributed.run` (torchrun) with the c10d rendezvous. Node 0's chatenv hosts the store the
rendezvous and the ranks meet in (at --rdzv-endpoint, or a free port on 127.0.0.1 for one node):
every node's chatenv checks in there first, so a node that never comes is named before torchrun
starts, and the store outlives every worker, so node 0 can still read what a crashed rank said.
torchrun runs with `--max-restarts 0` (a smoke test reports the first failure rather than
retrying it) and its own log in a folder that is kept when something failed.

`as_rank`: another launcher started this process as one rank (torchrun, srun, a PyTorchJob); it
runs its stages, and rank 0 waits for every rank's word and writes the report.
"""

from __future__ import annotations

import contextlib
import glob
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from typing import TYPE_CHECKING, Any

from chatenv.problems import problem
from chatenv.records import dataclass, field
from chatenv.results import CheckResult, Report, Status
from chatenv.smoke.distributed import control as ctl
from chatenv.smoke.distributed import nccl, report
from chatenv.smoke.distributed.options import DEFAULT_CPU_WORKERS, Endpoint
from chatenv.smoke.distributed.rank import ARRIVED, NO_HOOKS, Identity, Settings, run_rank

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from chatenv.smoke.common import Progress
    from chatenv.smoke.distributed.options import DistributedRequest, Launcher, NodePlan
    from chatenv.smoke.distributed.rank import Hooks

COMMAND = "smoke-test"
SECTION = "distributed"
#: what torchrun starts on every rank: `-m` is torchrun's own flag (run a module)
WORKER = ("-m", "chatenv.smoke.distributed.worker")
#: seconds torchrun gives a worker between SIGTERM and SIGKILL when one rank failed
SHUTDOWN_S = 3
#: the bandwidth stage's allowance in a rank's deadline (its collectives are bounded each)
BANDWIDTH_ALLOWANCE_S = 120.0


@dataclass(frozen=True)
class Budget:
    """How long each part may take, from the two timeouts the user gives."""

    rdzv_s: float
    timeout_s: float

    @property
    def rank_deadline_s(self) -> float:
        """A rank's watchdog ends it after this, whatever it is doing."""
        return self.rdzv_s + 8 * self.timeout_s + BANDWIDTH_ALLOWANCE_S

    @property
    def job_deadline_s(self) -> float:
        """chatenv stops torchrun after this: torchrun's own rendezvous, then the ranks."""
        return self.rdzv_s + self.rank_deadline_s + SHUTDOWN_S + 10


# -- chatenv launches --------------------------------------------------------------------------


def launch(
    request: DistributedRequest,
    plan: NodePlan,
    progress: Progress,
    worker: Sequence[str] = WORKER,
) -> Report:
    """This node's part of a run chatenv launches: node 0 returns the report, another node a
    report of its own ranks that node 0's chatenv prints in full."""
    torch = import_torch()
    backend = choose_backend(request.backend, torch)
    nproc = choose_nproc(plan.nproc, backend, torch)
    budget = Budget(request.rdzv_timeout_s, request.timeout_s)
    node = Node(plan, budget, backend, nproc, progress)
    try:
        return node.run(worker)
    finally:
        node.close()


@dataclass
class Node:
    plan: NodePlan
    budget: Budget
    backend: str
    nproc: int
    progress: Progress
    logs: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="chatenv-distributed-"))
    started: float = field(default_factory=time.monotonic)
    keep_logs: bool = False
    world_size: int = 0
    arrived_s: float | None = None

    @property
    def k(self) -> int:
        return self.plan.node_rank

    def run(self, worker: Sequence[str]) -> Report:
        endpoint = self.plan.endpoint or Endpoint("127.0.0.1", 0)
        joined = self._join(endpoint)
        if isinstance(joined, Report):
            return joined
        control = joined
        settings = self._check_in(control)
        if isinstance(settings, Report):
            return settings
        done = self._torchrun(control, worker)
        if self.k != 0:
            return self._follower(done)
        dones = self._wait_for_nodes(control)
        world = read_world(
            control,
            self.world_size,
            launcher=f"torchrun, {self.plan.nnodes} node{'s' if self.plan.nnodes > 1 else ''}",
            backend=self.backend,
            nnodes=self.plan.nnodes,
            budget=self.budget,
            dones=dones,
            logs=self.logs,
            arrived_s=self.arrived_s,
        )
        return self._report(world, done)

    def close(self) -> None:
        if not self.keep_logs:
            shutil.rmtree(self.logs, ignore_errors=True)

    # -- meeting the other nodes

    def _join(self, endpoint: Endpoint) -> ctl.Control | Report:
        self.progress(f"rendezvous at {endpoint}")
        try:
            if self.k == 0:
                return ctl.host(endpoint, uuid.uuid4().hex[:12], self.budget.timeout_s)
            return ctl.connect(endpoint, self.budget.rdzv_s)
        except ctl.PortTaken as exc:
            raise problem("dist.port-taken").error(port=endpoint.port, reason=exc.reason) from None
        except ctl.Unreachable as exc:
            return self._failed(
                problem("dist.endpoint-unreachable").check(
                    Status.FAIL,
                    f"{SECTION}.rendezvous",
                    section=SECTION,
                    endpoint=str(endpoint),
                    timeout=self.budget.rdzv_s,
                    reason=exc.reason,
                    host=endpoint.host,
                    port=endpoint.port,
                )
            )

    def _check_in(self, control: ctl.Control) -> dict[str, Any] | Report:
        """Every node says it is here; node 0 waits for all, then says go (with the world size
        and the backend every node uses)."""
        nnodes = self.plan.nnodes
        if control.add(f"node/{self.k}/claims", 1) > 1:
            return self._failed(
                problem("dist.node-rank-taken").check(
                    Status.FAIL,
                    f"{SECTION}.rendezvous",
                    section=SECTION,
                    node=self.k,
                    endpoint=str(control.endpoint),
                )
            )
        control.put(f"node/{self.k}", self._node_info())
        if self.k != 0:
            return self._wait_for_go(control)
        if nnodes > 1:
            self.progress(f"waiting for {nnodes} nodes at {control.endpoint}")
        deadline = time.monotonic() + self.budget.rdzv_s
        nodes = control.get_many([f"node/{k}" for k in range(nnodes)])
        while any(n is None for n in nodes) and time.monotonic() < deadline:
            time.sleep(0.1)
            nodes = control.get_many([f"node/{k}" for k in range(nnodes)])
        missing = [k for k, found in enumerate(nodes) if found is None]
        if missing:
            control.put("abort", {"by": "node 0", "reason": "nodes never arrived"})
            return self._failed(
                problem("dist.nodes-missing").check(
                    Status.FAIL,
                    f"{SECTION}.rendezvous",
                    section=SECTION,
                    details=[
                        f"node {k}: {n['host']} with {n['nproc']} workers"
                        if n
                        else f"node {k}: missing"
                        for k, n in enumerate(nodes)
                    ],
                    count=len(missing),
                    nnodes=nnodes,
                    endpoint=str(control.endpoint),
                    timeout=self.budget.rdzv_s,
                    nodes=report.named(missing, "node"),
                    host=control.endpoint.host,
                    port=control.endpoint.port,
                )
            )
        other = [n for n in nodes if n and n["backend"] != self.backend]
        if other:
            control.put("abort", {"by": "node 0", "reason": "the nodes chose different backends"})
            return self._failed(
                problem("dist.backend-mismatch").check(
                    Status.FAIL,
                    f"{SECTION}.rendezvous",
                    section=SECTION,
                    node=other[0]["node"],
                    host=other[0]["host"],
                    backend=other[0]["backend"],
                    ours=self.backend,
                )
            )
        self.world_size = sum(int(n["nproc"]) for n in nodes if n)
        settings = {"backend": self.backend, "world_size": self.world_size}
        control.put("go", settings)
        return settings

    def _wait_for_go(self, control: ctl.Control) -> dict[str, Any] | Report:
        self.progress(f"waiting for node 0 at {control.endpoint}")
        deadline = time.monotonic() + self.budget.rdzv_s + 5
        while time.monotonic() < deadline:
            go = control.get("go")
            if go is not None:
                self.world_size = int(go["world_size"])
                return dict(go)
            if control.has("abort"):
                break
            time.sleep(0.1)
        return self._failed(
            problem("dist.no-go").check(
                Status.FAIL,
                f"{SECTION}.rendezvous",
                section=SECTION,
                endpoint=str(control.endpoint),
                node=self.k,
            )
        )

    def _node_info(self) -> dict[str, Any]:
        from chatenv import __version__

        return {
            "node": self.k,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "nproc": self.nproc,
            "backend": self.backend,
            "chatenv": __version__,
        }

    # -- torchrun

    def _torchrun(self, control: ctl.Control, worker: Sequence[str]) -> dict[str, Any]:
        command = torchrun_command(
            endpoint=control.endpoint,
            run_id=control.run_id,
            nnodes=self.plan.nnodes,
            nproc=self.nproc,
            node=self.k,
            backend=self.backend,
            budget=self.budget,
            logs=self.logs,
            worker=worker,
        )
        self.progress(f"running {self.nproc} workers through torchrun")
        log_path = os.path.join(self.logs, "torchrun.log")
        with open(log_path, "w", encoding="utf-8") as log:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=torchrun_env(os.environ),
                start_new_session=True,
            )
            try:
                timed_out = self._wait(proc, control)
            except BaseException:  # Ctrl-C: torchrun runs in a session of its own, stop it
                _stop(proc, control)
                raise
        if timed_out:
            _put_abort(control, f"node {self.k}", "the job's deadline passed")
            self._kill_leftovers(control)
        with open(log_path, encoding="utf-8", errors="replace") as log:
            text = log.read()
        exits = parse_exits(text)
        done = {
            "returncode": proc.returncode,
            "timed_out": timed_out,
            "exits": {str(rank): code for rank, (_, code) in exits.items()},
            "tails": {
                str(rank): tail
                for rank, (local, _) in exits.items()
                if (tail := stderr_tail(self.logs, local)) is not None
            },
            "launcher_error": launcher_error(text) if proc.returncode else None,
            "logs": self.logs,
        }
        control.put(f"node/{self.k}/done", done)
        if proc.returncode != 0:
            self.keep_logs = True
            _put_abort(control, f"node {self.k}", f"torchrun on node {self.k} failed")
        return done

    def _wait(self, proc: subprocess.Popen[bytes], control: ctl.Control) -> bool:
        """Until torchrun ends; node 0 notes when every rank has arrived. True when chatenv had
        to stop torchrun at the deadline."""
        deadline = time.monotonic() + self.budget.job_deadline_s
        watching = self.k == 0
        while time.monotonic() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.2)
                return False
            if watching and control.counter(ARRIVED) >= self.world_size:
                self.arrived_s = time.monotonic() - self.started
                watching = False
        _stop(proc, control)
        return True

    def _kill_leftovers(self, control: ctl.Control) -> None:
        """Workers start in sessions of their own: after torchrun is gone, end those of this node
        that are still there (their pids are in the store; only this run's)."""
        host = socket.gethostname()
        for info in control.get_many([f"rank/{r}/info" for r in range(self.world_size)]):
            if info and info.get("host") == host and info.get("node") == self.k:
                with contextlib.suppress(OSError, AttributeError):
                    os.killpg(int(info["pid"]), signal.SIGKILL)

    def _wait_for_nodes(self, control: ctl.Control) -> list[Any]:
        """Node 0: every node's torchrun has ended (after an abort they end within seconds)."""
        keys = [f"node/{k}/done" for k in range(self.plan.nnodes)]
        deadline = time.monotonic() + self.budget.timeout_s + 15
        dones = control.get_many(keys)
        if any(d is None for d in dones):
            self.progress("waiting for the other nodes to finish")
        while any(d is None for d in dones) and time.monotonic() < deadline:
            time.sleep(0.2)
            dones = control.get_many(keys)
        return dones

    # -- reports

    def _report(self, world: report.World, done: Mapping[str, Any]) -> Report:
        found = report.results(world)
        if done.get("launcher_error") and not any(rank.info for rank in world.ranks):
            found.insert(
                1,
                problem("dist.torchrun-failed").check(
                    Status.FAIL,
                    f"{SECTION}.torchrun",
                    section=SECTION,
                    details=[f"log: {self.logs}"],
                    error=str(done["launcher_error"]),
                    logs=self.logs,
                ),
            )
        if any(r.status is Status.FAIL for r in found):
            self.keep_logs = True
        return build_report(found, world, self.logs if self.keep_logs else None)

    def _failed(self, result: CheckResult) -> Report:
        return Report(
            command=COMMAND,
            results=(result,),
            data={"stages": {SECTION: "fail"}, SECTION: {"node_rank": self.k}},
        )

    def _follower(self, done: Mapping[str, Any]) -> Report:
        """Another node: one line about its own workers; node 0's chatenv prints the report."""
        host = socket.gethostname()
        rc = int(done["returncode"])
        data = {"stages": {SECTION: "ok" if rc == 0 else "fail"}, SECTION: {"node_rank": self.k}}
        if rc == 0:
            result = CheckResult.ok(
                f"{SECTION}.node",
                f"node {self.k} ({host}): {self.nproc} workers passed; node 0 prints the report",
                section=SECTION,
            )
        else:
            self.keep_logs = True
            result = problem("dist.node-failed").check(
                Status.FAIL,
                f"{SECTION}.node",
                section=SECTION,
                node=self.k,
                host=host,
                code=rc,
                logs=self.logs,
            )
        return Report(COMMAND, (result,), data=data, shown_by="node 0")


def torchrun_command(
    *,
    endpoint: Endpoint,
    run_id: str,
    nnodes: int,
    nproc: int,
    node: int,
    backend: str,
    budget: Budget,
    logs: str,
    worker: Sequence[str],
) -> list[str]:
    """torchrun as a user would run it on this node, the c10d rendezvous at node 0's store."""
    wait = math.ceil(budget.rdzv_s)
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        str(nnodes),
        "--nproc-per-node",
        str(nproc),
        "--rdzv-backend",
        "c10d",
        "--rdzv-endpoint",
        str(endpoint),
        "--rdzv-id",
        run_id,
        # chatenv's own store is the rendezvous store: no torchrun hosts one
        "--rdzv-conf",
        f"is_host=false,join_timeout={wait},read_timeout={wait}",
        "--max-restarts",
        "0",
        "--monitor-interval",
        "0.2",
        "--shutdown-timeout",
        str(SHUTDOWN_S),
        "--log-dir",
        os.path.join(logs, "workers"),
        "--redirects",
        "3",
        *worker,
        "--chatenv-control",
        str(endpoint),
        "--chatenv-run",
        run_id,
        "--chatenv-node",
        str(node),
        "--chatenv-backend",
        backend,
        "--chatenv-timeout",
        f"{budget.timeout_s:g}",
        "--chatenv-rdzv-timeout",
        f"{budget.rdzv_s:g}",
        "--chatenv-deadline",
        f"{budget.rank_deadline_s:g}",
        "--chatenv-nccl-log-dir",
        logs,
    ]


def torchrun_env(environ: Mapping[str, str]) -> dict[str, str]:
    env = dict(environ)
    # what torchrun sets itself (with a banner on stderr) when it starts more than one worker
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _stop(proc: subprocess.Popen[bytes], control: ctl.Control) -> None:
    """The deadline: SIGTERM (torchrun stops its workers), SIGKILL after a grace."""
    _put_abort(control, "chatenv", "the job's deadline passed")
    _signal(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=SHUTDOWN_S + 5)
    except subprocess.TimeoutExpired:
        _signal(proc, getattr(signal, "SIGKILL", signal.SIGTERM))
        proc.wait()


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, OSError):
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)


def _put_abort(control: ctl.Control, by: str, reason: str) -> None:
    with contextlib.suppress(RuntimeError):
        if not control.has("abort"):
            control.put("abort", {"by": by, "reason": reason})


_EXIT = re.compile(r"rank\s*:\s*(\d+) \(local_rank: (\d+)\)\s*\n\s*exitcode\s*:\s*(-?\d+)")


def parse_exits(text: str) -> dict[int, tuple[int, int]]:
    """torchrun's failure summary (ChildFailedError): global rank → (local rank, exit code)."""
    return {int(m.group(1)): (int(m.group(2)), int(m.group(3))) for m in _EXIT.finditer(text)}


def launcher_error(text: str) -> str | None:
    """The last exception line torchrun itself printed (a rendezvous that failed, say)."""
    lines = [
        line.strip()
        for line in text.splitlines()
        if re.match(r"^[\w.]+(Error|Exception): ", line.strip())
    ]
    return lines[-1][:300] if lines else None


def stderr_tail(logs: str, local_rank: int) -> str | None:
    """The last line a worker wrote on stderr (torchrun --redirects keeps it per local rank:
    <log-dir>/<run>_<random>/attempt_0/<local rank>/stderr.log)."""
    paths = glob.glob(
        os.path.join(logs, "workers", "*", "attempt_0", str(local_rank), "stderr.log")
    )
    for path in paths:
        with contextlib.suppress(OSError), open(path, encoding="utf-8", errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
            if lines:
                return lines[-1][:300]
    return None


# -- under another launcher ------------------------------------------------------------------


def as_rank(
    request: DistributedRequest,
    launcher: Launcher,
    progress: Progress,
    hooks: Hooks | None = None,
) -> Report:
    """This process is one rank: run the stages; rank 0 then reports for every rank."""
    # a folder of this process's own: ranks of one host (and users of one machine) stay apart
    logs = tempfile.mkdtemp(prefix=f"chatenv-distributed-{launcher.run_id}-{launcher.rank}-")
    log_dir = logs if nccl.prepare_log(os.environ, logs) else None
    torch = import_torch()
    backend = choose_backend(request.backend, torch)
    budget = Budget(request.rdzv_timeout_s, request.timeout_s)
    control = _rank_control(launcher, budget)
    if isinstance(control, Report):
        return control
    identity = Identity(
        rank=launcher.rank,
        world_size=launcher.world_size,
        local_rank=launcher.local_rank,
        node=launcher.node if launcher.node is not None else 0,
        pg_init="env" if launcher.agent_store else "store",
    )
    settings = Settings(backend, budget.timeout_s, budget.rdzv_s, budget.rank_deadline_s, log_dir)
    progress(f"rank {launcher.rank} of {launcher.world_size}")
    result = run_rank(identity, control, settings, hooks or NO_HOOKS)
    if launcher.rank != 0:
        if result["status"] == "ok":
            shutil.rmtree(logs, ignore_errors=True)
        return _rank_follower(launcher, result)
    progress("waiting for every rank's result")
    liveness = _wait_for_results(control, launcher.world_size, budget)
    world = read_world(
        control,
        launcher.world_size,
        launcher=launcher.description,
        backend=backend,
        nnodes=_nodes(control, launcher.world_size),
        budget=budget,
        liveness=liveness,
        logs=logs,
        arrived_s=None,
    )
    found = report.results(world)
    failed = any(r.status is Status.FAIL for r in found)
    if not failed:
        shutil.rmtree(logs, ignore_errors=True)
    return build_report(found, world, logs if failed else None)


def _rank_control(launcher: Launcher, budget: Budget) -> ctl.Control | Report:
    master = launcher.master
    try:
        if launcher.agent_store or launcher.rank != 0:
            return ctl.connect(master, budget.rdzv_s, run_id=launcher.run_id)
        return ctl.host(master, launcher.run_id, budget.timeout_s)
    except ctl.PortTaken as exc:
        raise problem("dist.port-taken").error(port=master.port, reason=exc.reason) from None
    except ctl.Unreachable as exc:
        result = problem("dist.master-unreachable").check(
            Status.FAIL,
            f"{SECTION}.rendezvous",
            section=SECTION,
            rank=launcher.rank,
            master=str(master),
            timeout=budget.rdzv_s,
            reason=exc.reason,
            host=master.host,
            port=master.port,
        )
        # rank 0 prints the job's report: another rank's failure goes to its stderr only
        shown_by = "rank 0" if launcher.rank != 0 else None
        return Report(COMMAND, (result,), data={"stages": {SECTION: "fail"}}, shown_by=shown_by)


def _wait_for_results(control: ctl.Control, world_size: int, budget: Budget) -> ctl.Liveness:
    """Until every rank has written its result or is gone (its heartbeat stopped), bounded."""
    liveness = ctl.Liveness.start()
    deadline = time.monotonic() + budget.timeout_s + ctl.GONE_AFTER_S + 10
    while time.monotonic() < deadline:
        results = [control.has(f"rank/{r}/result") for r in range(world_size)]
        liveness.update(ctl.beats(control, world_size))
        if all(done or liveness.gone(r) for r, done in enumerate(results)):
            break
        time.sleep(0.25)
    return liveness


def _nodes(control: ctl.Control, world_size: int) -> int:
    hosts = {
        (info.get("node"), info.get("host"))
        for info in control.get_many([f"rank/{r}/info" for r in range(world_size)])
        if info
    }
    return max(len(hosts), 1)


def _rank_follower(launcher: Launcher, result: Mapping[str, Any]) -> Report:
    host = socket.gethostname()
    data = {"stages": {SECTION: "ok" if result["status"] == "ok" else "fail"}}
    if result["status"] == "ok":
        line = CheckResult.ok(
            f"{SECTION}.rank", f"rank {launcher.rank} ({host}): passed", section=SECTION
        )
    else:
        line = problem("dist.rank-own-failure").check(
            Status.FAIL,
            f"{SECTION}.rank",
            section=SECTION,
            rank=launcher.rank,
            host=host,
            stage=report.STAGE_NAMES.get(str(result["stage"]), str(result["stage"])),
            error=str(result.get("error")),
        )
    return Report(COMMAND, (line,), data=data, shown_by="rank 0")


# -- shared ---------------------------------------------------------------------------------


def read_world(
    control: ctl.Control,
    world_size: int,
    *,
    launcher: str,
    backend: str,
    nnodes: int,
    budget: Budget,
    dones: Sequence[Any] = (),
    liveness: ctl.Liveness | None = None,
    logs: str | None = None,
    arrived_s: float | None = None,
) -> report.World:
    exits: dict[int, int] = {}
    tails: dict[int, str] = {}
    timed_out = False
    for done in dones:
        if done:
            exits.update({int(r): int(c) for r, c in done.get("exits", {}).items()})
            tails.update({int(r): str(t) for r, t in done.get("tails", {}).items()})
            timed_out = timed_out or bool(done.get("timed_out"))
    ranks = []
    for r in range(world_size):
        info, stage, result = control.get_many(
            [f"rank/{r}/info", f"rank/{r}/stage", f"rank/{r}/result"]
        )
        ranks.append(
            report.RankView(
                rank=r,
                info=info,
                stage=stage,
                result=result,
                gone=liveness.gone(r) if liveness else result is None,
                exit_code=exits.get(r),
                tail=tails.get(r),
            )
        )
    return report.World(
        launcher=launcher,
        backend=backend,
        world_size=world_size,
        nnodes=nnodes,
        endpoint=str(control.endpoint),
        ranks=tuple(ranks),
        timeout_s=budget.timeout_s,
        rdzv_timeout_s=budget.rdzv_s,
        arrived_s=arrived_s,
        logs=logs,
        deadline_s=budget.job_deadline_s,
        timed_out=timed_out,
    )


def build_report(found: Sequence[CheckResult], world: report.World, logs: str | None) -> Report:
    worst = next(
        (
            s.value
            for s in (Status.FAIL, Status.WARN, Status.OK)
            if any(r.status is s for r in found)
        ),
        "skip",
    )
    return Report(
        command=COMMAND,
        results=tuple(found),
        data={
            "stages": {SECTION: worst},
            SECTION: {
                "launcher": world.launcher,
                "backend": world.backend,
                "world_size": world.world_size,
                "nnodes": world.nnodes,
                "endpoint": world.endpoint,
                "timeout_s": world.timeout_s,
                "rdzv_timeout_s": world.rdzv_timeout_s,
                "logs": logs,
            },
        },
    )


def import_torch() -> Any:
    ctl.quiet_torch_logs()
    try:
        import torch
        import torch.distributed
    except ImportError as exc:
        raise problem("dist.no-torch").error(error=str(exc)) from None
    if not torch.distributed.is_available():
        raise problem("dist.no-torch").error(error="this torch build has no torch.distributed")
    return torch


def choose_backend(requested: str, torch: Any) -> str:
    """nccl where there are GPUs and torch has NCCL, gloo elsewhere; what --backend asks."""
    if requested == "gloo":
        return "gloo"
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    has_nccl = torch.distributed.is_nccl_available()
    if requested == "nccl":
        if not has_nccl:
            raise problem("dist.nccl-unavailable").error(torch=str(torch.__version__))
        if gpus == 0:
            raise problem("dist.nccl-without-gpu").error(torch=str(torch.__version__))
        return "nccl"
    return "nccl" if gpus and has_nccl else "gloo"


def choose_nproc(nproc: int | None, backend: str, torch: Any) -> int:
    if backend != "nccl":
        return nproc or DEFAULT_CPU_WORKERS
    gpus = int(torch.cuda.device_count())
    if nproc is None:
        return gpus
    if nproc > gpus:
        raise problem("dist.nproc-over-gpus").error(nproc=nproc, gpus=gpus)
    return nproc
