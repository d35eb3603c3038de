"""The docs cannot drift from the CLI: every command has a page, every option and argument
`chatenv <command> --help` shows is in the page with its default, every exit code its help
names is in the page's table, and every relative link in README.md and docs/ leads somewhere."""

from __future__ import annotations

import re
from enum import Enum
from typing import TYPE_CHECKING, Any

import pytest
import typer

from chatenv.cli import app
from chatenv.problems import by_id
from tests.conftest import REPO, clean_env

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import RunCli

DOCS = REPO / "docs"
COMMANDS = ("doctor", "install", "configure-key", "smoke-test", "setup", "init", "schema")
#: the exit codes each command's help must name (schema has no failure of its own: 0 or 2)
NAMED_CODES = {command: {"0", "1", "2"} for command in COMMANDS} | {"schema": {"0", "2"}}
_FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def section(page: str, title: str) -> str:
    """The text under `## title`, up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", page, re.M | re.S)
    assert match, f"no '## {title}' section"
    return match.group(1)


def help_flags(text: str) -> list[str]:
    """The flags in the Options part of a --help text (not -h/--help)."""
    flags: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.strip() in ("Options:", "Arguments:"):
            inside = line.strip() == "Options:"
            continue
        if inside and line.startswith("  -"):
            spec = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
            flags += [f for f in _FLAG.findall(spec) if f not in ("-h", "--help")]
    return flags


def shown_default(value: object) -> str:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def params(command: str) -> list[Any]:
    """The command's parameters as click sees them (typer may carry its own copy of click, so
    they are read by their attributes, not checked against click's classes)."""
    group: Any = typer.main.get_command(app)
    return list(group.commands[command].params)


def test_every_command_of_the_cli_has_a_page() -> None:
    group: Any = typer.main.get_command(app)
    assert set(group.commands) == set(COMMANDS)
    assert [c for c in COMMANDS if not (DOCS / f"{c}.md").is_file()] == []


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_in_help_is_in_the_commands_page(command: str, run_cli: RunCli) -> None:
    done = run_cli(command, "--help", env=clean_env(COLUMNS="250"))
    assert done.returncode == 0, done.stderr
    flags = help_flags(done.stdout)
    declared = {
        flag
        for param in params(command)
        if param.param_type_name == "option"
        for flag in (*param.opts, *param.secondary_opts)
    }
    assert set(flags) == declared  # the parse found every option, and only options
    options = section((DOCS / f"{command}.md").read_text(encoding="utf-8"), "Options")
    missing = [f for f in flags if f"`{f}`" not in options and f"`{f} " not in options]
    assert missing == [], f"docs/{command}.md's Options table lacks {missing}"


@pytest.mark.parametrize(
    "command", [c for c in COMMANDS if any(p.param_type_name == "argument" for p in params(c))]
)
def test_every_argument_is_in_the_options_table(command: str) -> None:
    options = section((DOCS / f"{command}.md").read_text(encoding="utf-8"), "Options")
    rows = [line for line in options.splitlines() if line.startswith("|")]
    for param in params(command):
        if param.param_type_name == "argument":
            assert any(re.match(rf"\|\s*`{param.metavar}\b", row) for row in rows), param.metavar


@pytest.mark.parametrize("command", COMMANDS)
def test_every_default_is_in_the_options_row(command: str) -> None:
    options = section((DOCS / f"{command}.md").read_text(encoding="utf-8"), "Options")
    rows = [line for line in options.splitlines() if line.startswith("|")]
    wrong = []
    for param in params(command):
        if param.param_type_name != "option" or param.is_flag or param.default is None:
            continue
        flag = max(param.opts, key=len)
        row = next((r for r in rows if f"`{flag}`" in r or f"`{flag} " in r), "")
        if f"`{shown_default(param.default)}`" not in row:
            wrong.append(f"{flag}: default `{shown_default(param.default)}` not in {row!r}")
    assert wrong == []


@pytest.mark.parametrize("command", COMMANDS)
def test_every_exit_code_in_help_is_in_the_exit_codes_table(command: str, run_cli: RunCli) -> None:
    done = run_cli(command, "--help", env=clean_env(COLUMNS="250"))
    said = " ".join(done.stdout.split())
    sentence = re.search(r"Exit (\d+.*?)(?:\.|$)", said)
    assert sentence, "the help names its exit codes"
    codes = set(re.findall(r"\b(\d{1,3})\b", sentence.group(1)))
    assert NAMED_CODES[command] <= codes
    table = section((DOCS / f"{command}.md").read_text(encoding="utf-8"), "Exit codes")
    missing = [c for c in sorted(codes) if not re.search(rf"^\|\s*{c}\s*\|", table, re.M)]
    assert missing == []


def _links(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # not in code blocks
    return re.findall(r"\]\(([^)\s]+)\)", text)


PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_lead_to_files_and_troubleshooting_anchors(page: Path) -> None:
    broken = []
    for link in _links(page):
        if "://" in link or link.startswith(("mailto:", "#")):
            continue
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve()
        if not path.exists():
            broken.append(link)
        elif path.name == "troubleshooting.md" and anchor:
            page_text = path.read_text(encoding="utf-8")
            if anchor not in by_id() and f'<a id="{anchor}">' not in page_text:
                headings = re.findall(r"^#+ (.*)$", page_text, re.M)
                if anchor not in {_anchor(h) for h in headings}:
                    broken.append(link)
    assert broken == []


def _anchor(heading: str) -> str:
    kept = "".join(c for c in heading.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def test_the_docs_index_links_every_page_and_the_readme_links_the_index() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    linked = {link.partition("#")[0] for link in _links(DOCS / "README.md")}
    pages = {p.name for p in DOCS.glob("*.md") if p.name != "README.md"}
    assert pages <= linked, f"docs/README.md does not link {sorted(pages - linked)}"
    assert "troubleshooting" in index
    readme_links = {link.partition("#")[0] for link in _links(REPO / "README.md")}
    for page in ("docs/README.md", "docs/getting-started.md", "docs/troubleshooting.md"):
        assert page in readme_links
    # every command: in the index's table of commands, and linked from its README section
    table = section(index, "The commands")
    assert [c for c in COMMANDS if f"`chatenv {c}`" not in table] == []
    assert [c for c in COMMANDS if f"docs/{c}.md" not in readme_links] == []
