"""The house rules of the package, read from its imports (as pipx's tests/test_imports.py keeps
its own): every import statement counts, those inside functions too, so a lazy import cannot
dodge a rule.

- doctor's sections import the run's context (and `doctor/fixes.py`, which install shares),
  `chatenv.system` and library modules: never another section, never the runner or the list
  of sections;
- a command body (`chatenv.commands`) and everything below it never import the CLI, Typer or
  Click: only `chatenv.cli` parses command lines;
- no import circle among chatenv's modules.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "chatenv"
#: doctor modules that are not sections
DOCTOR_MACHINERY = {"chatenv.doctor.context", "chatenv.doctor.fixes"}
DOCTOR_RUN = {"chatenv.doctor.runner", "chatenv.doctor.sections", "chatenv.doctor"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@cache
def imports_of(name: str) -> frozenset[str]:
    """Every module `name` imports, anywhere in its source (`from a import b` counts a.b when
    that is a module, else a)."""
    path = modules()[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules() else base)
    return frozenset(found)


def _chatenv_imports(name: str) -> set[str]:
    return {m for m in imports_of(name) if m == "chatenv" or m.startswith("chatenv.")}


def sections() -> list[str]:
    return [
        m
        for m in modules()
        if m.startswith("chatenv.doctor.") and m not in DOCTOR_MACHINERY | DOCTOR_RUN
    ]


def test_the_rules_see_the_real_package() -> None:
    assert "chatenv.doctor.gpu" in sections() and "chatenv.doctor.context" not in sections()
    assert "chatenv.doctor.context" in _chatenv_imports("chatenv.doctor.gpu")
    # a lazy import inside a function is seen too
    assert "chatenv.commands.doctor" in _chatenv_imports("chatenv.cli.doctor_fast")


def test_a_section_imports_no_other_section_and_not_the_runner() -> None:
    offences = {
        section: sorted(
            m
            for m in _chatenv_imports(section)
            if m.startswith("chatenv.doctor") and m not in DOCTOR_MACHINERY
        )
        for section in sections()
    }
    assert {s: found for s, found in offences.items() if found} == {}


def test_nothing_outside_the_cli_imports_the_cli_typer_or_click() -> None:
    offences = {
        name: sorted(
            m
            for m in imports_of(name)
            if m.split(".")[0] in {"typer", "click"} or m.startswith("chatenv.cli")
        )
        for name in modules()
        # `python -m chatenv` is the console script by another name
        if not name.startswith("chatenv.cli") and name != "chatenv.__main__"
    }
    assert {n: found for n, found in offences.items() if found} == {}


def test_there_is_no_import_circle() -> None:
    graph = {name: _chatenv_imports(name) & set(modules()) - {name} for name in modules()}
    # a package's __init__ is imported with any of its modules: `a.b` depends on `a`
    circles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert circles == []
