"""Does the hub accept this Hugging Face token? `hf auth whoami`'s one request
(`GET /api/whoami-v2`, `chatenv.system.hub_client`), short timeout, no retries, to HF_ENDPOINT.

The outcomes and what the mode makes of them are the OpenAI key's (`keys.verify`): accepted is
valid; a 401 is invalid (not saved without --save-anyway); no answer, a 5xx or a rate limit is
unverified (saved with a warning by default, a failure with --verify); --no-verify skips.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatenv.keys.verify import Outcome, VerifyMode
from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.results import CheckResult, Status
from chatenv.system import hub_client
from chatenv.system.hub_client import TokenState

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chatenv.keys.mask import Secret
    from chatenv.system.hub_client import WhoAmI


@dataclass(frozen=True)
class HfVerification:
    mode: VerifyMode
    outcome: Outcome
    endpoint: str
    whoami: WhoAmI | None = None

    @property
    def failed(self) -> bool:
        """The token must not be saved (without --save-anyway)."""
        return self.outcome is Outcome.INVALID or (
            self.outcome is Outcome.UNVERIFIED and self.mode is VerifyMode.ON
        )

    def result(self, *, saved_anyway: bool = False) -> CheckResult:
        answer = self.whoami
        if self.outcome is Outcome.SKIPPED or answer is None:
            return problem("key.not-verified").check(Status.SKIP, "verify")
        data = self.to_json()
        if self.outcome is Outcome.VALID:
            role = f", {answer.role}" if answer.role else ""
            name = f" (token '{answer.token_name}'{role})" if answer.token_name else ""
            return CheckResult.ok(
                "verify",
                f"token accepted by {self.endpoint}: {answer.user}{name} "
                f"({round(answer.elapsed_s * 1000)} ms)",
                data=data,
            )
        kept = " (saved anyway)" if saved_anyway else " (not saved)"
        endpoint, reason = self.endpoint, answer.reason
        if self.outcome is Outcome.INVALID:
            return problem("key.hf-refused").check(
                Status.FAIL, "verify", data=data, kept=kept, endpoint=endpoint, reason=reason
            )
        if not self.failed:
            return problem("key.hf-unverified-saved").check(
                Status.WARN, "verify", data=data, endpoint=endpoint, reason=reason
            )
        return problem("key.hf-unverified").check(
            Status.FAIL, "verify", data=data, kept=kept, endpoint=endpoint, reason=reason
        )

    def to_json(self) -> dict[str, Any]:
        answer = self.whoami
        return {
            "mode": self.mode.value,
            "outcome": self.outcome.value,
            "base_url": self.endpoint,
            "model_count": None,
            "latency_ms": round(answer.elapsed_s * 1000) if answer else None,
            "request_id": None,
            "failure": {"reason": answer.reason} if answer and answer.reason else None,
            "whoami": answer.to_json() if answer else None,
        }


_OUTCOMES = {
    TokenState.ACCEPTED: Outcome.VALID,
    TokenState.REJECTED: Outcome.INVALID,
    TokenState.UNVERIFIED: Outcome.UNVERIFIED,
}


def verify_hf(
    token: Secret, mode: VerifyMode, *, environ: Mapping[str, str], timeout: float
) -> HfVerification:
    endpoint = hub_client.endpoint(environ)
    if mode is VerifyMode.OFF:
        return HfVerification(mode, Outcome.SKIPPED, endpoint)
    answer = hub_client.whoami(endpoint, token, environ=environ, timeout=timeout)
    return HfVerification(mode, _OUTCOMES[answer.state], endpoint, answer)
