"""The packages section against real dist-info folders, and the requirement check against pip's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.doctor.packages import check_packages
from chatenv.install.pins import load_pins
from chatenv.installed import scan
from chatenv.results import Status
from tests.sites import write_dist

if TYPE_CHECKING:
    from pathlib import Path

BASE = {
    "typer": "0.29.2",
    "rich": "15.0.0",
    "packaging": "26.4",
    "python-dotenv": "1.2.4",
    "nvidia-ml-py": "13.615.71",
}
LOCAL = {
    "torch": "2.13.0+cpu",
    "transformers": "5.24.0",
    "tokenizers": "0.23.3",
    "safetensors": "0.8.0",
    "accelerate": "1.15.0",
}


def _site(tmp_path: Path, **versions: str) -> Path:
    site = tmp_path / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    for name, version in versions.items():
        write_dist(site, name, version)
    return site


def _by_id(results):  # type: ignore[no-untyped-def]
    return {r.id: r for r in results}


def test_fresh_install_warns_about_each_profile_and_fails_nothing(tmp_path: Path) -> None:
    installed = scan([str(_site(tmp_path, **BASE))])
    results = _by_id(check_packages(installed, load_pins()))
    assert results["packages.base"].status is Status.OK
    for profile in ("api", "local"):
        r = results[f"packages.{profile}"]
        assert r.status is Status.WARN and r.fix == f"chatenv install {profile}"
        assert "not installed" in r.summary
    assert not [r for r in results.values() if r.status is Status.FAIL]


def test_partly_installed_profile_names_what_is_missing(tmp_path: Path) -> None:
    installed = scan([str(_site(tmp_path, **BASE, torch="2.13.0+cpu"))])
    local = _by_id(check_packages(installed, load_pins()))["packages.local"]
    assert local.status is Status.WARN
    assert (
        "transformers" in local.summary
        and "torch" not in local.summary.split("missing")[0].split(":")[1]
    )
    assert local.fix == "chatenv install local"


def test_package_outside_its_pin_fails_with_the_profile_fix(tmp_path: Path) -> None:
    installed = scan([str(_site(tmp_path, **BASE, **{**LOCAL, "torch": "2.3.1"}))])
    results = _by_id(check_packages(installed, load_pins()))
    pin = results["packages.pin.torch"]
    assert pin.status is Status.FAIL
    assert "torch 2.3.1" in pin.summary and "<2.14,>=2.4" in pin.summary
    assert pin.fix == "chatenv install local"
    assert results["packages.local"].status is Status.OK  # present; the pin line says what is wrong


def test_torch_newer_than_the_pins_warns_and_says_what_chatenv_checks_it_with(
    tmp_path: Path,
) -> None:
    """`pip install torch` brings 2.15 (in the table, outside the tested range): a warning."""
    installed = scan([str(_site(tmp_path, **BASE, **{**LOCAL, "torch": "2.15.0"}))])
    pin = _by_id(check_packages(installed, load_pins()))["packages.pin.torch"]
    assert pin.status is Status.WARN
    assert pin.summary == (
        "torch 2.15.0 is newer than chatenv's tested range (<2.14,>=2.4); chatenv checks it "
        "with its table's entry for torch 2.15 (whose architecture lists are assumed)"
    )
    older = scan([str(_site(tmp_path / "b", **BASE, **{**LOCAL, "torch": "2.14.1"}))])
    pin = _by_id(check_packages(older, load_pins()))["packages.pin.torch"]
    assert pin.status is Status.WARN and pin.summary.endswith("its table's entry for torch 2.14")
    assert pin.data["state"] == "newer"


def test_torch_newer_than_the_table_warns_with_the_newest_known_facts(tmp_path: Path) -> None:
    installed = scan([str(_site(tmp_path, **BASE, **{**LOCAL, "torch": "2.16.0"}))])
    pin = _by_id(check_packages(installed, load_pins()))["packages.pin.torch"]
    assert pin.status is Status.WARN
    assert pin.summary.endswith(
        "the newest known release's (torch 2.15) facts for the same CUDA variant"
    )


def test_another_package_newer_than_its_pin_still_fails(tmp_path: Path) -> None:
    installed = scan([str(_site(tmp_path, **BASE, **{**LOCAL, "transformers": "6.0.0"}))])
    pin = _by_id(check_packages(installed, load_pins()))["packages.pin.transformers"]
    assert pin.status is Status.FAIL


def test_base_package_outside_its_pin_gets_a_pip_line(tmp_path: Path) -> None:
    installed = scan([str(_site(tmp_path, **{**BASE, "rich": "12.0.0"}))])
    pin = _by_id(check_packages(installed, load_pins()))["packages.pin.rich"]
    assert pin.status is Status.FAIL and pin.fix == "python -m pip install 'rich>=13.7'"


def test_prerelease_inside_the_range_is_accepted(tmp_path: Path) -> None:
    installed = scan([str(_site(tmp_path, **BASE, **{**LOCAL, "transformers": "5.25.0rc1"}))])
    assert "packages.pin.transformers" not in _by_id(check_packages(installed, load_pins()))


def test_openai_v0_fails_once_with_the_explanation(tmp_path: Path) -> None:
    installed = scan([str(_site(tmp_path, **BASE, openai="0.28.1"))])
    results = _by_id(check_packages(installed, load_pins()))
    v0 = results["packages.openai-v0"]
    assert v0.status is Status.FAIL
    explanation = " ".join(v0.details)
    assert "openai.Completion.create" in explanation and "text-davinci-002" in explanation
    assert "retired" in explanation
    assert "packages.pin.openai" not in results  # one failure for one problem


def test_broken_requirement_touching_the_stack_fails_unrelated_one_warns(tmp_path: Path) -> None:
    site = _site(tmp_path, **BASE)
    write_dist(site, "needs-newer", "2.0", requires=("rich>=99",))
    results = _by_id(check_packages(scan([str(site)]), load_pins()))
    assert results["packages.requirements"].status is Status.FAIL
    assert results["packages.requirements"].fix == "python -m pip install 'rich>=99'"

    other = _site(tmp_path / "other", **BASE)
    write_dist(other, "left", "1.0", requires=("right>=2",))
    write_dist(other, "right", "1.0")
    req = _by_id(check_packages(scan([str(other)]), load_pins()))["packages.requirements"]
    assert req.status is Status.WARN and "left 1.0 requires right>=2" in req.summary


def test_requirement_with_extras_keeps_its_brackets_in_the_fix(tmp_path: Path) -> None:
    site = _site(tmp_path, **BASE)
    write_dist(site, "wants-chatenv", "1.0", requires=("chatenv-cli[local]>=99",))
    write_dist(site, "chatenv", "0.1.0")
    req = _by_id(check_packages(scan([str(site)]), load_pins()))["packages.requirements"]
    assert req.fix == "python -m pip install 'chatenv-cli[local]>=99'"
