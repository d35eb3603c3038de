"""Ask the installer what it would do, without installing anything.

pip: `pip install --dry-run --quiet --report -` prints a JSON installation report on stdout
(https://pip.pypa.io/en/stable/reference/installation-report/): each entry of "install" is a
distribution that would be installed, with its metadata and where it comes from. uv has no
report; `uv pip install --dry-run` lists ` + name==version` / ` - name==version` lines on stderr
(astral-sh/uv `crates/uv/src/commands/pip/loggers.rs`). Both read package metadata only (PEP 658
files on PyPI and download.pytorch.org), so a plan never downloads a torch wheel.
"""

from __future__ import annotations

import json
import re
from enum import Enum
from typing import TYPE_CHECKING, Any

from chatenv.install.installer import command
from chatenv.names import canonicalize_name
from chatenv.records import dataclass, field
from chatenv.system import proc

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.install.installer import Installer, Step

PLAN_TIMEOUT = 300.0


class Outcome(str, Enum):
    RESOLVED = "resolved"
    UNREACHABLE = "unreachable"  # an index could not be reached at all
    NO_MATCH = "no-match"  # reachable, but nothing satisfies the requirements
    FAILED = "failed"


@dataclass(frozen=True)
class Resolved:
    name: str  # canonical
    version: str
    source: str | None = None  # where the installer would fetch it from

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "source": self.source}


@dataclass(frozen=True)
class Resolution:
    step: str
    outcome: Outcome
    installs: tuple[Resolved, ...] = ()
    removes: tuple[Resolved, ...] = ()
    message: str | None = None  # one line for a failed resolution
    #: indexes that did not answer while others did (pip fell back to its other sources)
    unreachable: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    output: str = field(default="", repr=False)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.RESOLVED

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "outcome": self.outcome.value,
            "installs": [r.to_json() for r in self.installs],
            "removes": [r.to_json() for r in self.removes],
            "message": self.message,
            "unreachable": list(self.unreachable),
            "command": list(self.command),
        }


# Connection failures as pip (urllib3/requests) and uv (reqwest/hyper) word them.
_NETWORK = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Name or service not known|"
    r"Temporary failure in name resolution|nodename nor servname|getaddrinfo failed|"
    r"Connection refused|ConnectTimeout|ConnectionResetError|Network is unreachable|"
    r"No route to host|ProxyError|Max retries exceeded|Could not fetch URL|"
    r"dns error|client error \(Connect\)|error sending request|tcp connect error|"
    r"operation timed out|Failed to fetch",
    re.IGNORECASE,
)
_HOST = re.compile(r"(?:host='([^']+)'|https?://([^/\s'`\"]+))")


def classify_failure(text: str) -> Outcome:
    if _NETWORK.search(text):
        return Outcome.UNREACHABLE
    if re.search(
        r"No matching distribution|Could not find a version|No solution found|"
        r"ResolutionImpossible|conflicting dependencies|not found in the package registry|"
        r"was not found in the package",
        text,
        re.IGNORECASE,
    ):
        return Outcome.NO_MATCH
    return Outcome.FAILED


def failure_line(text: str) -> str:
    """The installer's own one-line reason: pip's last `ERROR:` line, uv's `error:` + cause."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("ERROR:"):
            return line.removeprefix("ERROR:").strip()
    for i, line in enumerate(lines):
        if line.startswith("error:"):
            causes = [
                c.removeprefix("Caused by:").strip() for c in lines[i + 1 :] if "Caused by" in c
            ]
            first = line.removeprefix("error:").strip()
            return f"{first}: {causes[-1]}" if causes else first
    for line in reversed(lines):
        if "ERROR" in line or "error" in line:
            return line
    return lines[-1] if lines else "no output"


def network_reason(text: str) -> str | None:
    """The operating system's words for the first connection failure ("Connection refused")."""
    for line in text.splitlines():
        found = _NETWORK.search(line)
        if not found:
            continue
        errno = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", line)
        if errno:
            return errno.group(1).strip()
        dns = re.search(r"dns error: ([^\n]+)", line)
        return dns.group(1).strip() if dns else found.group(0)
    return None


def unreachable_hosts(text: str) -> tuple[str, ...]:
    """The hosts named in connection-failure lines ("download.pytorch.org")."""
    hosts: list[str] = []
    for line in text.splitlines():
        if not _NETWORK.search(line):
            continue
        for match in _HOST.finditer(line):
            host = match.group(1) or match.group(2)
            if host and host not in hosts:
                hosts.append(host)
    return tuple(hosts)


def parse_pip_report(text: str) -> tuple[Resolved, ...]:
    report = json.loads(text)
    out = []
    for item in report.get("install", []):
        meta = item.get("metadata", {})
        url = (item.get("download_info") or {}).get("url")
        out.append(Resolved(canonicalize_name(meta["name"]), str(meta["version"]), url))
    return tuple(out)


_UV_LINE = re.compile(r"^\s*([+\-~])\s+([A-Za-z0-9._-]+)\s*(?:==\s*(\S+)|@\s*(\S+))?")


def parse_uv_dry_run(text: str) -> tuple[tuple[Resolved, ...], tuple[Resolved, ...]]:
    """` + openai==1.99.0` lines are installs, ` - ` removals; ` ~ ` is a reinstall (both)."""
    installs: list[Resolved] = []
    removes: list[Resolved] = []
    for line in text.splitlines():
        m = _UV_LINE.match(line)
        if not m:
            continue
        sign, name, version, url = m.groups()
        item = Resolved(canonicalize_name(name), version or "", url)
        if sign in "+~":
            installs.append(item)
        if sign in "-~":
            removes.append(item)
    return tuple(installs), tuple(removes)


def dry_run(
    installer: Installer,
    step: Step,
    *,
    constraints_file: Path | None,
    runner: proc.Runner = proc.run,
    timeout: float = PLAN_TIMEOUT,
) -> Resolution:
    """Run one step as a dry run and say what it would change."""
    args = command(installer, step, constraints_file=constraints_file, dry_run=True)
    env = proc.child_env(NO_COLOR="1", UV_HTTP_RETRIES="1", PIP_NO_INPUT="1")
    result = runner(args, timeout=timeout, env=env)
    output = (result.stdout + "\n" + result.stderr) if installer.kind == "uv" else result.stderr

    def made(outcome: Outcome, **kw: Any) -> Resolution:
        return Resolution(step.name, outcome, command=tuple(args), output=output, **kw)

    if result.not_found:
        return made(Outcome.FAILED, message=result.stderr.strip())
    if result.timed_out:
        return made(
            Outcome.UNREACHABLE,
            message=f"the installer did not finish resolving within {timeout:.0f} s",
        )
    if not result.ok:
        text = result.stdout + "\n" + result.stderr
        outcome = classify_failure(text)
        message = failure_line(text)
        if outcome is Outcome.UNREACHABLE:
            message = network_reason(text) or message
        return made(outcome, message=message, unreachable=unreachable_hosts(text))
    try:
        if installer.kind == "uv":
            installs, removes = parse_uv_dry_run(result.stderr + "\n" + result.stdout)
        else:
            installs, removes = parse_pip_report(result.stdout), ()
    except (ValueError, KeyError) as exc:
        return made(Outcome.FAILED, message=f"could not read the installer's report: {exc}")
    return made(
        Outcome.RESOLVED,
        installs=installs,
        removes=removes,
        unreachable=unreachable_hosts(result.stderr),
    )
