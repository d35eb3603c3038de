"""A rank that misbehaves on purpose, for the distributed smoke tests: real processes, real
torchrun, real gloo; only the rank's conduct is changed, through the `Hooks` seam of
chatenv.smoke.distributed.rank.

    python distributed_faults.py launch FAULT [chatenv options...]
        be chatenv on a node, with this script as torchrun's worker program (prints the report
        as JSON, exits with its code)
    python distributed_faults.py worker FAULT [worker options...]
        be the worker torchrun starts (what `launch` hands torchrun)
    python distributed_faults.py rank FAULT
        be one rank under a launcher (RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set by the
        test); prints the report as JSON when it is rank 0

FAULT is KIND@STAGE:RANK: `exit@broadcast:1` (rank 1 exits with code 7 before the broadcast),
`hang@allreduce:1` (rank 1 sleeps before the all-reduce), `wrong@allreduce:1` (rank 1 adds one
to what it contributes), `none`.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Any

HERE = os.path.abspath(__file__)
EXIT_CODE = 7


@dataclass(frozen=True)
class Fault:
    kind: str
    stage: str
    rank: int

    @classmethod
    def parse(cls, text: str) -> Fault:
        if text == "none":
            return cls("none", "", -1)
        kind, _, rest = text.partition("@")
        stage, _, rank = rest.partition(":")
        return cls(kind, stage, int(rank))

    @property
    def mine(self) -> bool:
        return int(os.environ["RANK"]) == self.rank

    def before(self, stage: str) -> None:
        if not self.mine or stage != self.stage:
            return
        if self.kind == "exit":
            sys.stderr.write(f"rank {self.rank}: exiting on purpose before {stage}\n")
            sys.stderr.flush()
            os._exit(EXIT_CODE)
        if self.kind == "hang":
            while True:
                time.sleep(1)

    def contribution(self, values: Any) -> Any:
        if self.mine and self.kind == "wrong":
            return values + 1
        return values


def main(argv: list[str]) -> int:
    mode, fault_text, *rest = argv
    fault = Fault.parse(fault_text)
    if mode == "worker":
        from chatenv.smoke.distributed import worker

        return worker.main(rest, hooks=fault)
    from chatenv import output
    from chatenv.smoke import distributed
    from chatenv.smoke.distributed.options import DistributedRequest

    options = dict(zip(rest[::2], rest[1::2], strict=True))
    request = DistributedRequest(
        nproc=int(options["--nproc"]) if "--nproc" in options else None,
        rdzv_timeout_s=float(options.get("--rdzv-timeout", 30)),
        timeout_s=float(options.get("--timeout", 10)),
        backend="gloo",
    )
    if mode == "launch":
        report = distributed.run(request, worker=(HERE, "worker", fault_text))
    else:
        report = distributed.run(request, hooks=fault)
    output.render(report, fmt="json")
    return report.exit_code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
