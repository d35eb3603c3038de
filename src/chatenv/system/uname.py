"""What the `platform` module says about the OS and the interpreter, read the way it reads it,
without importing it where it only wraps `os.uname()` and `sys`.

`import platform` costs ~2 ms of a ~0.1 s doctor run on a 2-core machine, and the first call
of `platform.python_version()` or `python_implementation()` compiles five regular expressions
for `sys.version` strings of interpreters chatenv never meets (IronPython, Jython): ~1 ms
more. On Linux and macOS, `platform.uname()` is `os.uname()` field for field, and CPython's and
PyPy's version are the first word of `sys.version`; everywhere else (Windows, Cygwin, an
interpreter of another name) these functions ask `platform` itself. tests/system/test_uname.py
holds each answer to `platform`'s, on this machine and on recorded `sys.version` strings.
"""

from __future__ import annotations

import functools
import os
import sys

#: sys.implementation.name -> what platform.python_implementation() says for it
_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy"}
#: the characters of the version word platform's `sys.version` parser takes (`[\w.+]+`)
_VERSION_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+")


@functools.cache
def _posix_uname() -> os.uname_result | None:
    """os.uname() (asked once: it cannot change) where platform.uname() is exactly it: a
    POSIX system that names itself (not Cygwin or MSYS, not OpenVMS, not the old
    "Microsoft"/"Windows" pair platform renames)."""
    if sys.platform in ("win32", "cygwin", "msys") or not hasattr(os, "uname"):
        return None
    found = os.uname()
    if not found.sysname or found.sysname in ("OpenVMS", "Microsoft"):
        return None
    return found


def _field(index: int, ask: str) -> str:
    """Field `index` of os.uname() where that is platform's answer, else platform.`ask`()."""
    found = _posix_uname()
    if found is not None:
        return found[index]
    import platform

    answer: str = getattr(platform, ask)()
    return answer


def system() -> str:
    """platform.system(): "Linux", "Darwin", "Windows"."""
    return _field(0, "system")


def release() -> str:
    """platform.release(): the kernel's release ("6.8.0-45-generic", "23.4.0")."""
    return _field(2, "release")


def version() -> str:
    """platform.version(): the kernel's build string."""
    return _field(3, "version")


def machine() -> str:
    """platform.machine(): this interpreter's architecture ("x86_64", "arm64", "AMD64")."""
    return _field(4, "machine")


def python_implementation() -> str:
    """platform.python_implementation(): "CPython", "PyPy", ..."""
    name = _IMPLEMENTATIONS.get(sys.implementation.name)
    if name is not None and _version_word(sys.version) is not None:
        return name
    import platform

    return platform.python_implementation()


def python_version() -> str:
    """platform.python_version(): "3.11.7", "3.13.0rc1", "3.14.0a1+"."""
    word = _version_word(sys.version) if sys.implementation.name in _IMPLEMENTATIONS else None
    if word is not None:
        return word
    import platform

    return platform.python_version()


def _version_word(text: str) -> str | None:
    """The version platform's parser reads off a CPython or PyPy `sys.version`: its first word,
    up to the first character outside `[\\w.+]`, with a missing patch level added ("3.11" ->
    "3.11.0"). None when the text does not start that way (then platform decides)."""
    first = text.split(None, 1)[0] if text.strip() else ""
    end = 0
    while end < len(first) and first[end] in _VERSION_CHARS:
        end += 1
    word = first[:end]
    if not word or not word[0].isdigit() or end != len(first):
        return None
    parts = word.split(".")
    return ".".join([*parts, "0"]) if len(parts) == 2 else word
