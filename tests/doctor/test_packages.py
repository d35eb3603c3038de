"""The packages section against real dist-info folders, and the requirement check against pip's."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chatenv.doctor.installed import parse_headers, scan
from chatenv.doctor.packages import broken_requirements, check_packages
from chatenv.install.pins import load_pins
from chatenv.results import Status
from tests.doctor.sites import write_dist

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


def test_metadata_headers_stop_at_the_description_and_join_continuations() -> None:
    text = (
        "Name: demo\nVersion: 1.0\nSummary: one\n  two\nRequires-Dist: a>=1\n\nRequires-Dist: b\n"
    )
    headers = parse_headers(text)
    assert headers["name"] == ["demo"]
    assert headers["summary"] == ["one two"]
    assert headers["requires-dist"] == ["a>=1"]


def test_scan_reads_real_dist_info_and_the_first_on_the_path_wins(tmp_path: Path) -> None:
    first = tmp_path / "first"
    second = tmp_path / "second"
    write_dist(first, "Python_Dotenv", "1.2.4", requires=("click>=5; extra == 'cli'",))
    write_dist(second, "python-dotenv", "0.9.0")
    installed = scan([str(first), str(second)])
    dist = installed.get("python-dotenv")
    assert dist is not None and dist.version == "1.2.4" and dist.display_name == "Python_Dotenv"
    assert dist.requires == ("click>=5; extra == 'cli'",)
    assert [d.version for d in installed.shadowed] == ["0.9.0"]


def test_scan_finds_egg_info_folders_and_files_too(tmp_path: Path) -> None:
    folder = tmp_path / "legacy_pkg-1.2-py3.11.egg-info"
    folder.mkdir()
    (folder / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy-pkg\nVersion: 1.2\n")
    (tmp_path / "single-0.3.egg-info").write_text("Name: single\nVersion: 0.3\n")
    installed = scan([str(tmp_path)])
    assert installed.version("legacy_pkg") == "1.2" and installed.version("single") == "0.3"


def test_scan_agrees_with_importlib_metadata_on_this_environment() -> None:
    from importlib import metadata

    from packaging.utils import canonicalize_name

    theirs: dict[str, str] = {}
    for dist in metadata.distributions():
        theirs.setdefault(canonicalize_name(dist.metadata["Name"]), dist.version)
    ours = {name: d.version for name, d in scan().dists.items()}
    assert ours == theirs
    assert len(ours) > 20  # the test environment: chatenv, its extras, pytest, ...


def test_unreadable_metadata_is_listed_not_raised(tmp_path: Path) -> None:
    (tmp_path / "broken-1.0.dist-info").mkdir()
    installed = scan([str(tmp_path), str(tmp_path / "missing-folder")])
    assert installed.dists == {}
    assert len(installed.unreadable) == 1 and "broken-1.0.dist-info" in installed.unreadable[0]


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


def test_broken_requirements_are_found_like_pip_check(tmp_path: Path) -> None:
    site = _site(tmp_path, **BASE)
    write_dist(site, "needs-missing", "1.0", requires=("not-installed-anywhere>=1",))
    write_dist(site, "needs-newer", "2.0", requires=("rich>=99",))
    write_dist(site, "only-with-extra", "1.0", requires=("absent; extra == 'cli'",))
    write_dist(site, "wrong-platform", "1.0", requires=("absent; sys_platform == 'nonexistent'",))
    write_dist(site, "allows-pre", "1.0", requires=("packaging>=26.4",))
    broken, unparsable = broken_requirements(scan([str(site)]))
    described = [b.describe() for b in broken]
    assert described == [
        "needs-missing 1.0 requires not-installed-anywhere, which is not installed",
        "needs-newer 2.0 requires rich>=99, but 15.0.0 is installed",
    ]
    assert unparsable == []


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
    write_dist(site, "wants-chatenv", "1.0", requires=("chatenv[local]>=99",))
    write_dist(site, "chatenv", "0.1.0")
    req = _by_id(check_packages(scan([str(site)]), load_pins()))["packages.requirements"]
    assert req.fix == "python -m pip install 'chatenv[local]>=99'"


@pytest.mark.slow
def test_in_process_check_agrees_with_real_pip_check(tmp_path: Path) -> None:
    """Same broken site, two checkers: ours and `pip check` of this interpreter."""
    site = tmp_path / "extra-site"
    write_dist(site, "needs-missing", "1.0", requires=("not-installed-anywhere>=1",))
    write_dist(site, "needs-newer", "2.0", requires=("rich>=99",))
    write_dist(site, "needs-older", "1.0", requires=("packaging<20",))
    write_dist(site, "satisfied", "1.0", requires=("rich>=10", "absent; extra == 'x'"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "check"],
        capture_output=True,
        text=True,
        env={
            "PYTHONPATH": str(site),
            "PATH": "/usr/bin:/bin",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        },
        check=False,
        timeout=120,
    )
    pip_pairs = set()
    for line in done.stdout.splitlines():
        m = re.match(r"(\S+) \S+ (?:requires|has requirement) ([A-Za-z0-9_.\-]+)", line)
        if m:
            pip_pairs.add((m.group(1).lower(), m.group(2).lower()))
    ours, _ = broken_requirements(scan([str(site), *sys.path]))
    our_pairs = {(b.requirer.lower(), b.requirement.name.lower()) for b in ours}
    assert pip_pairs == our_pairs, json.dumps(done.stdout)
    assert ("needs-older", "packaging") in our_pairs and ("satisfied", "rich") not in our_pairs
