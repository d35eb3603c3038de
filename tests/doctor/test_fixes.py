"""Fix lines name the interpreter whose packages were checked, quoted for a shell."""

from __future__ import annotations

import shlex

from chatenv.doctor.fixes import HERE, FixTarget


def test_doctors_own_fixes_name_no_interpreter() -> None:
    assert HERE.option == ""
    assert HERE.pip_install("'rich>=13.7'") == "python -m pip install 'rich>=13.7'"


def test_another_interpreter_is_named_and_quoted_so_the_line_pastes() -> None:
    target = FixTarget("/home/me/my project/.venv/bin/python")
    install = f"chatenv install api{target.option}"  # as the problem table writes fixes
    assert shlex.split(install) == [
        "chatenv",
        "install",
        "api",
        "--python",
        "/home/me/my project/.venv/bin/python",
    ]
    assert shlex.split(target.pip_install("httpx"))[:4] == [
        "/home/me/my project/.venv/bin/python",
        "-m",
        "pip",
        "install",
    ]
    assert shlex.split(target.command) == ["/home/me/my project/.venv/bin/python"]
