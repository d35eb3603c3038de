"""Keep secrets out of every output.

Two layers: a `Secret` whose str()/repr() are masked, so a key passed around by mistake prints
safely; and a process-wide registry of raw values that `chatenv.output` scrubs from every line
it writes (`redact`), so a key that slipped into an exception message or a server's error text
is still never printed.

`redact` works on the secret's value, whatever surrounds it:
- a registered secret of 8 characters or more, anywhere in the text;
- any run of 12 or more key characters that is a piece of a registered secret (a server that
  echoes the key without its `sk-proj-` prefix, or only its start);
- a shorter secret (a local server's `tk5x`) where it stands as a word of its own: masking it
  inside longer words would garble ordinary text (the placeholders local servers document,
  `ollama`, `EMPTY`, are not secrets and stay);
- the user name, password and secret-looking query values (`?api-key=`) of every URL;
- anything shaped like an OpenAI key (`sk-` and 20 more key characters) or a Hugging Face
  token (`hf_` and 30 more letters and digits; the legacy organization tokens, `api_org_`).

`urllib.parse` (and the `ipaddress` it imports: ~2 ms together) is imported by the URL
functions, and only for a URL with credentials or a query: every doctor run masks URLs, few
have either. (On Python 3.11 pathlib imports it anyway; nothing of chatenv's own needs it.)
"""

from __future__ import annotations

import re
import threading

_KNOWN_PREFIXES = ("sk-svcacct-", "sk-admin-", "sk-proj-", "sk-", "hf_", "api_org_")
#: what a masked part of a URL becomes
HIDDEN = "***"
#: secrets at least this long are removed wherever they appear; shorter ones as whole words
SUBSTRING_MIN = 8
#: a run of key characters this long that also occurs in a secret is a piece of it
PIECE = 12
_WORD = r"A-Za-z0-9_\-"

_lock = threading.Lock()
_registry: set[str] = set()
_State = tuple[list[str], "re.Pattern[str] | None", dict[str, str]]
#: "state": (long secrets longest first, short-secret pattern, PIECE-grams -> secret); emptied
#: when a secret is registered, rebuilt on the next `redact`
_cache: dict[str, _State] = {}


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


#: the keys local servers' own docs tell everyone to use (Ollama's `ollama`, vLLM's `EMPTY`,
#: LM Studio's `lm-studio`, llama.cpp's `sk-no-key-required`): not secrets, and masking them
#: would garble fixes such as `ollama pull MODEL`
PLACEHOLDER_KEYS = frozenset({"ollama", "EMPTY", "lm-studio", "sk-no-key-required", "none"})


def register(value: str) -> None:
    """Remember a raw secret so `redact` removes it from anything chatenv prints."""
    value = value.strip()
    if not value or value in PLACEHOLDER_KEYS:
        return
    with _lock:
        if value not in _registry:
            _registry.add(value)
            _cache.clear()


def register_url(url: str) -> None:
    """Register the secrets a URL carries (user name, password, secret query values), so that
    they are masked wherever they appear on their own too."""
    for secret in url_secrets(url):
        register(secret)


def redact(text: str) -> str:
    """`text` with every secret masked (see the module docstring)."""
    if not text:
        return text
    long_secrets, short_pattern, pieces = _state()
    for raw in long_secrets:
        if raw in text:
            text = text.replace(raw, mask(raw))
    if pieces:
        text = _PIECE_RUN.sub(lambda m: _mask_piece(m.group(0), pieces), text)
    if short_pattern is not None:
        text = short_pattern.sub(lambda m: mask(m.group(0)), text)
    if "://" in text:
        text = _URL.sub(lambda m: mask_url(m.group(0)), text)
    return _KEY_SHAPE.sub(lambda m: mask(m.group(0)), text)


def looks_like_key(text: str) -> bool:
    """`text` holds something shaped like an OpenAI key (`sk-` and 20 more key characters) or
    a Hugging Face token (`hf_` and 30 more letters and digits)."""
    return bool(_KEY_SHAPE.search(text))


def mask_url(url: str) -> str:
    """The URL with its credentials hidden: `user:***@` for a password, `***@` for a user
    name alone (a token, as `https://TOKEN@host` is used), and `***` for the value of every
    query parameter whose name says secret (`api-key`, `token`, `sig`, ...)."""
    if "@" not in url and "?" not in url:  # no credentials, no query: nothing to hide
        return url
    from urllib.parse import unquote, urlsplit, urlunsplit

    try:
        parts = urlsplit(url if "://" in url else f"//{url}")
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user, has_password, _ = userinfo.partition(":")
            if has_password:
                shown = HIDDEN if _looks_secret(unquote(user)) else user
                netloc = f"{shown}:{HIDDEN}@{host}"
            else:
                netloc = f"{HIDDEN}@{host}"
        query = _mask_query(parts.query)
    except ValueError:
        return url
    if netloc == parts.netloc and query == parts.query:
        return url
    masked = urlunsplit(parts._replace(netloc=netloc, query=query))
    return masked if "://" in url else masked.removeprefix("//")


def url_secrets(url: str) -> list[str]:
    """The secret parts of a URL, as written and percent-decoded: the password (and the
    base64 `user:password` of Basic auth), the user name when it is a token (alone, or
    key-like), and the values of secret-looking query parameters."""
    if "@" not in url and "?" not in url:  # no credentials, no query: no secrets
        return []
    from urllib.parse import parse_qsl, quote, unquote, urlsplit

    try:
        parts = urlsplit(url if "://" in url else f"//{url}")
        user, password = parts.username or "", parts.password
        found = [password or ""]
        if user and (password is None or _looks_secret(unquote(user))):
            found.append(user)
        if user or password:  # httpx sends them as `Authorization: Basic ...`, which a server
            pair = f"{unquote(user)}:{unquote(password or '')}".encode()  # may echo
            import base64

            found.append(base64.b64encode(pair).decode())
        query = parse_qsl(parts.query, keep_blank_values=True)
        found += [value for name, value in query if _secret_name(name)]
    except ValueError:
        return []
    return sorted({s for value in found if value for s in (value, unquote(value), quote(value))})


# -- the pieces ------------------------------------------------------------------------------

#: query parameter names whose values are secrets: any name holding one of these words
#: (api-key, api_key, access_token, client_secret, password, X-Amz-Signature, ...), or one of
#: the short names OAuth and signed URLs use
_SECRET_WORDS = ("key", "token", "secret", "passw", "pwd", "auth", "credential", "session", "sig")
_SECRET_NAMES = frozenset({"code", "pass", "pw", "p"})
#: a URL in running text: a scheme, then everything up to whitespace, a quote or a bracket
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>()\[\]{}`]+")
_PIECE_RUN = re.compile(rf"[{_WORD}]{{{PIECE},}}")
# Anything that looks like a full OpenAI key (sk-..., at least 20 key characters) or Hugging
# Face token (hf_ and 34 letters and digits today; 30 or more here), e.g. a key the user pasted
# into another variable. Already-masked text (with "…" or "*") never matches.
_KEY_SHAPE = re.compile(r"\b(?:sk-[A-Za-z0-9_\-]{20,}|(?:hf_|api_org_)[A-Za-z0-9]{30,})")


def _secret_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_NAMES or any(word in lowered for word in _SECRET_WORDS)


def _looks_secret(user: str) -> bool:
    """A user name that is really a token: key-shaped, or long and mixing letters and digits."""
    if _KEY_SHAPE.search(user) or user in _registry:
        return True
    return len(user) >= 16 and any(c.isdigit() for c in user) and any(c.isalpha() for c in user)


def _mask_query(query: str) -> str:
    if not query:
        return query
    from urllib.parse import unquote

    pieces = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        hidden = eq and value and _secret_name(unquote(name))
        pieces.append(f"{name}={HIDDEN}" if hidden else part)
    return "&".join(pieces)


def _state() -> _State:
    with _lock:
        if "state" not in _cache:
            secrets = sorted(_registry, key=len, reverse=True)
            long_secrets = [s for s in secrets if len(s) >= SUBSTRING_MIN]
            short = [re.escape(s) for s in secrets if len(s) < SUBSTRING_MIN]
            pattern = (
                re.compile(rf"(?<![{_WORD}])(?:{'|'.join(short)})(?![{_WORD}])") if short else None
            )
            pieces = {
                s[i : i + PIECE]: s
                for s in reversed(long_secrets)
                for i in range(len(s) - PIECE + 1)
            }
            _cache["state"] = (long_secrets, pattern, pieces)
        return _cache["state"]


def _mask_piece(run: str, pieces: dict[str, str]) -> str:
    for i in range(len(run) - PIECE + 1):
        secret = pieces.get(run[i : i + PIECE])
        if secret is not None:
            return mask(secret)
    return run
