"""pins.toml is the one source of truth; pyproject.toml's dependencies and extras must say the
same (pins.toml's header promises this test)."""

from __future__ import annotations

import sys

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from chatenv.errors import UsageError
from chatenv.install.pins import USER_PROFILES, load_pins
from tests.conftest import REPO

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
