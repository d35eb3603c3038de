"""The data every command produces: plain, JSON-serialisable results.

Checks and stages return these; only `chatenv.output` turns them into text.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any

from chatenv import records
from chatenv.records import dataclass, field

if TYPE_CHECKING:
    from collections.abc import Iterable

#: Version of the JSON documents chatenv prints with --json. Bump on a breaking change.
SCHEMA_VERSION = 1


class Status(str, Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    """One finding: what was looked at, how it went, and (when not ok) the fix to paste."""

    id: str
    status: Status
    summary: str
    section: str = ""
    details: tuple[str, ...] = ()
    fix: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def ok(cls, id: str, summary: str, **kw: Any) -> CheckResult:
        return cls._make(id, Status.OK, summary, **kw)

    @classmethod
    def warn(cls, id: str, summary: str, **kw: Any) -> CheckResult:
        return cls._make(id, Status.WARN, summary, **kw)

    @classmethod
    def fail(cls, id: str, summary: str, **kw: Any) -> CheckResult:
        return cls._make(id, Status.FAIL, summary, **kw)

    @classmethod
    def skip(cls, id: str, summary: str, **kw: Any) -> CheckResult:
        return cls._make(id, Status.SKIP, summary, **kw)

    @classmethod
    def _make(
        cls,
        id: str,
        status: Status,
        summary: str,
        *,
        section: str = "",
        details: Iterable[str] = (),
        fix: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> CheckResult:
        return cls(
            id=id,
            status=status,
            summary=summary,
            section=section,
            details=tuple(details),
            fix=fix,
            data=dict(data or {}),
        )

    def in_section(self, section: str) -> CheckResult:
        return self if self.section else records.replace(self, section=section)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "section": self.section,
            "status": self.status.value,
            "summary": self.summary,
            "details": list(self.details),
            "fix": self.fix,
            "data": _jsonable(self.data),
        }


@dataclass(frozen=True)
class CommandError:
    """How a command stopped when it could not finish its report: chatenv's one line, the fix
    and the exit code (1; 2 for bad input; 130 for Ctrl-C)."""

    message: str
    fix: str | None
    exit_code: int

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "fix": self.fix}


@dataclass(frozen=True)
class Report:
    """What a command hands to the renderer: its results and any command-level data."""

    command: str
    results: tuple[CheckResult, ...]
    strict: bool = False
    data: Mapping[str, Any] = field(default_factory=dict)
    #: set when the command stopped with an error instead of finishing (its exit code wins)
    error: CommandError | None = None
    #: who prints the report instead of this process ("rank 0", "node 0"): a follower rank or
    #: node of a distributed run prints nothing on stdout, so that the job's output (srun's,
    #: say) holds one report; only its failures go to stderr
    shown_by: str | None = None

    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for r in self.results:
            counts[r.status.value] += 1
        return counts

    @property
    def exit_code(self) -> int:
        """0 when nothing failed; 1 when something did (or, under --strict, warned); the
        error's own code when the command stopped with one."""
        if self.error is not None:
            return self.error.exit_code
        bad = {Status.FAIL, Status.WARN} if self.strict else {Status.FAIL}
        return 1 if any(r.status in bad for r in self.results) else 0

    def to_json(self) -> dict[str, Any]:
        from chatenv import __version__

        document = {
            "schema": SCHEMA_VERSION,
            "command": self.command,
            "chatenv_version": __version__,
            # which machine said this: reports from many nodes get merged (docs/ci.md)
            "host": _hostname(),
            "ok": self.exit_code == 0,
            "exit_code": self.exit_code,
            "counts": self.counts(),
            "results": [r.to_json() for r in self.results],
            **_jsonable(self.data),
        }
        if self.error is not None:
            document["error"] = self.error.to_json()
        return document


def _hostname() -> str:
    """socket.gethostname(), which is uname's node name wherever there is uname (without
    importing socket: ~2 ms of every doctor run)."""
    import os

    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def _jsonable(value: Any) -> Any:
    """Make tuples, enums, dataclasses and paths JSON-friendly without a custom encoder."""
    if isinstance(value, Enum):
        return value.value
    if records.is_dataclass(value) and not isinstance(value, type):
        to_json = getattr(value, "to_json", None)
        if callable(to_json):
            return to_json()
        return {f.name: _jsonable(getattr(value, f.name)) for f in records.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
