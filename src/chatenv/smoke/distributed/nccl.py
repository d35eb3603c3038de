"""NCCL's own log, turned into lines a person can act on.

Every worker runs with `NCCL_DEBUG=INFO` and `NCCL_DEBUG_FILE=<logs>/nccl.%h.%p.log` (NCCL
fills in the host and the pid), unless the user chose those already. At its end a rank keeps
the lines that matter (`excerpt`) and sends them with its result; `findings` reads them across
ranks. The patterns are NCCL's own messages (src/bootstrap.cc, src/misc/shmutils.cc,
src/transport/net_ib.cc, the "Channel ... via" transport lines); tests/smoke/test_nccl.py holds
lines recorded from real machines.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.results import Status

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, MutableMapping, Sequence

    from chatenv.results import CheckResult

SECTION = "distributed"
MAX_LINES = 40
#: NCCL's troubleshooting guide asks containers for --shm-size=1g; Docker's default is 64 MB
SHM_ENOUGH = 512 * 2**20

_KEEP = re.compile(
    r"NCCL WARN|NCCL version|NET/IB : No device found|NET/IB ?: Using|Using network \w+"
    r"|NCCL_\w+ set by environment to|Bootstrap ?: Using| via (?:P2P|SHM|NET)/"
)
#: "host:pid:tid [dev] " before NCCL's message
_PREFIX = re.compile(r"^\S+:\d+(?::\d+)? \[\d+\] ")
_TRANSPORT = re.compile(r" via ((?:P2P|SHM|NET)/[^ ]*)")
_SET_BY_ENV = re.compile(r"(NCCL_\w+) set by environment to (\S*?)\.?$")


def log_file(directory: str, host: str, pid: int) -> str:
    """Where NCCL writes this process's log under NCCL_DEBUG_FILE=<dir>/nccl.%h.%p.log."""
    return os.path.join(directory, f"nccl.{host}.{pid}.log")


def prepare_log(env: MutableMapping[str, str], directory: str) -> bool:
    """Ask NCCL for its INFO log into `directory` (before NCCL starts: it reads these once).
    False when the user chose their own NCCL_DEBUG_FILE (theirs is left alone, and not read)."""
    if env.get("NCCL_DEBUG_FILE"):
        return False
    env.setdefault("NCCL_DEBUG", "INFO")
    env["NCCL_DEBUG_FILE"] = os.path.join(directory, "nccl.%h.%p.log")
    return True


def excerpt(text: str) -> list[str]:
    """The lines worth sending: warnings, versions, the network and the transports chosen
    (one line per kind of transport, not one per channel)."""
    kept: list[str] = []
    seen: set[str] = set()
    for raw in text.splitlines():
        if not _KEEP.search(raw):
            continue
        line = _PREFIX.sub("", raw.strip())
        transport = _TRANSPORT.search(line)
        key = f"via {transport.group(1)}" if transport else line
        if key in seen:
            continue
        seen.add(key)
        kept.append(line)
        if len(kept) >= MAX_LINES:
            break
    return kept


@dataclass(frozen=True)
class RankLog:
    """One rank's excerpt and where it ran."""

    rank: int
    host: str
    lines: tuple[str, ...]
    #: this rank hung or timed out in a collective
    stuck: bool = False


def findings(
    logs: Sequence[RankLog], *, nnodes: int, local_ranks: Mapping[str, int]
) -> list[CheckResult]:
    """NCCL's common failures, each its own line and fix. `local_ranks`: ranks per host."""
    found: list[CheckResult] = []
    found += _no_interface(logs)
    found += _shm_failed(logs)
    if nnodes > 1:
        found += _no_infiniband(logs)
    found += _p2p_off(logs, local_ranks)
    found += _p2p_suspect(logs)
    found += _other_warnings(logs, already=bool(found))
    return found


def _lines(logs: Iterable[RankLog], needle: str) -> list[tuple[RankLog, str]]:
    return [(log, line) for log in logs for line in log.lines if needle in line]


def _env_setting(log: RankLog, name: str) -> str | None:
    for line in log.lines:
        match = _SET_BY_ENV.search(line)
        if match and match.group(1) == name:
            return match.group(2)
    return None


def _no_interface(logs: Sequence[RankLog]) -> list[CheckResult]:
    hits = _lines(logs, "no socket interface found") + _lines(
        logs, "No usable listening interface found"
    )
    if not hits:
        return []
    log, line = hits[0]
    value = _env_setting(log, "NCCL_SOCKET_IFNAME")
    return [
        problem("dist.nccl-no-interface").check(
            Status.FAIL,
            f"{SECTION}.nccl.interface",
            section=SECTION,
            details=[f"rank {log.rank} ({log.host}): {line}"],
            host=log.host,
            setting=f"NCCL_SOCKET_IFNAME={value}" if value else "NCCL_SOCKET_IFNAME unset",
        )
    ]


def _shm_failed(logs: Sequence[RankLog]) -> list[CheckResult]:
    hits = _lines(logs, "failed to extend /dev/shm") + _lines(logs, "creating shared memory")
    if not hits:
        return []
    log, line = hits[0]
    return [
        problem("dist.nccl-shm").check(
            Status.FAIL,
            f"{SECTION}.nccl.shm",
            section=SECTION,
            details=[f"rank {log.rank} ({log.host}): {line}"],
            host=log.host,
        )
    ]


def _no_infiniband(logs: Sequence[RankLog]) -> list[CheckResult]:
    socket_hosts = sorted(
        {
            log.host
            for log in logs
            if any("NET/IB : No device found" in line for line in log.lines)
            and any("Using network Socket" in line for line in log.lines)
            and _env_setting(log, "NCCL_IB_DISABLE") != "1"
        }
    )
    if not socket_hosts:
        return []
    return [
        problem("dist.nccl-no-ib").check(
            Status.WARN,
            f"{SECTION}.nccl.network",
            section=SECTION,
            hosts=", ".join(socket_hosts),
            host=socket_hosts[0],
        )
    ]


def _p2p_off(logs: Sequence[RankLog], local_ranks: Mapping[str, int]) -> list[CheckResult]:
    for host in sorted(h for h, n in local_ranks.items() if n > 1):
        mine = [log for log in logs if log.host == host]
        lines = [line for log in mine for line in log.lines]
        if not any(" via SHM/" in line for line in lines) or any(
            " via P2P/" in line for line in lines
        ):
            continue
        disabled = any(_env_setting(log, "NCCL_P2P_DISABLE") == "1" for log in mine)
        reason = (
            "NCCL_P2P_DISABLE=1 is set"
            if disabled
            else "the GPUs cannot reach each other directly (a VM whose GPUs are passed through "
            "without peer access, or a board without P2P between these slots)"
        )
        return [
            problem("dist.nccl-p2p-off").check(
                Status.WARN, f"{SECTION}.nccl.p2p", section=SECTION, host=host, reason=reason
            )
        ]
    return []


def _p2p_suspect(logs: Sequence[RankLog]) -> list[CheckResult]:
    stuck = [log for log in logs if log.stuck and any(" via P2P/" in line for line in log.lines)]
    if not stuck:
        return []
    return [
        problem("dist.nccl-p2p-suspect").check(
            Status.WARN,
            f"{SECTION}.nccl.p2p-hang",
            section=SECTION,
            host=stuck[0].host,
        )
    ]


def _other_warnings(logs: Sequence[RankLog], *, already: bool) -> list[CheckResult]:
    if already:
        return []
    hits = [(log, line) for log, line in _lines(logs, "NCCL WARN")]
    if not hits:
        return []
    log, line = hits[0]
    return [
        problem("dist.nccl-warning").check(
            Status.WARN,
            f"{SECTION}.nccl.warning",
            section=SECTION,
            details=[f"rank {h.rank} ({h.host}): {text}" for h, text in hits[:8]],
            host=log.host,
            rank=log.rank,
            line=line.split("NCCL WARN", 1)[1].strip(),
        )
    ]


def shm_finding(
    shm_bytes: Mapping[str, int | None], local_ranks: Mapping[str, int]
) -> list[CheckResult]:
    """A /dev/shm smaller than NCCL wants, on a host with more than one GPU rank."""
    small = sorted(
        (host, size)
        for host, size in shm_bytes.items()
        if size is not None and size < SHM_ENOUGH and local_ranks.get(host, 0) > 1
    )
    if not small:
        return []
    host, size = small[0]
    return [
        problem("dist.shm-small").check(
            Status.WARN,
            f"{SECTION}.shm",
            section=SECTION,
            details=[f"{h}: /dev/shm is {s / 2**20:.0f} MiB" for h, s in small],
            host=host,
            size=f"{size / 2**20:.0f} MiB",
            ranks=local_ranks[host],
        )
    ]
