"""The openai section: the key and settings the user's code will see (`keys.config.resolve`).

The key is only ever shown masked (`sk-proj-…abcd`). An unexpected key shape is a warning,
never a rejection: OpenAI has changed its prefixes before, and OpenAI-compatible servers
(vLLM, Ollama, LiteLLM, Azure) use keys of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chatenv.keys.config import (
    BASE_URL,
    ENVIRONMENT,
    LEGACY_NAMES,
    ORG,
    PROJECT,
    source_label,
)
from chatenv.problems import problem
from chatenv.results import CheckResult, Status

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.doctor.context import Context
    from chatenv.keys.config import (
        OpenAIConfig,
        Setting,
    )

KNOWN_PREFIXES = ("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def is_openai_host(base_url: str) -> bool:
    host = (urlsplit(base_url).hostname or "").lower()
    return host == "api.openai.com" or host.endswith(".openai.com")


def check_key(config: OpenAIConfig) -> list[CheckResult]:
    results: list[CheckResult] = []
    if config.env_file_error:
        results.append(
            problem("openai.env-file-unreadable").check(
                Status.FAIL,
                "openai.env-file",
                data={"env_file": str(config.env_file)},
                error=config.env_file_error,
                fix=config.env_file_fix or "",
            )
        )
    if config.key is None:
        # the fix differs: a key from OpenAI's page, or whatever the other server expects
        missing = {"found": False, "env_file": str(config.env_file)}
        if is_openai_host(config.effective_base_url):
            results.append(
                problem("openai.no-key").check(
                    Status.WARN, "openai.key", data=missing, env_file=config.env_file
                )
            )
        else:
            results.append(
                problem("openai.no-key-server").check(
                    Status.WARN, "openai.key", data=missing, env_file=config.env_file
                )
            )
        return results
    masked = config.key.masked
    raw_shape = config.key.reveal()  # only its shape is examined; it is never printed
    where = source_label(config.key_source, config.env_file)
    data = {
        "found": True,
        "masked": masked,
        "source": config.key_source,
        "env_file": str(config.env_file),
        "conflict": config.key_conflict,
    }
    base_url = config.effective_base_url
    if raw_shape[:1] in "\"'" or raw_shape[-1:] in "\"'" or any(c.isspace() for c in raw_shape):
        results.append(
            problem("openai.key-quoted").check(
                Status.WARN, "openai.key", data=data, where=where, masked=masked
            )
        )
    elif not raw_shape.startswith(KNOWN_PREFIXES) and is_openai_host(base_url):
        results.append(
            problem("openai.key-shape").check(
                Status.WARN, "openai.key", data=data, masked=masked, where=where
            )
        )
    else:
        results.append(CheckResult.ok("openai.key", f"key {masked} from {where}", data=data))
    if config.key_conflict:
        results.append(
            problem("openai.key-conflict").check(
                Status.WARN,
                "openai.key-conflict",
                data={"winner": ENVIRONMENT},
                env_file=config.env_file,
                masked=masked,
            )
        )
    return results


def _setting(s: Setting | None, env_file: Path) -> str:
    if s is None:
        return "not set"
    return f"{s.value} (from {source_label(s.source, env_file)})"


def check_endpoint(config: OpenAIConfig) -> CheckResult:
    base = config.base_url
    url = config.effective_base_url
    parts = urlsplit(url)
    details = [
        f"{BASE_URL}: {_setting(base, config.env_file)}",
        f"{ORG}: {_setting(config.organization, config.env_file)}",
        f"{PROJECT}: {_setting(config.project, config.env_file)}",
    ]
    data = {
        "base_url": url,
        "base_url_source": base.source if base else None,
        "organization": config.organization.value if config.organization else None,
        "project": config.project.value if config.project else None,
    }
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return problem("openai.base-url-invalid").check(
            Status.FAIL, "openai.endpoint", details=details, data=data, url=url
        )
    if parts.scheme == "http" and (parts.hostname or "") not in LOCAL_HOSTS:
        return problem("openai.base-url-plain-http").check(
            Status.WARN,
            "openai.endpoint",
            details=details,
            data=data,
            url=url,
            netloc=parts.netloc,
            path=parts.path,
        )
    extras = [
        f"organization {config.organization.value}" if config.organization else "",
        f"project {config.project.value}" if config.project else "",
    ]
    extra = ", ".join(e for e in extras if e)
    what = (
        "OpenAI API"
        if base is None
        else f"{url} (from {source_label(base.source, config.env_file)})"
    )
    return CheckResult.ok(
        "openai.endpoint",
        f"endpoint: {what}" + (f"; {extra}" if extra else ""),
        details=details,
        data=data,
    )


def check_legacy(config: OpenAIConfig) -> list[CheckResult]:
    results = []
    for old, where in config.legacy.items():
        new = LEGACY_NAMES[old]
        data = {"name": old, "replacement": new, "source": where}
        if where == ENVIRONMENT:
            found = problem("openai.legacy-variable").check(
                Status.WARN,
                f"openai.legacy.{old}",
                data=data,
                old=old,
                new=new,
                place="the environment",
            )
        else:
            found = problem("openai.legacy-variable-in-file").check(
                Status.WARN,
                f"openai.legacy.{old}",
                data=data,
                old=old,
                new=new,
                place=config.env_file,
                env_file=config.env_file,
            )
        results.append(found)
    return results


def check_openai(config: OpenAIConfig) -> list[CheckResult]:
    return [*check_key(config), check_endpoint(config), *check_legacy(config)]


def collect(ctx: Context) -> list[CheckResult]:
    return check_openai(ctx.openai)
