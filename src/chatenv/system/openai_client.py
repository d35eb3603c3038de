"""The one place that builds an OpenAI client.

Every setting is passed explicitly from `OpenAIConfig`, so what chatenv checks is exactly what
the user's configuration says, and nothing is picked up behind its back. `max_retries=0` and a
short timeout: a check reports the first answer it gets, quickly, instead of retrying for a
minute. `openai` is imported here, inside the function, never at import time (`chatenv --help`
and `chatenv doctor` must not pay for it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.errors import ChatenvError
from chatenv.problems import problem

if TYPE_CHECKING:
    from openai import OpenAI

    from chatenv.keys.config import OpenAIConfig

#: seconds; a check that needs longer than this is reported as a timeout
DEFAULT_TIMEOUT_S = 10.0
#: the openai releases chatenv is written for (the v1 client API)
OPENAI_REQUIREMENT = "openai>=1.40,<4"


def is_openai_host(host: str | None) -> bool:
    """OpenAI's own API (as opposed to vLLM, Ollama, LiteLLM or another compatible server)."""
    return bool(host) and (host == "openai.com" or str(host).endswith(".openai.com"))


class OpenAIClientError(ChatenvError):
    """The client cannot be built at all (no key, no or an old openai package)."""


class NoApiKeyError(OpenAIClientError):
    def __init__(self) -> None:
        message, fix = problem("api.no-key").pair()
        super().__init__(message, fix=fix)


class OpenAIMissingError(OpenAIClientError):
    def __init__(self) -> None:
        message, fix = problem("api.openai-missing").pair()
        super().__init__(message, fix=fix)


class OpenAITooOldError(OpenAIClientError):
    """openai < 1.0: `import openai` works but there is no `openai.OpenAI` client class."""

    def __init__(self, version: str) -> None:
        message, fix = problem("api.openai-too-old").pair(
            version=version, requirement=OPENAI_REQUIREMENT
        )
        super().__init__(message, fix=fix)
        self.version = version


def make_client(
    config: OpenAIConfig,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    max_retries: int = 0,
) -> OpenAI:
    """An `openai.OpenAI` client for `config`; an OpenAIClientError when none can be built."""
    if config.key is None or not config.key.reveal():
        raise NoApiKeyError()
    try:
        import openai
    except ImportError:
        raise OpenAIMissingError() from None
    client_class = getattr(openai, "OpenAI", None)
    if client_class is None:  # openai 0.x: module-level functions, no client class
        raise OpenAITooOldError(str(getattr(openai, "__version__", "< 1.0")))
    organization = config.organization.value if config.organization else None
    project = config.project.value if config.project else None
    client: OpenAI = client_class(
        api_key=config.key.reveal(),
        base_url=config.effective_base_url,
        organization=organization,
        project=project,
        timeout=timeout,
        max_retries=max_retries,
    )
    # The client falls back to OPENAI_ORG_ID / OPENAI_PROJECT_ID from os.environ when given
    # None; the config has already combined the environment and the .env file, so it is the
    # only authority (a header the config does not have would be a surprise in a check).
    client.organization = organization
    client.project = project
    return client
