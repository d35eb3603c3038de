"""chatenv.system.uname says what `platform` says: on this machine, and for recorded
`sys.version` strings read by platform's own parser (`platform._sys_version`)."""

from __future__ import annotations

import platform
import sys

import pytest

from chatenv.system import uname
from tests.conftest import fresh_python


def test_each_answer_is_platforms_on_this_machine() -> None:
    assert uname.system() == platform.system()
    assert uname.release() == platform.release()
    assert uname.version() == platform.version()
    assert uname.machine() == platform.machine()
    assert uname.python_implementation() == platform.python_implementation()
    assert uname.python_version() == platform.python_version()


# sys.version strings: this interpreter's own, then made-up ones in the two shapes platform's
# parser reads (its CPython and PyPy patterns): release candidates, a dev build's "+", a
# two-part version (platform adds ".0")
RECORDED = [
    sys.version,
    "3.11.7 (main, Dec  8 2023, 18:56:58) [GCC 11.4.0]",
    "3.12.3 (main, Nov  6 2024, 18:32:19) [GCC 13.2.0]",
    "3.13.0rc1 (main, Aug  1 2024, 12:00:00) [Clang 15.0.0 (clang-1500.3.9.4)]",
    "3.14.0a1+ (heads/main:0123456789, Oct 15 2024, 10:00:00) [GCC 14.2.0]",
    "3.10.14 (75b3de9d9da1, Aug 28 2024, 05:47:25)\n[PyPy 7.3.17 with GCC 10.2.1 20210130]",
    "3.12 (main, Jan  1 2024, 00:00:00) [GCC 13.2.0]",
]


@pytest.mark.parametrize("text", RECORDED)
def test_version_word_is_platforms(text: str) -> None:
    name, version, *_ = platform._sys_version(text)  # type: ignore[attr-defined]
    assert name in ("CPython", "PyPy")
    assert uname._version_word(text) == version


@pytest.mark.parametrize("text", ["", "  ", "IronPython 2.7.12", "3.11.7-custom (main) [GCC]"])
def test_an_unusual_version_is_left_to_platform(text: str) -> None:
    assert uname._version_word(text) is None


def test_nothing_imports_platform() -> None:
    code = (
        "import sys; from chatenv.system import uname as u; "
        "[f() for f in (u.system, u.release, u.version, u.machine, u.python_version, "
        "u.python_implementation)]; print('platform' in sys.modules)"
    )
    assert fresh_python(code).strip() == ("True" if sys.platform == "win32" else "False")
