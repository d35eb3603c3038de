"""The lines chatenv writes, and what each reader of a .env file reads from them.

Four programs read the files chatenv writes: python-dotenv (the user's Python code), Node's
dotenv (their JavaScript), docker compose (`env_file:`) and a POSIX shell (`set -a; . ./.env`).
python-dotenv and bash run here and are asked live; Node's dotenv is not installed where the
tests run, so its answers were recorded from the real package by
`scripts/record_dotenv_readers.py` into tests/data/node-dotenv-answers.json; docker compose
(compose-go) cannot run here either, and `compose_reads` below follows its documented rules.
"""

from __future__ import annotations

import io
import json
import string
import subprocess
import tempfile
from pathlib import Path

from chatenv.keys.dotenv_file import set_values

NAME = "V"
ANSWERS = Path(__file__).resolve().parents[1] / "data" / "node-dotenv-answers.json"

#: every printable ASCII character and a tab, at the start, inside and at the end of a value
CHARACTERS = string.printable.replace("\n", "").replace("\r", "").replace("\x0b", "")
CHARACTERS = CHARACTERS.replace("\x0c", "")
VALUES: tuple[str, ...] = (
    *(form.format(c=c) for c in CHARACTERS for form in ("a{c}b", "{c}ab", "ab{c}")),
    # the cases, and what real keys and URLs look like
    "tok&id12345678",
    "x:~root",
    "~",
    "a;b",
    "a|b",
    "$HOME",
    "a`id`b",
    "sk-proj-AAAAAAAAAAAAAAAAAAAA1234",
    "http://localhost:11434/v1",
    "https://user:p%40ss@example.com/v1?api-version=2024-02-01",
    "",
    " padded ",
)
#: the lines a value is written into: a new file, and the lines it replaces in place
BEFORE: tuple[str, ...] = (
    "",
    f"{NAME}=old\n",
    f"{NAME}='old'\n",
    f'{NAME}="old"\n',
    f"export {NAME}=old # note\n",
    f"{NAME}  # set me\n",
    f"\t{NAME}# set me\n",
    f"export\t{NAME}   # set me\n",
)


def written() -> dict[str, str]:
    """Every file text chatenv writes for VALUES x BEFORE, mapped to the value it holds
    (values chatenv refuses are left out)."""
    files: dict[str, str] = {}
    for value in VALUES:
        for before in BEFORE:
            try:
                files[set_values(before, {NAME: value}).text] = value
            except ValueError:
                continue
    return files


def refused() -> list[str]:
    """The values of VALUES chatenv refuses to write."""
    out = []
    for value in VALUES:
        try:
            set_values("", {NAME: value})
        except ValueError:
            out.append(value)
    return out


def python_dotenv_reads(text: str) -> str | None:
    from dotenv import dotenv_values

    return dotenv_values(stream=io.StringIO(text)).get(NAME)


def bash_reads(texts: list[str]) -> list[str | None]:
    """What `set -a; . ./file` leaves in $V for each text: one bash, a subshell per file."""
    with tempfile.TemporaryDirectory() as folder:
        for i, text in enumerate(texts):
            Path(folder, f"{i}.env").write_text(text, encoding="utf-8")
        script = (
            'for i in $(seq 0 $(($1 - 1))); do ( set -a; . "./$i.env" >/dev/null 2>&1; '
            'if [ "${V+set}" ]; then printf "%s" "$V"; else printf "\\001"; fi; printf "\\000" ); '
            "done"
        )
        done = subprocess.run(
            ["bash", "--norc", "--noprofile", "-c", script, "bash", str(len(texts))],
            cwd=folder,
            capture_output=True,
            check=True,
            env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent-home-for-tilde"},
        )
    values = done.stdout.decode("utf-8").split("\0")[:-1]
    return [None if v == "\x01" else v for v in values]


def node_answers() -> dict[str, str | None]:
    """What Node's dotenv read from each text (recorded; see the module docstring)."""
    return dict(json.loads(ANSWERS.read_text(encoding="utf-8"))["answers"])


def compose_reads(text: str) -> str | None:
    """docker compose's reading of the one-binding texts chatenv writes, by the rules of
    https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/
    #env-file-syntax: an optional `export `; unquoted values end at a ` #` comment, are trimmed
    and interpolate `$VAR`/`${VAR}`; single-quoted values are literal; double-quoted values
    interpolate and decode `\\` escapes; an inline comment must follow the closing quote.
    Returns None (not "the same") wherever interpolation or an escape would apply, which is
    all compose's answer depends on for these texts."""
    for line in text.splitlines():
        body = line.strip()
        if not body or body.startswith("#"):
            continue
        if body.startswith("export") and body[6:7] in (" ", "\t"):
            body = body[6:].lstrip()
        name, eq, rest = body.partition("=")
        if not eq or name.strip() != NAME:
            return None
        rest = rest.lstrip(" \t")
        if rest[:1] in ("'", '"'):
            quote = rest[0]
            end = rest.find(quote, 1)
            if end < 0:
                return None
            inner, after = rest[1:end], rest[end + 1 :].strip()
            if after and not after.startswith("#"):
                return None
            if quote == '"' and ("$" in inner or "\\" in inner):
                return None
            return inner
        value = rest
        for i, c in enumerate(rest):
            if c == "#" and i > 0 and rest[i - 1] in " \t":
                value = rest[:i]
                break
        value = value.strip()
        return None if "$" in value else value
    return None
