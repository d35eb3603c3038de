"""Keep secrets out of every output.

Two layers: a `Secret` whose str()/repr() are masked, so a key passed around by mistake prints
safely; and a process-wide registry of raw values that `chatenv.output` scrubs from every line
it writes, so a key that slipped into an exception message or a server's error text is still
never printed.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import urlsplit, urlunsplit

_KNOWN_PREFIXES = ("sk-svcacct-", "sk-admin-", "sk-proj-", "sk-")
_registry: set[str] = set()
_lock = threading.Lock()


def mask(value: str) -> str:
    """`sk-proj-…abcd`: the prefix that says what kind of key it is, and its last four."""
    if not value:
        return "(empty)"
    prefix = next((p for p in _KNOWN_PREFIXES if value.startswith(p)), "")
    tail = value[-4:] if len(value) >= len(prefix) + 12 else ""
    return f"{prefix}…{tail}" if tail else f"{prefix}…"


class Secret:
    """A secret value that prints masked. Only code that writes the file or builds a client
    calls `reveal()`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register(value)

    def reveal(self) -> str:
        return self._value

    @property
    def masked(self) -> str:
        return mask(self._value)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def register(value: str) -> None:
    """Remember a raw secret so `redact` removes it from anything chatenv prints."""
    # Very short values would redact ordinary words; real keys are far longer.
    if len(value) >= 8:
        with _lock:
            _registry.add(value)


def redact(text: str) -> str:
    """Replace every registered secret, and anything shaped like an OpenAI key, by its mask."""
    with _lock:
        secrets = sorted(_registry, key=len, reverse=True)
    for raw in secrets:
        if raw in text:
            text = text.replace(raw, mask(raw))
    return _KEY_SHAPE.sub(lambda m: mask(m.group(0)), text)


def mask_url(url: str) -> str:
    """A URL with any password in it replaced by *** (proxy and base URLs may carry one)."""
    try:
        parts = urlsplit(url if "://" in url else f"//{url}")
        if parts.password is None:
            return url
        host = parts.hostname or ""
        netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return url
    masked = urlunsplit(parts._replace(netloc=netloc))
    return masked if "://" in url else masked.removeprefix("//")


# Anything that looks like a full OpenAI key (sk-..., at least 20 key characters), e.g. a key
# the user pasted into another variable. Already-masked text (with "…" or "*") never matches.
_KEY_SHAPE = re.compile(r"\bsk-[A-Za-z0-9_\-]{20,}")
