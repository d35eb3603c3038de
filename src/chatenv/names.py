"""Distribution names as the package index compares them (PEP 503: runs of `-`, `_` and `.`
become one `-`, all lower case): `packaging.utils.canonicalize_name`, without importing
`packaging.utils`, whose wheel-tag module pulls in logging, subprocess and sysconfig (12-17 ms
of every doctor run on the 2-core machine; chatenv needs no wheel tags there).
tests/test_names.py checks it against packaging's on every installed name and generated ones.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[-_.]+")


def canonicalize_name(name: str) -> str:
    """ "Foo.Bar__baz" -> "foo-bar-baz", as packaging.utils.canonicalize_name has it."""
    return _SEPARATORS.sub("-", name).lower()
