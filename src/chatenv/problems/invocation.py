"""Fixes that fit the command that was run.

A fix is a command to paste as it stands. When the user ran `chatenv doctor --env-file
conf/.env.local`, "chatenv configure-key" is the wrong fix: it writes ./.env, which the next
`doctor --env-file conf/.env.local` does not read. So the CLI records what was typed
(`invoked`), and every fix the table fills in while the command runs gets the options that
matter for the chatenv command it names (`tailor`): `--env-file` for the commands that read the
file, `--model` for those that load one, setup's profiles. A mistyped value is answered with the
line the user typed, the value corrected (`retyped`).
"""

from __future__ import annotations

import contextlib
import re
import shlex
from contextvars import ContextVar
from typing import TYPE_CHECKING

from chatenv.records import dataclass

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator


@dataclass(frozen=True)
class Invocation:
    #: what followed `chatenv` on the command line, as typed
    argv: tuple[str, ...] = ()
    #: --env-file, when it was given
    env_file: str | None = None
    #: --model, when one other than the default was given
    model: str | None = None
    #: the PROFILE arguments of setup or install, when given
    profiles: tuple[str, ...] = ()


_current: ContextVar[Invocation | None] = ContextVar("chatenv_invocation", default=None)

#: the commands each option applies to
_ENV_FILE_COMMANDS = ("doctor", "configure-key", "smoke-test", "setup")
_MODEL_COMMANDS = ("doctor", "smoke-test", "setup")
_COMMAND = re.compile(r"\bchatenv (doctor|configure-key|smoke-test|setup|install)\b")
#: where the chatenv command in a fix ends: a comment, a note in parentheses, a pipe or the
#: next command, a backquote, or two spaces before an explanation
_END = re.compile(r"\s{2,}|\s#|`|;|&&|\|\||\||\)|,\s")


@contextlib.contextmanager
def invoked(invocation: Invocation) -> Iterator[None]:
    """Fill in fixes for this command line while the block runs."""
    token = _current.set(invocation)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> Invocation | None:
    return _current.get()


def tailor(fix: str, invocation: Invocation | None = None) -> str:
    """`fix` with the options of the command that was run added to each chatenv command in it
    that takes them and does not already say otherwise."""
    invocation = invocation or current()
    if invocation is None or not fix:
        return fix
    out: list[str] = []
    position = 0
    for match in _COMMAND.finditer(fix):
        if match.start() < position:
            continue
        end_match = _END.search(fix, match.end())
        end = end_match.start() if end_match else len(fix)
        segment = fix[match.start() : end]
        out.append(fix[position : match.start()])
        out.append(_with_options(segment, match.group(1), invocation))
        position = end
    out.append(fix[position:])
    return "".join(out)


def _with_options(segment: str, command: str, invocation: Invocation) -> str:
    words = segment.split()
    extra: list[str] = []
    if invocation.env_file and command in _ENV_FILE_COMMANDS and "--env-file" not in words:
        extra += ["--env-file", shlex.quote(invocation.env_file)]
    if invocation.model and command in _MODEL_COMMANDS and not {"--model", "-m"} & set(words):
        extra += ["--model", shlex.quote(invocation.model)]
    if command in ("setup", "install") and invocation.profiles and not _names_a_profile(words):
        # declining setup's plan for `api` must not suggest installing everything
        head, _, rest = segment.partition(f"chatenv {command}")
        segment = f"{head}chatenv {command} {' '.join(invocation.profiles)}{rest}"
    return segment + "".join(f" {word}" for word in extra)


def _names_a_profile(words: list[str]) -> bool:
    return any(w in ("api", "local", "all") for w in words[2:])


def suggest(wrong: str, choices: Iterable[str]) -> str | None:
    """The choice a typo most likely meant ("locl" -> "local"), or None."""
    import difflib

    found = difflib.get_close_matches(wrong.lower(), list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def retyped(wrong: str, right: str, fallback: str) -> str:
    """The command line the user typed with `wrong` replaced by `right` (`--torch=cu12` and
    `--torch cu12` alike), or `fallback` when there is no record of what was typed."""
    invocation = current()
    if invocation is None or not invocation.argv:
        return fallback
    words: list[str] = []
    replaced = False
    for word in invocation.argv:
        name, eq, value = word.partition("=")
        if not replaced and word == wrong:
            words.append(right)
            replaced = True
        elif not replaced and eq and value == wrong and name.startswith("--"):
            words.append(f"{name}={right}")
            replaced = True
        else:
            words.append(word)
    if not replaced:
        return fallback
    return "chatenv " + shlex.join(words)


def did_you_mean(
    wrong: str, choices: Iterable[str], instead: str, fallback: str
) -> tuple[str, str]:
    """The `hint` and `retyped` values for a mistyped value's problem entry: ": did you mean
    'local'?" and the line typed with it corrected (with `instead` when nothing is close, and
    `fallback` as the line when what was typed is not known)."""
    close = suggest(wrong, choices)
    hint = f": did you mean '{close}'?" if close else ""
    return hint, retyped(wrong, close or instead, fallback.format(choice=close or instead))


def with_option(option: str, value: str, fallback: str) -> str:
    """The command line the user typed with `option value` set (replacing a value it had), or
    `fallback` when there is no record of what was typed."""
    invocation = current()
    if invocation is None or not invocation.argv:
        return fallback
    words: list[str] = []
    skip = False
    for word in invocation.argv:
        if skip:
            skip = False
            continue
        if word == option:
            skip = True
            continue
        if word.startswith(option + "="):
            continue
        words.append(word)
    return "chatenv " + shlex.join([*words, option, value])
