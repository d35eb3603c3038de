"""docs/troubleshooting.md, rendered from the table of problems.

`python -m chatenv.problems --write docs/troubleshooting.md` writes it; `--check` says whether the
committed page is still what the table gives (the test suite runs the same comparison).
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING

from chatenv.problems import CONSTANTS, LEVELS, by_id

if TYPE_CHECKING:
    from collections.abc import Iterable

    from chatenv.problems import Problem

#: the page's chapters, in order, and which ids (by the part before the first dot) go in each
CHAPTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Any command", ("cli", "github")),
    (
        "chatenv doctor",
        (
            "doctor",
            "platform",
            "python",
            "packages",
            "gpu",
            "torch",
            "extensions",
            "loading",
            "deep",
            "disk",
            "openai",
            "hf",
            "dotenv",
            "network",
            "project",
        ),
    ),
    ("chatenv install", ("install",)),
    ("chatenv configure-key", ("key",)),
    ("The .env file", ("env-file",)),
    ("chatenv smoke-test", ("smoke", "dist")),
    ("The OpenAI API", ("api",)),
    ("chatenv setup", ("setup",)),
    ("chatenv init", ("init",)),
    ("chatenv schema", ("schema",)),
)

ALL_COMMANDS = ("doctor", "install", "configure-key", "smoke-test", "setup", "init", "schema")

LEVEL_WORDS: dict[str, str] = {
    "fail": "failure",
    "warn": "warning",
    "skip": "skipped",
    "error": "error (the command stops)",
    "usage": "usage error (exit 2)",
}

#: values that are only there sometimes (an optional tail of the line), shown as [...]
OPTIONAL: dict[str, str] = {
    "said": ": <the server's message>",
    "mps": "; Apple MPS is available",
    "via": " via proxy <proxy>",
    "through": " (through the proxy <proxy>)",
    "proxy_part": " <proxy> (from <variable>)",
    "more": " (and <n> more)",
    "wait": "; retry after <seconds> s",
    "ref": " (request id <id>)",
    "support": "; quote request id <id> to support",
    "uv": "; uv <version>",
    "or_unset": ", or unset <variable>",
    "also": " and uv is not on PATH",
    "error_code": " <error code>",
    "hint": " (did you mean <key>?)",
    "why": ": <why the project needs it>",
    "url": "; get it at <url>",
    "then": " (offline: setup cannot fetch it)",
    "force_hint": " (--force replaces it)",
}
#: values with a fixed set of words
CHOICES: dict[str, str] = {
    "kept": " (not saved | saved anyway)",
    "no_prompt": "<stdin is not a terminal | --yes asks nothing>",
}

HEADER = """\
<!-- Generated from src/chatenv/problems/table.py by
     `python -m chatenv.problems --write docs/troubleshooting.md`. Do not edit by hand:
     tests/test_problems.py fails when this page and the table differ. -->

# Troubleshooting

Every problem chatenv can report, what causes it, and how to fix it. These are the very lines
chatenv prints: the code takes each message and fix from the same table this page is made from.

**Find yours:** search this page for the words of the line chatenv printed (after `✗`, `!` or
`error:`). Below, `<name>` stands for what varies (a path, a version, a count) and `[...]` for a
part that only appears sometimes. Each entry's id is its link:
`docs/troubleshooting.md#gpu.driver-not-loaded`.

**How a problem shows:**
- **failure** (`✗`): a check or stage failed; the command exits 1.
- **warning** (`!`): worth fixing, but the command exits 0 (`chatenv doctor --strict` exits 1).
- **skipped** (`–`): a check that could not run here, with what would let it.
- **error** (the command stops): one line `error: ...` and its `fix: ...` on stderr, exit 1
  (130 for Ctrl-C).
- **usage error**: a bad option or input; one line on stderr, exit 2, nothing changed.

The fix is printed under the problem (`fix: ...`); `--verbose` adds the details chatenv
gathered. `--format json` (`--json`) carries the same message and fix in each result's
`summary` and `fix` (an error in its `error` field, see [json.md](json.md)), and `--format
markdown` and GitHub Actions annotations show them too.

`chatenv setup` runs the other commands' own code, so it reports their problems exactly as
they do, under each stage's heading, and its summary repeats the one that stopped it; the few
problems of its own are under [chatenv setup](#chatenv-setup).
"""


def placeholder(name: str, conversion: str | None) -> str:
    if name in CONSTANTS:
        return CONSTANTS[name]
    if name in OPTIONAL:
        return f"[{OPTIONAL[name]}]"
    if name in CHOICES:
        return CHOICES[name]
    shown = f"<{name.replace('_', ' ')}>"
    return f"'{shown}'" if conversion == "r" else shown


def shown(template: str) -> str:
    """A template as a reader sees it: values as `<name>`, constants filled in."""
    parts = []
    for literal, name, _spec, conversion in string.Formatter().parse(template):
        parts.append(literal)
        if name is not None:
            parts.append(placeholder(name, conversion))
    return "".join(parts)


def code(text: str) -> str:
    """`text` as an inline code span, whatever backticks it holds."""
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if longest or text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def chapter_of(entry: Problem) -> str:
    prefix = entry.id.partition(".")[0]
    for title, prefixes in CHAPTERS:
        if prefix in prefixes:
            return title
    raise ValueError(f"problem {entry.id}: no chapter of the page takes ids starting {prefix}.")


def anchor(text: str) -> str:
    """The anchor GitHub gives a heading."""
    kept = "".join(c for c in text.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def entry_lines(entry: Problem) -> list[str]:
    levels = " or ".join(LEVEL_WORDS[level] for level in entry.levels)
    commands = (
        "every command"
        if set(entry.commands) == set(ALL_COMMANDS)
        else ", ".join(f"`chatenv {c}`" for c in entry.commands)
    )
    lines = [
        f'<a id="{entry.id}"></a>',
        f"#### {entry.title}",
        "",
        f"`{entry.id}` · {levels} · {commands}",
        "",
        f"- **Message:** {code(shown(entry.message))}",
        f"- **Cause:** {entry.cause}",
    ]
    if entry.fix is not None:
        lines.append(f"- **Fix:** {code(shown(entry.fix))}")
    lines.append("")
    return lines


def grouped(entries: Iterable[Problem]) -> list[tuple[str, list[tuple[str, list[Problem]]]]]:
    """Chapters in the page's order, areas in the table's order."""
    chapters: dict[str, dict[str, list[Problem]]] = {title: {} for title, _ in CHAPTERS}
    for entry in entries:
        chapters[chapter_of(entry)].setdefault(entry.area, []).append(entry)
    return [(title, list(areas.items())) for title, areas in chapters.items() if areas]


def render() -> str:
    entries = list(by_id().values())
    assert all(level in LEVELS for e in entries for level in e.levels)
    chapters = grouped(entries)
    lines = [HEADER, "## Contents", ""]
    for title, areas in chapters:
        count = sum(len(found) for _, found in areas)
        lines.append(f"- [{title}](#{anchor(title)}) ({count})")
        if len(areas) > 1:
            lines.extend(
                f"  - [{area}](#{anchor(title + ' ' + area)}) ({len(found)})"
                for area, found in areas
            )
    lines.append("")
    for title, areas in chapters:
        lines += [f"## {title}", ""]
        for area, found in areas:
            if len(areas) > 1:
                # the area's anchor carries its chapter, so every anchor on the page is unique
                lines += [f'<a id="{anchor(title + " " + area)}"></a>', f"### {area}", ""]
            for entry in found:
                lines.extend(entry_lines(entry))
    return "\n".join(lines).rstrip("\n") + "\n"
