"""One entry of the table of problems (`chatenv.problems`): what the user reads, what the
troubleshooting page explains, and how the code turns it into a result or an error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from chatenv.records import dataclass

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from chatenv.errors import ChatenvError
    from chatenv.results import CheckResult, Status

#: how a problem shows up: a failed/warned/skipped result in a report, or the command stopping
#: with one error line (exit 1) or a usage error (exit 2)
Level = Literal["fail", "warn", "skip", "error", "usage"]
LEVELS: tuple[Level, ...] = ("fail", "warn", "skip", "error", "usage")

#: values every template may use without the code passing them
CONSTANTS: Mapping[str, str] = {
    "KEYS_PAGE": "https://platform.openai.com/api-keys",
    "BILLING_PAGE": "https://platform.openai.com/settings/organization/billing",
    "LIMITS_PAGE": "https://platform.openai.com/settings/organization/limits",
    "COUNTRIES_PAGE": "https://platform.openai.com/docs/supported-countries",
    "MODELS_PAGE": "https://platform.openai.com/docs/models",
    "STATUS_PAGE": "https://status.openai.com",
    "ISSUES_PAGE": "https://github.com/chatenv/chatenv/issues",
    # chatenv-cli is not on PyPI yet (and `pip install chatenv` installs another project):
    # until it is, chatenv installs from its repository
    "CHATENV_INSTALL": "pip install 'chatenv-cli @ git+https://github.com/chatenv/chatenv'",
    "SETTINGS_PAGE": "https://platform.openai.com/settings",
    "UV_INSTALL_PAGE": "https://docs.astral.sh/uv/getting-started/installation/",
}

#: keyword arguments of `Problem.check` that are not template values
CHECK_KEYWORDS = frozenset({"details", "data", "section"})


@dataclass(frozen=True)
class Problem:
    """One thing that can go wrong, as the user meets it and as the docs explain it."""

    id: str
    #: the commands that can report it ("doctor", "install", ...)
    commands: tuple[str, ...]
    #: where it belongs on the troubleshooting page, under its first command ("GPU and driver")
    area: str
    levels: tuple[Level, ...]
    #: a heading for the page: what is wrong, in a few words
    title: str
    #: the line chatenv prints (template)
    message: str
    #: why it happens, in a sentence or two, for the page
    cause: str
    #: what to paste or do (template); None when there is nothing to do but read the message
    fix: str | None = None

    def fields(self, which: Literal["message", "fix", "both"] = "both") -> frozenset[str]:
        """The values a template needs from the code (constants excluded)."""
        texts = {"message": [self.message], "fix": [self.fix or ""]}.get(
            which, [self.message, self.fix or ""]
        )
        return frozenset(name for text in texts for name in _names(text) if name not in CONSTANTS)

    def text(self, **values: Any) -> str:
        """The message with `values` filled in."""
        return _fill(self.message, values)

    def fix_for(self, **values: Any) -> str | None:
        """The fix with `values` filled in; None when the problem has none (or it comes out
        empty: a fix passed on from another problem that had none)."""
        if self.fix is None:
            return None
        from chatenv.problems.invocation import tailor

        return tailor(_fill(self.fix, values)) or None

    def pair(self, **values: Any) -> tuple[str, str | None]:
        """(message, fix), both filled in."""
        return _fill(self.message, values), self.fix_for(**values)

    def check(
        self,
        status: Status,
        check_id: str,
        *,
        details: Iterable[str] = (),
        data: Mapping[str, Any] | None = None,
        section: str = "",
        **values: Any,
    ) -> CheckResult:
        """A result in a report, its summary and fix from this entry."""
        from chatenv.results import CheckResult

        message, fix = self.pair(**values)
        return CheckResult(
            id=check_id,
            status=status,
            summary=message,
            section=section,
            details=tuple(details),
            fix=fix,
            data=dict(data or {}),
        )

    def error(self, kind: type[ChatenvError] | None = None, **values: Any) -> ChatenvError:
        """The exception that stops the command with this message and fix (`raise` it)."""
        if kind is None:
            from chatenv.errors import ChatenvError, UsageError

            kind = UsageError if self.levels == ("usage",) else ChatenvError
        message, fix = self.pair(**values)
        return kind(message, fix=fix)


def _names(template: str) -> list[str]:
    import string  # here: its Template class compiles an expression on import, for nothing else

    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


def _fill(template: str, values: Mapping[str, Any]) -> str:
    return template.format_map({**CONSTANTS, **values})
