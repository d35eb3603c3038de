"""Fix lines name the interpreter whose packages were checked, quoted for a shell."""

from __future__ import annotations

import shlex

from chatenv.doctor.fixes import HERE, FixTarget


def test_doctors_own_fixes_name_no_interpreter() -> None:
    assert HERE.chatenv_install("local --torch cu126") == "chatenv install local --torch cu126"
    assert HERE.pip_install("'rich>=13.7'") == "python -m pip install 'rich>=13.7'"
    assert HERE.ask_torch() == "chatenv doctor --deep  # asks torch itself"


def test_another_interpreter_is_named_and_quoted_so_the_line_pastes() -> None:
    target = FixTarget("/home/me/my project/.venv/bin/python")
    install = target.chatenv_install("api")
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
    ask = shlex.split(target.ask_torch(), comments=True)
    assert ask[0] == "/home/me/my project/.venv/bin/python" and "get_arch_list" in ask[2]
