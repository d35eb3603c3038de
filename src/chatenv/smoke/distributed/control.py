"""The control store: where every rank and every node says what it is doing, so that whoever
writes the report can name the rank that never arrived, crashed or hangs, with its host and its
last stage, even when that rank can no longer answer.

It is a c10d `TCPStore` (the key-value server torch's own rendezvous uses), keys under
`chatenv/<run id>/`:

    node/<k>          a node's chatenv: host, pid, workers           (chatenv launches)
    node/<k>/done     its torchrun ended: return code, exit code per rank, last stderr lines
    go                node 0 saw every node: the backend and timeouts all use
    rank/<r>/info     a rank arrived: host, device, versions
    rank/<r>/stage    the stage it is in
    rank/<r>/beat     a counter its watchdog thread raises every HEARTBEAT_S
    rank/<r>/result   its final word: passed, failed (the error) or aborted
    abort             a rank or node gave up: everyone stops instead of waiting out a timeout

When chatenv launches, node 0's chatenv hosts the store at --rdzv-endpoint and torchrun's c10d
rendezvous uses the same one (`is_host=false`), so the store outlives every worker. Under another
launcher, torchrun's agent store is used, or rank 0 hosts one at MASTER_ADDR:MASTER_PORT, as
`init_process_group("env://")` would.
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chatenv.records import dataclass

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chatenv.smoke.distributed.options import Endpoint

#: the one key outside the run's prefix: node 0 names the run there, other nodes read it
RUN_KEY = "chatenv/run"
HEARTBEAT_S = 0.5
#: a rank whose heartbeat has not moved for this long is gone (exited, killed, frozen)
GONE_AFTER_S = 3.0


class Unreachable(Exception):
    """Nothing usable answered at the endpoint in time; `reason` says what happened."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PortTaken(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def quiet_torch_logs() -> None:
    """c10d logs every retried connection with a C++ stack trace on stderr: keep that off the
    user's terminal (it has to be set before torch is imported; an explicit setting wins)."""
    import sys

    if "torch" not in sys.modules:
        os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "FATAL")


class Control:
    """The run's keys in the store, as JSON. Each thread that talks to the store needs its own
    `Control` (`clone`): one client connection is one conversation."""

    def __init__(self, store: Any, endpoint: Endpoint, run_id: str, timeout_s: float) -> None:
        dist = _dist()
        self.raw = store
        self.endpoint = endpoint
        self.run_id = run_id
        self.timeout_s = timeout_s
        self._store = dist.PrefixStore(f"chatenv/{run_id}", store)

    def put(self, key: str, value: Any) -> None:
        self._store.set(key, json.dumps(value))

    def get(self, key: str) -> Any:
        """The value, or None when nobody wrote it yet."""
        if not self._store.check([key]):
            return None
        return json.loads(self._store.get(key))

    def get_many(self, keys: Sequence[str]) -> list[Any]:
        return [self.get(key) for key in keys]

    def add(self, key: str, amount: int) -> int:
        return int(self._store.add(key, amount))

    def has(self, key: str) -> bool:
        return bool(self._store.check([key]))

    def counter(self, key: str) -> int:
        """A counter's value (0 when nobody raised it yet)."""
        return int(self._store.add(key, 0))

    def clone(self) -> Control:
        """A second client of the same store, for another thread."""
        store = _client(self.endpoint, self.timeout_s)
        return Control(store, self.endpoint, self.run_id, self.timeout_s)


def host(endpoint: Endpoint, run_id: str, timeout_s: float) -> Control:
    """Listen at the endpoint's port (0: any free one; `control.endpoint` then has it)."""
    from chatenv.smoke.distributed.options import Endpoint as _Endpoint

    dist = _dist()
    try:
        store = dist.TCPStore(
            endpoint.host,
            endpoint.port,
            None,
            True,
            timedelta(seconds=timeout_s),
            wait_for_workers=False,
            multi_tenant=True,
        )
    except RuntimeError as exc:
        raise PortTaken(_reason(exc)) from None
    bound = _Endpoint(endpoint.host, int(store.port))
    store.set(RUN_KEY, run_id)
    return Control(store, bound, run_id, timeout_s)


def connect(endpoint: Endpoint, timeout_s: float, run_id: str | None = None) -> Control:
    """A client of the store at `endpoint`, trying until `timeout_s` has passed; the run id from
    the store itself when not given (node 0 wrote it there)."""
    deadline = time.monotonic() + timeout_s
    store = _client_when_up(endpoint, deadline)
    if run_id is None:
        run_id = _run_id(store, deadline)
    return Control(store, endpoint, run_id, timeout_s)


def _client_when_up(endpoint: Endpoint, deadline: float) -> Any:
    reason = "no answer"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Unreachable(reason)
        found = _probe(endpoint, min(left, 2.0))
        if found is None:
            try:
                return _client(endpoint, max(left, 1.0))
            except RuntimeError as exc:
                raise Unreachable(_store_reason(exc)) from None
        reason = found
        time.sleep(min(0.25, max(deadline - time.monotonic(), 0)))


def _probe(endpoint: Endpoint, timeout_s: float) -> str | None:
    """None when something accepts a connection there; else why not, in words."""
    try:
        socket.getaddrinfo(endpoint.host, endpoint.port)
    except socket.gaierror:
        return f"{endpoint.host} does not resolve to an address"
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout_s):
            return None
    except ConnectionRefusedError:
        return f"connection refused: nothing listens on port {endpoint.port}"
    except TimeoutError:
        return "no answer: the packets are dropped (a firewall) or the address is wrong"
    except OSError as exc:
        return exc.strerror or str(exc)


def _dist() -> Any:
    """torch.distributed, loosely typed: its stores are re-exported from torch._C, which mypy's
    strict mode does not count as exported."""
    import torch.distributed

    return torch.distributed


def _client(endpoint: Endpoint, timeout_s: float) -> Any:
    return _dist().TCPStore(
        endpoint.host,
        endpoint.port,
        None,
        False,
        timedelta(seconds=timeout_s),
        wait_for_workers=False,
    )


def _run_id(store: Any, deadline: float) -> str:
    while not store.check([RUN_KEY]):
        if time.monotonic() > deadline:
            raise Unreachable("a store answers there, but no chatenv run was started on it")
        time.sleep(0.1)
    return str(store.get(RUN_KEY).decode())


def _store_reason(exc: BaseException) -> str:
    text = _reason(exc)
    if "Ping failed" in text or "invalid value returned" in text:
        return "something else answers on that port (not a torch/chatenv rendezvous)"
    return text


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if "EADDRINUSE" in text or "address already in use" in text:
        return "address already in use"
    return text.split(" Exception raised from ")[0][:200]


# -- what the store holds about ranks ------------------------------------------------------------


@dataclass
class Liveness:
    """Whether each rank's heartbeat still moves, as one reader sees it over time (the
    counters are compared, never clocks: nodes' clocks disagree)."""

    last: dict[int, int]
    changed_at: dict[int, float]

    @classmethod
    def start(cls) -> Liveness:
        return cls({}, {})

    def update(self, beats: Sequence[Any]) -> None:
        now = time.monotonic()
        for rank, beat in enumerate(beats):
            value = int(beat) if beat is not None else -1
            if self.last.get(rank) != value:
                self.last[rank] = value
                self.changed_at[rank] = now

    def gone(self, rank: int) -> bool:
        changed = self.changed_at.get(rank)
        return changed is not None and time.monotonic() - changed > GONE_AFTER_S


def beats(control: Control, world_size: int) -> list[Any]:
    """Every rank's heartbeat counter; None where the store would not answer."""
    values: list[Any] = []
    for rank in range(world_size):
        try:
            values.append(control.counter(f"rank/{rank}/beat"))
        except RuntimeError:
            values.append(None)
    return values
