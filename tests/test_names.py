"""chatenv.names.canonicalize_name is packaging's, on every installed distribution's name and
on generated ones."""

from __future__ import annotations

import importlib.metadata

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name as packagings

from chatenv.names import canonicalize_name


def test_every_installed_name() -> None:
    names = {d.metadata["Name"] for d in importlib.metadata.distributions()}
    assert len(names) > 30
    for name in names:
        assert canonicalize_name(name) == packagings(name), name


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="aZ09-_.. İß", max_size=20))
def test_generated_names(name: str) -> None:
    assert canonicalize_name(name) == packagings(name)
