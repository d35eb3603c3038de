"""`chatenv smoke-test --distributed`: do all the GPUs and nodes talk to each other, and how fast?

Through torch.distributed, as the training jobs that run on the cluster do: `options` decides who
starts the ranks (chatenv through torchrun, or another launcher already did), `launch` runs them
and collects what they left in the control store (`control`), `rank` is each rank's part, `report`
and `nccl` turn what was found into the report's lines. torch is imported inside the functions
that need it; nothing here is reached by `--help` or `doctor`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from chatenv.smoke.common import no_progress

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from chatenv.results import Report
    from chatenv.smoke.common import Progress
    from chatenv.smoke.distributed.options import DistributedRequest
    from chatenv.smoke.distributed.rank import Hooks

SECTION = "distributed"


def run(
    request: DistributedRequest,
    progress: Progress = no_progress,
    *,
    env: Mapping[str, str] | None = None,
    worker: Sequence[str] | None = None,
    hooks: Hooks | None = None,
) -> Report:
    """The distributed stage on this process: launch this node's workers, or be one rank of a
    job another launcher started. `worker` (what torchrun runs) and `hooks` (how a rank
    misbehaves) are for tests."""
    from chatenv.smoke.distributed import launch
    from chatenv.smoke.distributed.options import Launcher, plan

    decided = plan(request, os.environ if env is None else env)
    if isinstance(decided, Launcher):
        return launch.as_rank(request, decided, progress, hooks)
    return launch.launch(request, decided, progress, launch.WORKER if worker is None else worker)


def from_cli(
    *,
    distributed: bool,
    train: bool,
    nproc: int | None,
    nnodes: int | None,
    node_rank: int | None,
    rdzv_endpoint: str | None,
    backend: str | None,
    rdzv_timeout: float | None,
    timeout: float,
    show_progress: bool,
) -> Report | None:
    """`chatenv smoke-test`'s distributed options: the report of a --distributed run, or None
    (no --distributed: the other stages run) after checking no distributed option was given."""
    from chatenv import output
    from chatenv.problems import problem
    from chatenv.smoke.distributed.options import DEFAULT_RDZV_TIMEOUT, DistributedRequest

    given = {
        "--nproc": nproc,
        "--nnodes": nnodes,
        "--node-rank": node_rank,
        "--rdzv-endpoint": rdzv_endpoint,
        "--backend": backend,
        "--rdzv-timeout": rdzv_timeout,
    }
    if not distributed:
        named = [name for name, value in given.items() if value is not None]
        if named:
            raise problem("dist.needs-distributed").error(options=", ".join(named))
        return None
    if train:
        raise problem("dist.with-train").error()
    request = DistributedRequest(
        nproc=nproc,
        nnodes=nnodes,
        node_rank=node_rank,
        rdzv_endpoint=rdzv_endpoint,
        backend=backend or "auto",
        rdzv_timeout_s=rdzv_timeout if rdzv_timeout is not None else DEFAULT_RDZV_TIMEOUT,
        timeout_s=timeout,
    )
    with output.smoke_progress(enabled=show_progress) as progress:
        return run(request, progress)
