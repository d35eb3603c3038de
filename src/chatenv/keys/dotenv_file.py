"""Editing a .env file's text: set some variables, keep every other byte as it was.

Parsing is python-dotenv's own (`dotenv.parser.parse_stream`), so a line means here exactly
what it means to `load_dotenv()` / `dotenv_values()` in the user's code, and each binding comes
with its original text. Writing is ours, not `dotenv.set_key`, because `set_key`
  - rewrites the line it replaces as `KEY='value'`, dropping an `export ` prefix and the line's
    inline comment (the issue asks for both to be kept);
  - opens the file with newline translation, so a CRLF file comes back with LF line endings on
    every line, and drops a byte-order mark;
  - sets one variable per call (one rewrite of the file per variable);
  - and leaves the file handling (fsync, permissions, symlinks, locking) as it is, which
    `chatenv.keys.store` does instead.
This module is pure text in, text out; `chatenv.keys.store` does the file system.

A value is written so that the four readers a .env file meets read it back exactly:
python-dotenv, Node's dotenv, docker compose's `env_file`, and a POSIX shell's
`set -a; . ./.env`. Unquoted only when made of characters none of them treats specially
(`_PLAIN`: no `~`, which the shell expands after `=` or `:`; no `&`, `;`, `|`, which it runs
as commands; no `#`, which ends an unquoted value for Node); in single quotes when it holds no
`'` or backslash (all four read single quotes literally, python-dotenv's two escapes aside);
in double quotes when it holds a `'` but no `"`, backslash, `$` or backtick (which the shell
and compose expand there). Anything else has no spelling all four agree on and is refused
with the reason (`UnportableValue`). tests/keys/test_dotenv_readers.py checks each rule
against python-dotenv and bash themselves and against answers recorded from Node's dotenv.
"""

from __future__ import annotations

import io
import re
import unicodedata
from typing import TYPE_CHECKING

from chatenv.records import dataclass, field

if TYPE_CHECKING:
    from collections.abc import Mapping

BOM = "\ufeff"

# The pieces of a binding line, with the same patterns python-dotenv's parser uses, so that
# what we keep and what we replace are cut where the parser cuts.
_LEADING = re.compile(r"\s*")
_EXPORT = re.compile(r"export[^\S\r\n]+")
_KEY = re.compile(r"'[^']+'|[^=\#\s]+")
_WHITESPACE = re.compile(r"[^\S\r\n]*")
_EQUALS = re.compile(r"=[^\S\r\n]*")
_SINGLE_QUOTED = re.compile(r"'(?:\\.|[^'\\])*'", re.DOTALL)
_DOUBLE_QUOTED = re.compile(r'"(?:\\.|[^"\\])*"', re.DOTALL)
_UNQUOTED = re.compile(r"[^\r\n]*")
_UNQUOTED_COMMENT = re.compile(r"\s+#")
#: values written without quotes: characters no reader treats specially (see the docstring)
_PLAIN = re.compile(r"[A-Za-z0-9_\-.:/+=@,%]+")
#: what each quoting cannot hold, for all four readers to agree
_NOT_IN_SINGLE = frozenset("'\\")
_NOT_IN_DOUBLE = frozenset('"\\$`')


@dataclass(frozen=True)
class Binding:
    """One piece of the file as python-dotenv parses it."""

    key: str | None
    value: str | None
    #: the exact text, leading blank lines and line ending included
    text: str
    #: the 1-based line where the binding's own text starts
    line: int
    #: python-dotenv could not parse it (it skips such lines with a warning)
    error: bool


@dataclass(frozen=True)
class EnvDocument:
    bindings: tuple[Binding, ...]
    bom: bool
    #: the line ending new lines get: the file's own ("\r\n" for a CRLF file)
    newline: str

    @property
    def malformed_lines(self) -> list[int]:
        return [b.line for b in self.bindings if b.error]

    def render(self) -> str:
        return (BOM if self.bom else "") + "".join(b.text for b in self.bindings)


@dataclass(frozen=True)
class Edit:
    text: str
    #: variable -> lines replaced in place (line numbers of the original file)
    replaced: dict[str, list[int]] = field(default_factory=dict)
    #: variables appended at the end
    added: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.replaced or self.added)


def parse(text: str) -> EnvDocument:
    """The file's bindings, via python-dotenv's parser; concatenated they give `text` back."""
    from dotenv.parser import parse_stream

    bom = text.startswith(BOM)
    body = text[len(BOM) :] if bom else text
    bindings = []
    for found in parse_stream(io.StringIO(body)):
        original = found.original.string
        leading = _LEADING.match(original)
        blank = original[: leading.end()] if leading else ""
        # The binding's own text starts after its leading blank lines.
        first_line = found.original.line + len(re.findall(r"\r\n|\n|\r", blank))
        bindings.append(Binding(found.key, found.value, original, first_line, found.error))
    crlf = body.count("\r\n")
    newline = "\r\n" if crlf and crlf * 2 >= body.count("\n") else "\n"
    return EnvDocument(tuple(bindings), bom, newline)


def set_values(text: str, values: Mapping[str, str]) -> Edit:
    """`text` with each variable in `values` set: every line that sets it is rewritten in
    place (keeping its `export`, quoting style and inline comment), a variable the file does
    not have is appended; every other byte stays as it was.

    Raises ValueError for a value a .env file cannot hold (a line break, or `${`, which
    python-dotenv would expand)."""
    for name, value in values.items():
        _check_value(name, value)
    document = parse(text)
    replaced: dict[str, list[int]] = {}
    pieces: list[str] = []
    for binding in document.bindings:
        if binding.key is not None and binding.key in values and not binding.error:
            pieces.append(_replace_value(binding.text, values[binding.key]))
            replaced.setdefault(binding.key, []).append(binding.line)
        else:
            pieces.append(binding.text)
    added = [name for name in values if name not in replaced]
    if added:
        if pieces and not pieces[-1].endswith(("\n", "\r")):
            pieces.append(document.newline)
        keyed = [b for b in document.bindings if b.key is not None and not b.error]
        export = bool(keyed) and all(_EXPORT.match(_strip(b.text)) for b in keyed)
        for name in added:
            prefix = "export " if export else ""
            pieces.append(f"{prefix}{name}={_quote(values[name], None)}{document.newline}")
    rendered = (BOM if document.bom else "") + "".join(pieces)
    return Edit(rendered, replaced, added)


def _check_value(name: str, value: str) -> None:
    from chatenv.problems import problem

    if "\n" in value or "\r" in value:
        raise ValueError(problem("env-file.value-line-break").text(name=name))
    if "${" in value:
        raise ValueError(problem("env-file.value-expansion").text(name=name))
    control = next((c for c in value if unicodedata.category(c) == "Cc" and c != "\t"), None)
    if control is not None:
        char = f"U+{ord(control):04X}"
        raise ValueError(problem("env-file.value-control-character").text(name=name, char=char))
    if _quote_style(value) is None:
        bad = "".join(sorted(set(value) & (_NOT_IN_SINGLE | _NOT_IN_DOUBLE)))
        raise ValueError(problem("env-file.value-unportable").text(name=name, chars=bad))


def _strip(text: str) -> str:
    match = _LEADING.match(text)
    return text[match.end() :] if match else text


def _replace_value(text: str, value: str) -> str:
    """One binding's text with its value replaced, everything around the value kept."""
    pos = 0

    def take(pattern: re.Pattern[str]) -> str:
        nonlocal pos
        match = pattern.match(text, pos)
        if match is None:
            return ""
        pos = match.end()
        return match.group(0)

    head = take(_LEADING) + take(_EXPORT) + take(_KEY)
    space = take(_WHITESPACE)
    equals = take(_EQUALS)
    if not equals:
        # `KEY` alone, or `KEY  # set me` as .env.example files have it: the value goes right
        # after the name, then the comment, at least one space away (python-dotenv, compose and
        # the shell read `value# set me` as one value).
        after = text[pos:]
        if after[:1] == "#":
            space = space or " "
        return head + "=" + _quote(value, None) + space + after
    head += space
    style = text[pos : pos + 1]
    if style == "'":
        take(_SINGLE_QUOTED)
    elif style == '"':
        take(_DOUBLE_QUOTED)
    elif len(equals) > 1 and style == "#":  # `KEY= # comment`: empty value, then a comment
        return head + "=" + _quote(value, None) + equals[1:] + text[pos:]
    else:
        rest = _UNQUOTED.match(text, pos)
        end = rest.end() if rest else pos
        comment = _UNQUOTED_COMMENT.search(text, pos, end)
        value_end = comment.start() if comment else end
        pos = pos + len(text[pos:value_end].rstrip())
        style = ""
    return head + equals + _quote(value, style or None) + text[pos:]


def _quote_style(value: str) -> str | None:
    """How to write `value` so that every reader gets it back: "" (plain), "'" or '"';
    None when no quoting works for all of them."""
    if _PLAIN.fullmatch(value):
        return ""
    chars = set(value)
    if not chars & _NOT_IN_SINGLE:
        return "'"
    if not chars & _NOT_IN_DOUBLE:
        return '"'
    return None


def _quote(value: str, style: str | None) -> str:
    """The value as the file should hold it: in the line's own quotes if they can hold it,
    plain when that is unambiguous, else in the quotes that can (`_quote_style`). `set_values`
    has refused a value no quoting can hold."""
    if style == '"' and not set(value) & _NOT_IN_DOUBLE:
        return f'"{value}"'
    if style == "'" and not set(value) & _NOT_IN_SINGLE:
        return f"'{value}'"
    chosen = _quote_style(value)
    assert chosen is not None, "set_values refuses a value no quoting can hold"
    return f"{chosen}{value}{chosen}"
