"""Does the API accept this key? One `GET /models` (no tokens spent), short timeout, no retries.

The answer is one of four outcomes, and the mode says what each means for saving the key:

- valid: the server listed the models (or rate-limited the request, which it does only after
  accepting the key);
- invalid: the server looked and said no (401, 403, 429 insufficient_quota, LiteLLM's 400
  no_db_connection), or the base URL is not an OpenAI-compatible API (404, a malformed answer,
  Azure's per-deployment URL);
- unverified: nothing was learnt (cannot connect, timeout, 5xx, openai not installed);
- skipped: --no-verify.

Mode AUTO (the default) verifies and, when the network or server cannot be reached, saves the
key unverified with a warning: "default on when the network is reachable", decided by the
attempt itself rather than a separate probe. Mode ON (--verify) treats unverified as failed.
A failed verification does not save the key unless the caller says --save-anyway.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from chatenv.api.calls import list_models
from chatenv.api.failures import FailureKind, base_url_failure, classify
from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.results import CheckResult, Status
from chatenv.system.openai_client import DEFAULT_TIMEOUT_S, make_client

if TYPE_CHECKING:
    from chatenv.api.calls import ModelList
    from chatenv.api.failures import ApiFailure
    from chatenv.keys.config import OpenAIConfig

#: failures that say nothing about the key itself: the server's answer was inconclusive
#: (failures.INCONCLUSIVE), or the client was missing or too old to ask
_NO_CLIENT = (FailureKind.OPENAI_MISSING, FailureKind.OPENAI_TOO_OLD)


class VerifyMode(str, Enum):
    AUTO = "auto"
    ON = "on"
    OFF = "off"


class Outcome(str, Enum):
    VALID = "valid"
    INVALID = "invalid"
    UNVERIFIED = "unverified"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Verification:
    mode: VerifyMode
    outcome: Outcome
    base_url: str
    models: ModelList | None = None
    failure: ApiFailure | None = None

    @property
    def failed(self) -> bool:
        """The key must not be saved (without --save-anyway)."""
        return self.outcome is Outcome.INVALID or (
            self.outcome is Outcome.UNVERIFIED and self.mode is VerifyMode.ON
        )

    def result(self, *, saved_anyway: bool = False) -> CheckResult:
        where = self.base_url
        if self.outcome is Outcome.SKIPPED:
            return problem("key.not-verified").check(Status.SKIP, "verify")
        if self.outcome is Outcome.VALID and self.models is not None:
            ms = round(self.models.latency_s * 1000)
            count = len(self.models.model_ids)
            return CheckResult.ok(
                "verify",
                f"key accepted by {where}: {count} model{'s' if count != 1 else ''} visible "
                f"({ms} ms)",
                data=self.to_json(),
            )
        failure = self.failure
        assert failure is not None
        reason, api_fix = failure.summary, failure.fix or ""
        if self.outcome is Outcome.VALID:  # rate limited: the key was accepted
            return problem("key.accepted-rate-limited").check(
                Status.WARN,
                "verify",
                data=self.to_json(),
                where=where,
                reason=reason,
                api_fix=api_fix,
            )
        kept = " (saved anyway)" if saved_anyway else " (not saved)"
        if self.outcome is Outcome.UNVERIFIED and not self.failed:
            return problem("key.unverified-saved").check(
                Status.WARN, "verify", data=self.to_json(), reason=reason, api_fix=api_fix
            )
        if self.outcome is Outcome.UNVERIFIED:
            return problem("key.unverified").check(
                Status.FAIL,
                "verify",
                data=self.to_json(),
                reason=reason,
                kept=kept,
                api_fix=api_fix,
            )
        return problem("key.refused").check(
            Status.FAIL, "verify", data=self.to_json(), reason=reason, kept=kept, api_fix=api_fix
        )

    def to_json(self) -> dict[str, Any]:
        models = self.models
        return {
            "mode": self.mode.value,
            "outcome": self.outcome.value,
            "base_url": self.base_url,
            "model_count": len(models.model_ids) if models else None,
            "latency_ms": round(models.latency_s * 1000) if models else None,
            "request_id": models.request_id if models else None,
            "failure": self.failure.to_json() if self.failure else None,
        }


def verify(
    config: OpenAIConfig, mode: VerifyMode, *, timeout: float = DEFAULT_TIMEOUT_S
) -> Verification:
    if mode is VerifyMode.OFF:
        return Verification(mode, Outcome.SKIPPED, config.effective_base_url)
    unusable = base_url_failure(config.effective_base_url)
    if unusable is not None:  # Azure's per-deployment URL: every call would be refused
        return Verification(mode, Outcome.INVALID, config.effective_base_url, failure=unusable)
    try:
        models = list_models(make_client(config, timeout=timeout, max_retries=0))
    except Exception as exc:
        failure = classify(exc)
        if failure.kind is FailureKind.RATE_LIMITED:
            outcome = Outcome.VALID
        elif failure.inconclusive or failure.kind in _NO_CLIENT:
            outcome = Outcome.UNVERIFIED
        else:
            outcome = Outcome.INVALID
        return Verification(mode, outcome, config.effective_base_url, failure=failure)
    return Verification(mode, Outcome.VALID, config.effective_base_url, models=models)
