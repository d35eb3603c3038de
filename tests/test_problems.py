"""The table of problems is the one source of the code's problem messages and of
docs/troubleshooting.md: these tests read the source to prove the code and the table agree, and
regenerate the page to prove the page and the table agree."""

from __future__ import annotations

import ast
import string
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from chatenv.errors import ChatenvError, UsageError
from chatenv.problems import CHECK_KEYWORDS, CONSTANTS, LEVELS, by_id, problem
from chatenv.problems.page import CHAPTERS, OPTIONAL, chapter_of, code, render, shown
from chatenv.results import Status

if TYPE_CHECKING:
    from collections.abc import Iterator

    from chatenv.problems import Problem

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "chatenv"
PAGE = REPO / "docs" / "troubleshooting.md"
COMMANDS = {"doctor", "install", "configure-key", "smoke-test", "setup", "init", "schema"}
#: which templates each way of using an entry fills in
METHOD_FIELDS = {
    "text": "message",
    "fix_for": "fix",
    "pair": "both",
    "check": "both",
    "error": "both",
}


@dataclass(frozen=True)
class Use:
    """One `problem("id").method(...)` in the package's source."""

    where: str  # "path:line"
    problem_id: str | None  # None: not a string literal
    method: str | None  # None: not called as problem(id).method(...)
    keywords: frozenset[str] | None  # None: values passed with **
    first_arg: ast.expr | None


def uses() -> Iterator[Use]:
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "problem"
            ):
                continue
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            literal = node.args[0] if len(node.args) == 1 and not node.keywords else None
            problem_id = (
                literal.value
                if isinstance(literal, ast.Constant) and isinstance(literal.value, str)
                else None
            )
            attribute = parents.get(node)
            call = parents.get(attribute) if attribute is not None else None
            if not (
                isinstance(attribute, ast.Attribute)
                and isinstance(call, ast.Call)
                and call.func is attribute
            ):
                yield Use(where, problem_id, None, None, None)
                continue
            names = [k.arg for k in call.keywords]
            keywords = None if None in names else frozenset(n for n in names if n)
            first = call.args[0] if call.args else None
            yield Use(where, problem_id, attribute.attr, keywords, first)


USES = list(uses())


def test_the_source_uses_the_table() -> None:
    # a guard for the scan itself: if it found nothing, every test below would pass vacuously
    assert len(USES) > 200


def test_every_use_names_an_id_in_the_table_as_a_literal() -> None:
    table = by_id()
    bad = [u.where for u in USES if u.problem_id is None or u.problem_id not in table]
    assert bad == []


def test_every_entry_of_the_table_is_used_by_the_code() -> None:
    used = {u.problem_id for u in USES}
    assert sorted(set(by_id()) - used) == []


def test_every_use_passes_exactly_the_values_its_templates_need() -> None:
    wrong = []
    for use in USES:
        if use.problem_id is None or use.problem_id not in by_id():
            continue
        entry = problem(use.problem_id)
        if use.method not in METHOD_FIELDS or use.keywords is None:
            wrong.append(f"{use.where}: use problem(id).text/fix_for/pair/check/error(name=...)")
            continue
        passed = use.keywords - CHECK_KEYWORDS if use.method == "check" else use.keywords
        needed = entry.fields(METHOD_FIELDS[use.method])  # type: ignore[arg-type]
        if passed != needed:
            wrong.append(
                f"{use.where} {use.problem_id}: passes {sorted(passed)}, needs {sorted(needed)}"
            )
    assert wrong == []


def test_reported_statuses_and_errors_match_the_entries_levels() -> None:
    wrong = []
    for use in USES:
        if use.problem_id not in by_id():
            continue
        entry = problem(use.problem_id)  # type: ignore[arg-type]
        if use.method == "check":
            first = use.first_arg
            if not (
                isinstance(first, ast.Attribute)
                and isinstance(first.value, ast.Name)
                and first.value.id == "Status"
            ):
                continue  # a status chosen at run time (network: fail or warn)
            if Status[first.attr].value not in entry.levels:
                wrong.append(f"{use.where}: Status.{first.attr} for {entry.id} {entry.levels}")
        elif (
            use.method == "error"
            and use.first_arg is None  # an exception of its own kind may become a result
            and not {"error", "usage"} & set(entry.levels)
        ):
            wrong.append(f"{use.where}: raises {entry.id}, whose levels are {entry.levels}")
    assert wrong == []


@pytest.mark.parametrize("entry", list(by_id().values()), ids=lambda e: e.id)
def test_entry_is_complete_and_its_templates_are_well_formed(entry: Problem) -> None:
    assert set(entry.commands) <= COMMANDS and entry.commands
    assert entry.levels and set(entry.levels) <= set(LEVELS)
    assert entry.title and not entry.title.endswith(".")
    assert entry.cause.rstrip().endswith((".", ")")), "the cause is a sentence"
    chapter_of(entry)  # raises for an id no chapter of the page takes
    for template in (entry.message, entry.fix or ""):
        names = [n for _, n, _, _ in string.Formatter().parse(template) if n]
        assert all(n.isidentifier() for n in names), names
        assert not set(names) & CHECK_KEYWORDS, "these names are Problem.check's own arguments"
    assert "\n" not in entry.message, "a message is one line"


def test_ids_are_unique_and_grouped_by_a_known_prefix() -> None:
    from chatenv.problems.table import PROBLEMS

    ids = [p.id for p in PROBLEMS]
    assert len(ids) == len(set(ids))
    prefixes = {prefix for _, found in CHAPTERS for prefix in found}
    assert {i.partition(".")[0] for i in ids} <= prefixes


def test_check_fills_in_values_and_constants() -> None:
    result = problem("openai.key-shape").check(
        Status.WARN, "openai.key", data={"x": 1}, masked="ab…cd", where="the environment"
    )
    assert result.summary == (
        "key ab…cd from the environment does not start with sk-, as OpenAI keys do (used anyway)"
    )
    assert result.fix == f"check it at {CONSTANTS['KEYS_PAGE']}"
    assert (result.id, result.status, dict(result.data)) == ("openai.key", Status.WARN, {"x": 1})


def test_error_is_a_usage_error_for_usage_problems_and_takes_a_given_kind() -> None:
    usage = problem("smoke.model-empty").error()
    assert type(usage) is UsageError and usage.exit_code == 2
    failed = problem("install.uv-missing").error()
    assert type(failed) is ChatenvError and failed.exit_code == 1

    class Special(ChatenvError):
        exit_code = 130

    special = problem("key.interrupted").error(Special)
    assert isinstance(special, Special) and special.message == "interrupted: nothing was written"


def test_a_fix_passed_on_empty_is_no_fix() -> None:
    assert problem("key.unverified-saved").fix_for(api_fix="") is None
    assert problem("key.timeout-range").fix_for() is None


def test_the_page_shows_placeholders_optional_parts_and_constants() -> None:
    assert shown("the key {masked} at {KEYS_PAGE}") == (
        f"the key <masked> at {CONSTANTS['KEYS_PAGE']}"
    )
    assert shown("refused{said}") == f"refused[{OPTIONAL['said']}]"
    assert shown("{value!r} hides {path_entry:>4}") == "'<value>' hides <path entry>"
    assert code("one `git add .` away") == "`` one `git add .` away ``"
    assert code("plain") == "`plain`"


def test_the_committed_troubleshooting_page_is_what_the_table_gives() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), (
        "docs/troubleshooting.md is stale: python -m chatenv.problems --write "
        "docs/troubleshooting.md"
    )


def test_every_problem_has_its_anchor_message_cause_and_fix_on_the_page() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for entry in by_id().values():
        section = page.split(f'<a id="{entry.id}"></a>', 1)[1].split("<a id=", 1)[0]
        assert code(shown(entry.message)) in section
        assert entry.cause in section
        assert entry.fix is None or code(shown(entry.fix)) in section


def test_check_option_reports_a_stale_page_with_the_command_that_fixes_it(tmp_path: Path) -> None:
    stale = tmp_path / "troubleshooting.md"
    stale.write_text(render().replace("chmod 600", "chmod 644"), encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "chatenv.problems", *args],
            capture_output=True,
            text=True,
            check=False,
        )

    done = run("--check", str(stale))
    assert done.returncode == 1
    assert f"fix: python -m chatenv.problems --write {stale}" in done.stderr
    assert run("--write", str(stale)).returncode == 0
    assert run("--check", str(stale)).returncode == 0
    assert stale.read_text(encoding="utf-8") == render()


#: calls that build a problem's line: the exception types, a failed step, an error report,
#: and failed or warning results
_MESSAGE_CALLS = {"UsageError", "ChatenvError", "StepFailed", "error_report", "CommandError"}
_RESULT_CALLS = {"fail", "warn"}
_NOTICES = {"notice", "error"}
#: functions allowed to compose a line from literals: setup's summary line for a stage wraps
#: that stage's own (table) message as "install (3.2 s): <message>"
_COMPOSERS = {"src/chatenv/stages.py:stage_result"}


def _is_text(node: ast.expr | None) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def _literal_lines(path: Path) -> Iterator[str]:
    """Calls in `path` that write a problem's message or fix as a literal (or f-string)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        where = f"{path.relative_to(REPO)}:{function.name}"
        if where in _COMPOSERS:
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            owner = getattr(getattr(func, "value", None), "id", None)
            message: ast.expr | None = None
            if name in _MESSAGE_CALLS and node.args:
                index = 1 if name in ("StepFailed", "error_report") else 0
                message = node.args[index] if len(node.args) > index else None
            elif name in _RESULT_CALLS and owner == "CheckResult" and len(node.args) > 1:
                message = node.args[1]
            elif name in _NOTICES and node.args and (owner == "output" or name == "notice"):
                message = node.args[0]
            fixes = [k.value for k in node.keywords if k.arg == "fix"]
            if _is_text(message) or any(_is_text(f) for f in fixes):
                yield f"{where} line {node.lineno}"


def test_no_failure_warning_or_error_is_worded_outside_the_table() -> None:
    """The table's rule, checked: messages and fixes come from problem("id"), so the
    troubleshooting page lists every one of them."""
    found = [
        line
        for path in sorted(SRC.rglob("*.py"))
        if "problems" not in path.relative_to(SRC).parts
        for line in _literal_lines(path)
    ]
    assert found == []
