"""A key pasted as an argument is refused before any parser sees it.

`chatenv configure-key sk-proj-…`, `chatenv doctor sk-…` or `--format sk-…` is a common slip;
Click's usage errors ("Got unexpected extra argument (sk-proj-…)", "'sk-…' is not one of …")
would print the key back in clear. `chatenv.cli.main` calls `check` first: an argument that
looks like a key (OpenAI's shape, a Hugging Face token's `hf_...`, or the value of
$OPENAI_API_KEY or $HF_TOKEN) is refused with one line that names its position only. The one
place a key may be passed is configure-key's `--key`, which warns on its own. No Typer here:
this runs before every command, `doctor`'s fast path included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: exit code of a usage error (as Click's)
EXIT_USAGE = 2
#: the variables whose values are keys (huggingface_hub still reads the legacy token name)
KEY_VARIABLES = ("OPENAI_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def key_argument(argv: Sequence[str], environ: Mapping[str, str]) -> int | None:
    """The 1-based position of the first argument that looks like a key and is not the value
    of configure-key's `--key`, or None."""
    from chatenv.keys.mask import looks_like_key

    known = [
        value
        for value in (environ.get(name, "").strip() for name in KEY_VARIABLES)
        if len(value) >= 8
    ]
    command = next((a for a in argv if not a.startswith("-")), None)
    allowed = command == "configure-key"
    previous = ""
    for position, arg in enumerate(argv, start=1):
        name, eq, _ = arg.partition("=")
        key_value = allowed and (previous == "--key" or (name == "--key" and eq))
        previous = arg
        if key_value:
            continue
        if looks_like_key(arg) or any(value in arg for value in known):
            return position
    return None


def is_hf_token(arg: str, environ: Mapping[str, str]) -> bool:
    """The argument holds a Hugging Face token: `hf_...` (or `api_org_...`) in shape, or the
    value of $HF_TOKEN / $HUGGING_FACE_HUB_TOKEN."""
    import re

    if re.search(r"\b(?:hf_|api_org_)[A-Za-z0-9]{30,}", arg):
        return True
    values = (environ.get(name, "").strip() for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"))
    return any(len(value) >= 8 and value in arg for value in values)


def check(argv: Sequence[str], environ: Mapping[str, str]) -> None:
    """Exit 2 with one line, the argument never echoed, when one looks like a key."""
    position = key_argument(argv, environ)
    if position is None:
        return
    from chatenv import output
    from chatenv.problems import problem

    if is_hf_token(argv[position - 1], environ):
        output.error(*problem("cli.hf-token-argument").pair(position=position))
    else:
        output.error(*problem("cli.key-argument").pair(position=position))
    raise SystemExit(EXIT_USAGE)
