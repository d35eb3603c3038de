"""Taking a key from the user: reading it without echo or shell history, cleaning up what a
paste brings along, refusing what cannot be a key, and saying what kind of key it is.

No message here ever contains the key: problems are described by position and character.
"""

from __future__ import annotations

import io
import re
import unicodedata
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from chatenv.keys.config import DEFAULT_BASE_URL, KEY
from chatenv.keys.mask import mask, mask_url, register_url
from chatenv.problems import problem
from chatenv.results import CheckResult, Status
from chatenv.system.openai_client import is_openai_host

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

#: far longer than any real key (project keys are ~164 characters, service-account keys ~200)
MAX_KEY_LENGTH = 1024
#: characters a .env value or a shell paste would mangle, and that no API key contains
_REFUSED = "'\"\\$`"
_QUOTES = {"'": "'", '"': '"', "‘": "’", "“": "”"}
_ASSIGNMENT = r"^(?:export\s+)?{name}\s*=\s*"


def read_key(
    stdin: TextIO,
    *,
    interactive: bool,
    prompt: Callable[[], str],
) -> str:
    """The raw key: from a hidden prompt on a terminal, else everything piped on stdin."""
    if interactive:
        try:
            return prompt()
        except EOFError:
            raise problem("key.none-entered").error() from None
    wait_s = stdin_wait_s()
    text = piped_now(stdin, wait_s=wait_s, settle_s=2.0)
    if text is None:
        raise problem("key.stdin-silent").error(wait_s=f"{wait_s:g}")
    if not text.strip():
        raise problem("key.stdin-empty").error()
    return text


def normalize(raw: str, name: str = KEY) -> tuple[str, list[str]]:
    """The key without what a paste adds: surrounding whitespace and quotes, and a whole
    `OPENAI_API_KEY=...` line (`name`: the variable, HF_TOKEN for a Hugging Face token).
    Returns the key and notes on what was removed."""
    notes: list[str] = []
    text = raw.strip()
    assignment = re.match(_ASSIGNMENT.format(name=re.escape(name)), text, re.ASCII)
    if assignment:
        text = text[assignment.end() :].strip()
        notes.append(f"took the key from the pasted {name}=... line")
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text, notes


def validate(key: str) -> None:
    """Refuse (UsageError, exit 2) what cannot be a key; the message names the position only."""
    if not key:
        raise problem("key.empty").error()
    if len(key) > MAX_KEY_LENGTH:
        raise problem("key.too-long").error(length=len(key))
    for index, char in enumerate(key, start=1):
        if char in "\r\n":
            raise problem("key.line-break").error(position=index - 1)
        if char.isspace():
            raise problem("key.space").error(position=index)
        if not char.isascii() or not char.isprintable():
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            raise problem("key.invisible-character").error(
                name=name, codepoint=ord(char), position=index
            )
        if char in _REFUSED:
            raise problem("key.refused-character").error(char=char, position=index)


def check_format(key: str, base_url: str | None) -> CheckResult:
    """What kind of key this is, with a warning where it will not do what the user wants."""
    masked = mask(key)
    to_openai = _is_openai(base_url)
    if key.startswith("sk-admin-"):
        return problem("key.admin-key").check(
            Status.WARN, "key-format", data={"kind": "admin", "masked": masked}, masked=masked
        )
    for prefix, kind in (
        ("sk-proj-", "project"),
        ("sk-svcacct-", "service account"),
        ("sk-", "user"),
    ):
        if key.startswith(prefix):
            return CheckResult.ok(
                "key-format", f"{masked} ({kind} key)", data={"kind": kind, "masked": masked}
            )
    if to_openai:
        return problem("key.not-openai-shape").check(
            Status.WARN, "key-format", data={"kind": "unknown", "masked": masked}, masked=masked
        )
    return CheckResult.ok(
        "key-format",
        f"{masked} (not an OpenAI key format; expected for {mask_url(base_url or '')})",
        data={"kind": "other", "masked": masked},
    )


def check_hf_format(token: str) -> CheckResult:
    """What kind of Hugging Face token this is; one of another shape is stored with a warning
    (the hub's answer decides)."""
    masked = mask(token)
    data = {"masked": masked}
    if token.startswith("api_org_"):
        return problem("key.hf-org-token").check(
            Status.WARN, "key-format", data={**data, "kind": "organization"}, masked=masked
        )
    if token.startswith("hf_"):
        return CheckResult.ok(
            "key-format", f"{masked} (Hugging Face token)", data={**data, "kind": "user"}
        )
    return problem("key.hf-token-shape").check(
        Status.WARN, "key-format", data={**data, "kind": "unknown"}, masked=masked
    )


def validate_base_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise problem("key.base-url-invalid").error(url=mask_url(url))
    _check_plain("--base-url", url)
    register_url(url)  # a password or token in it is masked wherever it shows
    return url


def validate_id(option: str, value: str, prefix: str) -> tuple[str, CheckResult | None]:
    """An organization or project id; a warning when it lacks the usual prefix."""
    value = value.strip()
    if not value:
        raise problem("key.id-empty").error(option=option, prefix=prefix)
    _check_plain(option, value)
    if not value.startswith(prefix):
        return value, problem("key.id-prefix").check(
            Status.WARN, option.lstrip("-"), option=option, value=value, prefix=prefix
        )
    return value, None


def _check_plain(option: str, value: str) -> None:
    for index, char in enumerate(value, start=1):
        if char.isspace() or not char.isprintable() or char in _REFUSED:
            raise problem("key.option-bad-character").error(
                option=option, char=char, position=index
            )


def _is_openai(base_url: str | None) -> bool:
    return is_openai_host(urlsplit(base_url or DEFAULT_BASE_URL).hostname)


# -- what is on stdin, for commands that may or may not be handed a key (`chatenv setup`) -----


def stdin_kind(stdin: TextIO) -> str:
    """ "terminal"; "pipe" (a pipe, file or socket: something may be piped in); or "none"
    (closed, /dev/null or another device: nothing will come)."""
    import os
    import stat

    try:
        if stdin.isatty():
            return "terminal"
        mode = os.fstat(stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return "none"
    if stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode):
        return "pipe"
    return "none"


#: how long configure-key waits for the first byte of a piped key (a password manager asking
#: for its passphrase first takes a while); never forever
STDIN_WAIT_VARIABLE = "CHATENV_STDIN_TIMEOUT"
STDIN_WAIT_S = 30.0


def stdin_wait_s(environ: Mapping[str, str] | None = None) -> float:
    import os

    value = (os.environ if environ is None else environ).get(STDIN_WAIT_VARIABLE, "")
    try:
        seconds = float(value)
    except ValueError:
        return STDIN_WAIT_S
    return seconds if 0 <= seconds <= 3600 else STDIN_WAIT_S


def piped_now(stdin: TextIO, *, wait_s: float = 0.0, settle_s: float = 0.2) -> str | None:
    """What is piped on stdin, never waiting without bound: the first byte for up to `wait_s`
    (None when none came: a pipe nobody writes to), then more while it keeps arriving (gaps
    under `settle_s`), up to end of input; "" for an empty input. Where select() cannot watch
    stdin (Windows pipes, a stream without a descriptor), reads to end of input."""
    import os
    import select

    limit = MAX_KEY_LENGTH * 4
    try:
        fd = stdin.fileno()
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            ready, _, _ = select.select([fd], [], [], settle_s if chunks else wait_s)
            if not ready:
                if not chunks:
                    return None
                break
            data = os.read(fd, 4096)
            if not data:
                break
            chunks.append(data)
            total += len(data)
        text = b"".join(chunks).decode("utf-8", errors="replace")
    except (OSError, ValueError, io.UnsupportedOperation):
        text = stdin.read(limit + 1)
    if len(text) > limit:
        raise problem("key.stdin-too-long").error()
    return text
