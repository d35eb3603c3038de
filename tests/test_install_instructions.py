"""Every install instruction chatenv gives installs what it means to: README, docs/, the
examples and the table of problems (every fix and message chatenv prints) are scanned for
`pip install`, `pipx install`, `uv tool install` and `uv pip install` lines, and each
distribution they name must be ours (`chatenv-cli`, from its repository or, once published, by
name) or one of the packages chatenv pins. `pip install chatenv` installs an unrelated project
(the index's `chatenv` 0.0.1-0.2.15, "typed environment profile manager", with a `chatenv`
command of its own): it may appear only where the text warns against it."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from chatenv.install.pins import load_pins
from chatenv.problems import CONSTANTS, by_id

ROOT = Path(__file__).resolve().parents[1]
INSTALL = re.compile(r"\b(?:pipx install|uv tool install|uv pip install|pip install)\b(.*)")
OURS = {"chatenv-cli"}
REPOSITORY = "git+https://github.com/chatenv/chatenv"
#: pip options that take a value (the value is not a distribution)
VALUE_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "--index-url", "-i",
                 "--extra-index-url", "--python", "-p", "--target", "--report", "--log",
                 "-f", "--find-links"}  # fmt: skip
#: where naming `pip install chatenv` is a warning against it
WARNINGS = ("Do not run", "Never `pip install chatenv`", "not `pip install chatenv`",
            "installs another project", "is another project", "belongs to another project",
            "installs an unrelated project")  # fmt: skip
#: besides the pins: pip itself (`--upgrade pip`)
ALSO_ALLOWED = {"pip"}


def _pinned() -> set[str]:
    """The pins, pip, and the compiled packages around torch that doctor's extensions section
    knows: its fixes reinstall the user's own torchvision or vllm matched to their torch."""
    from chatenv.extension_builds import KNOWN

    names = set(ALSO_ALLOWED) | {canonicalize_name(k.name) for k in KNOWN}
    for profile in load_pins().profiles.values():
        names.update(p.name for p in profile.pins)
    return names


def _texts() -> list[tuple[str, str]]:
    """(where, line) for every line of README, docs/, examples and the problem table."""
    found: list[tuple[str, str]] = []
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    files += sorted((ROOT / "examples").rglob("*.py"))
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found.append((f"{path.relative_to(ROOT)}:{number}", line))
    for entry in by_id().values():
        for field in ("message", "cause", "fix"):
            text = getattr(entry, field) or ""
            # the constants as the user sees them; the code's own values stay as templates
            for name, value in CONSTANTS.items():
                text = text.replace("{" + name + "}", value)
            found.append((f"problem {entry.id} ({field})", text))
    return found


def _words(rest: str) -> list[str]:
    """The arguments after `pip install`, up to where the shell command ends."""
    rest = re.split(r"`|&&|\|\||;|\s#|\s\(or|\s{3}", rest)[0].rstrip(" \\")
    try:
        return shlex.split(rest)
    except ValueError:  # an unbalanced quote in prose
        return rest.split()


def _distributions(words: list[str]) -> list[str]:
    """The distributions named (options, their values, paths and placeholders dropped)."""
    names: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word in VALUE_OPTIONS:
            skip = True
            continue
        if word.startswith("-") or "{" in word or word.startswith("<") or word in ("\\", "..."):
            continue
        if word.startswith((".", "/", "~")) or word.endswith((".whl", ".txt")):
            continue  # a local path: a clone of chatenv, a wheel, a requirements file
        if word.startswith(REPOSITORY):
            names.append("chatenv-cli")
            continue
        try:
            names.append(canonicalize_name(Requirement(word).name))
        except InvalidRequirement:  # a placeholder version (`torch==X`): the name before it
            names.append(canonicalize_name(re.split(r"[^A-Za-z0-9._-]", word)[0]))
    return names


def _instructions() -> list[tuple[str, str, list[str]]]:
    found = []
    for where, line in _texts():
        for match in INSTALL.finditer(line):
            found.append((where, line, _distributions(_words(match.group(1)))))
    return found


def test_the_scan_reads_the_real_instructions() -> None:
    names = {n for _, _, dists in _instructions() for n in dists}
    assert {"chatenv-cli", "torch", "openai"} <= names
    # the table's constant is resolved: the fixes that install chatenv name it
    fixes = [w for w, _, d in _instructions() if w.startswith("problem") and "chatenv-cli" in d]
    assert any("python.system-interpreter" in w for w in fixes)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("pip install chatenv", ["chatenv"]),
        ("pipx install chatenv", ["chatenv"]),
        ("uv tool install chatenv==0.2.15", ["chatenv"]),
        ("pip install -e '.[test]' 'torch==2.13.0' && pytest", ["torch"]),
        ("pip install 'chatenv-cli @ git+https://github.com/chatenv/chatenv'", ["chatenv-cli"]),
        ("python -m pip install --index-url https://x/simple torch==2.7.1", ["torch"]),
        ("pip install '{requirement}'   (or: chatenv install api)", []),
    ],
)
def test_the_scan_reads_each_form_of_install_line(line: str, expected: list[str]) -> None:
    match = INSTALL.search(line)
    assert match is not None
    assert _distributions(_words(match.group(1))) == expected


def _declared_on(page: str) -> set[str]:
    """The packages a worked example on a docs page declares (its ```toml blocks' [project]
    dependencies and extras): doctor's fixes on that page install the example project's own."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    path = ROOT / page
    if not path.is_file() or path.suffix != ".md":
        return set()
    names: set[str] = set()
    for block in re.findall(r"```toml\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
        try:
            project = tomllib.loads(block).get("project", {})
        except tomllib.TOMLDecodeError:
            continue
        requirements = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            requirements += extra
        names.update(canonicalize_name(Requirement(r).name) for r in requirements)
    return names


def test_every_install_instruction_installs_ours_or_a_pinned_package() -> None:
    allowed = OURS | _pinned()
    wrong = []
    for where, line, dists in _instructions():
        declared = _declared_on(where.partition(":")[0])
        for name in dists:
            if name in declared:
                continue  # a worked example's project, installing its own requirements
            if name == "chatenv" and any(w in line for w in WARNINGS):
                continue  # the warning against the other project's name
            if name not in allowed:
                wrong.append(f"{where}: installs {name!r}: {line.strip()}")
    assert wrong == []
