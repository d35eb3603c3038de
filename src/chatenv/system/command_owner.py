"""Which distribution a console script belongs to, read from files: the script's `#!` line
names its interpreter, and the distribution whose RECORD lists the script owns it.

Why: the name `chatenv` on PyPI is another project's (a "typed environment profile manager",
0.0.1-0.2.15), and it ships a `chatenv` command with the same entry point as ours
(`chatenv = chatenv.cli:main`) and a `chatenv` import package. So neither the command's name
nor its entry point tells the two apart: only the installed distribution's own record does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from chatenv.records import dataclass
from chatenv.system.files import names_like

#: the distributions that install a `chatenv` command: ours, and the unrelated project's
CANDIDATES = ("chatenv_cli", "chatenv")


@dataclass(frozen=True)
class ScriptOwner:
    script: Path
    #: the interpreter its `#!` line names (None: not a Python script, e.g. a native launcher)
    interpreter: str | None
    #: the distribution whose RECORD lists the script, as its metadata names it (None: unknown)
    distribution: str | None = None
    version: str | None = None
    summary: str | None = None


def _shebang(script: Path) -> str | None:
    try:
        with script.open("rb") as f:
            first = f.readline(4096)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode(errors="replace").split()
    if not words:
        return None
    # `#!/usr/bin/env python3` and pip's `#!/bin/sh` + exec trampolines name no path we can use
    return words[0] if words[0].startswith("/") and "python" in Path(words[0]).name else None


def _site_dirs(interpreter: str) -> list[Path]:
    prefix = Path(interpreter).parent.parent
    lib = prefix / "lib"
    found = [
        *(lib / name / "site-packages" for name in names_like(lib, "python3", "")),
        prefix / "Lib" / "site-packages",
    ]
    return [p for p in found if p.is_dir()]


def _headers(metadata: Path) -> dict[str, str]:
    wanted = {"Name", "Version", "Summary"}
    found: dict[str, str] = {}
    try:
        with metadata.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                if key in wanted:
                    found[key] = value.strip()
    except OSError:
        pass
    return found


def _lists(record: Path, site: Path, script: Path) -> bool:
    try:
        text = record.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    target = os.path.normcase(os.path.abspath(script))
    for line in text.splitlines():
        entry = line.split(",", 1)[0]
        if entry and os.path.normcase(os.path.abspath(site / entry)) == target:
            return True
    return False


def script_owner(script: Path, site_dirs: list[Path] | None = None) -> ScriptOwner:
    """Who installed `script`: its interpreter, and the distribution (ours or the other
    `chatenv`) whose RECORD lists it, looked for in that interpreter's site-packages (or
    `site_dirs`). Reads a handful of small files; never runs the script."""
    interpreter = _shebang(script)
    if site_dirs is None:
        site_dirs = _site_dirs(interpreter) if interpreter else []
    for site in site_dirs:
        for candidate in CANDIDATES:
            for info in (site / name for name in names_like(site, f"{candidate}-", ".dist-info")):
                if _lists(info / "RECORD", site, script):
                    headers = _headers(info / "METADATA")
                    return ScriptOwner(
                        script,
                        interpreter,
                        headers.get("Name"),
                        headers.get("Version"),
                        headers.get("Summary"),
                    )
    return ScriptOwner(script, interpreter)


def same_interpreter(a: str | None, b: str = sys.executable) -> bool:
    """Do two interpreter paths run the same environment? (A venv's python3 and python, and
    links to one binary, count as the same.)"""
    if a is None:
        return False
    pa, pb = Path(a), Path(b)
    if pa.parent == pb.parent:
        return True
    try:
        return pa.resolve() == pb.resolve() and pa.parent.resolve() == pb.parent.resolve()
    except OSError:
        return False
