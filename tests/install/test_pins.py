"""pins.toml is the one source of truth; pyproject.toml's dependencies and extras must say the
same (pins.toml's header promises this test)."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from chatenv.errors import UsageError
from chatenv.install.pins import USER_PROFILES, load_pins, read_toml
from tests.conftest import REPO, fresh_python

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _pyproject() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _as_pins(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        req = Requirement(line)
        if req.marker is not None or req.name == "chatenv":
            continue
        out[canonicalize_name(req.name)] = str(req.specifier)
    return out


@pytest.mark.parametrize("profile", ["api", "local"])
def test_pyproject_extras_match_the_pins(profile: str) -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    extras = _as_pins(project["optional-dependencies"][profile])
    pins = {p.name: str(p.spec) for p in load_pins().profile(profile).pins}
    assert extras == pins


def test_pyproject_dependencies_match_the_base_pins() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    deps = _as_pins(project["dependencies"])
    pins = {p.name: str(p.spec) for p in load_pins().profile("base").pins}
    assert deps == pins


def test_all_is_api_and_local_together() -> None:
    pins = load_pins()
    names = {p.name for p in pins.profile("all").pins}
    assert names == {p.name for n in ("api", "local") for p in pins.profile(n).pins}
    assert set(USER_PROFILES) == {"api", "local", "all"}


def test_unknown_profile_is_a_usage_error_naming_the_known_ones() -> None:
    with pytest.raises(UsageError) as err:
        load_pins().profile("gpu")
    assert "unknown profile 'gpu'" in err.value.message and "api, local, all" in err.value.message


def test_a_pin_allows_prereleases_inside_it_and_cannot_judge_an_unreadable_version() -> None:
    torch = next(p for p in load_pins().profile("local").pins if p.name == "torch")
    assert torch.allows("2.13.0+cu130") is True
    assert torch.allows("2.13.1rc1") is True
    assert torch.allows("2.3.1") is False
    assert torch.allows("not-a-version") is None


def test_pins_toml_is_read_without_tomllib() -> None:
    """The line reader reads pins.toml itself (a line it did not know would send the file to
    tomllib), and reads it as tomllib does."""
    text = (REPO / "src/chatenv/install/pins.toml").read_text(encoding="utf-8")
    assert read_toml(text) == tomllib.loads(text)
    code = (
        "import sys; from chatenv.install.pins import load_pins; load_pins(); "
        "print(sorted(m for m in ('tomllib', 'tomli') if m in sys.modules))"
    )
    assert fresh_python(code).strip() == "[]"


_KEYS = st.sampled_from(["packages", "description", "includes", "a", "b-c", "torch", "x_1", '"q"'])
_STRINGS = st.text(alphabet='ab <=>,.0123456789"\\\t\x01é\u2028', max_size=10).map(
    lambda t: f'"{t}"'
)
_VALUES = st.one_of(
    _STRINGS,
    st.lists(st.tuples(_KEYS, _STRINGS), max_size=4).map(
        lambda pairs: "{ " + ", ".join(f"{k} = {v}" for k, v in pairs) + " }"
    ),
    st.lists(_STRINGS, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
    st.sampled_from(["1", "true", "'lit'", '"""x"""', "[\n]", '{ a = "x", }', '["a",]', "[ ]"]),
)
_LINES = st.one_of(
    st.builds(
        lambda k, v, sp: f"{k}{sp}={sp}{v}", _KEYS, _VALUES, st.sampled_from([" ", "", "\t"])
    ),
    st.builds(lambda a, b: f"[{a}.{b}]", st.sampled_from(["profiles", "a", "tool"]), _KEYS),
    st.sampled_from(["[profiles]", "[a]", "# comment", "", "  ", "\r", 'key = "v" # c', "\ufeff"]),
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(_LINES, max_size=10))
def test_the_line_reader_reads_toml_as_tomllib_does(lines: list[str]) -> None:
    text = "\n".join(lines)
    try:
        expected = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        with pytest.raises(tomllib.TOMLDecodeError):
            read_toml(text)
        return
    assert read_toml(text) == expected
