"""The program torchrun starts for every rank when chatenv launches the workers:

    python -m torch.distributed.run ... -m chatenv.smoke.distributed.worker \\
        --chatenv-control HOST:PORT --chatenv-run RUN_ID --chatenv-node K ...

torchrun gives it RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; the options say
where chatenv's control store is and how long each stage may take. They all start with
--chatenv-: torchrun's own parser reads the whole command line and takes any unambiguous prefix
of its options (`--node` would be its --node-rank). It prints nothing that
matters: what it found goes to the store, for the chatenv on node 0 to report.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chatenv.smoke.distributed.rank import Hooks


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m chatenv.smoke.distributed.worker")
    p.add_argument("--chatenv-control", required=True, help="HOST:PORT of chatenv's control store")
    p.add_argument("--chatenv-run", required=True, help="the run's id (the store's key prefix)")
    p.add_argument("--chatenv-node", type=int, required=True, help="this node's --node-rank")
    p.add_argument("--chatenv-backend", choices=("nccl", "gloo"), required=True)
    p.add_argument("--chatenv-timeout", type=float, required=True, help="seconds per collective")
    p.add_argument("--chatenv-rdzv-timeout", type=float, required=True, help="seconds to arrive")
    p.add_argument(
        "--chatenv-deadline", type=float, required=True, help="seconds before the watchdog ends it"
    )
    p.add_argument("--chatenv-nccl-log-dir", default=None)
    return p


def main(argv: Sequence[str] | None = None, hooks: Hooks | None = None) -> int:
    from chatenv.smoke.distributed import nccl
    from chatenv.smoke.distributed.control import connect, quiet_torch_logs
    from chatenv.smoke.distributed.options import parse_endpoint
    from chatenv.smoke.distributed.rank import NO_HOOKS, Identity, Settings, run_rank

    args = parser().parse_args(argv)
    log_dir = args.chatenv_nccl_log_dir
    if log_dir and not nccl.prepare_log(os.environ, log_dir):
        log_dir = None
    quiet_torch_logs()
    identity = Identity(
        rank=int(os.environ["RANK"]),
        world_size=int(os.environ["WORLD_SIZE"]),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        node=args.chatenv_node,
        pg_init="env",
    )
    settings = Settings(
        backend=args.chatenv_backend,
        timeout_s=args.chatenv_timeout,
        rdzv_timeout_s=args.chatenv_rdzv_timeout,
        deadline_s=args.chatenv_deadline,
        nccl_log_dir=log_dir,
    )
    control = connect(
        parse_endpoint(args.chatenv_control), args.chatenv_rdzv_timeout, run_id=args.chatenv_run
    )
    result = run_rank(identity, control, settings, hooks or NO_HOOKS)
    sys.stdout.flush()
    sys.stderr.flush()
    if result["status"] != "ok":
        # a process group left after a failure can hang at interpreter exit (NCCL's
        # communicator teardown waits for peers that are gone): leave without it
        os._exit(1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
