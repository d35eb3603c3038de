"""Reading what is installed, from real metadata files and a real `torch/version.py` laid out
as pip lays them out (and from this test environment itself): the one reader `doctor` and
`install` share."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatenv.installed import (
    Dist,
    Installed,
    broken_requirements,
    find_version_file,
    parse_headers,
    parse_version_file,
    parse_version_file_with_ast,
    read_torch_build,
    scan,
)
from chatenv.system.nvml import CudaVersion
from tests.conftest import fresh_python
from tests.sites import torch_version_py, write_dist, write_torch

if TYPE_CHECKING:
    from pathlib import Path

# --- distributions ----------------------------------------------------------------------------


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


def test_scan_reads_versions_and_requirements_by_any_spelling_of_the_name(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site-packages"
    write_dist(site, "openai", "1.50.0", ["httpx>=0.23,<1", "pydantic>=1.9,<3"])
    write_dist(site, "python-dotenv", "1.2.2")
    shadow = tmp_path / "later"
    write_dist(shadow, "openai", "0.28.0")
    installed = scan([str(site), str(shadow)])
    assert installed.version("openai") == "1.50.0"
    assert installed.version("Python_Dotenv") == "1.2.2"
    assert installed.version("transformers") is None
    dist = installed.get("openai")
    assert dist is not None and "httpx>=0.23,<1" in dist.requires


def test_description_body_is_not_read_as_headers_however_long(tmp_path: Path) -> None:
    folder = write_dist(tmp_path, "big", "1.0", requires=("a>=1",))
    metadata = folder / "METADATA"
    metadata.write_text(metadata.read_text() + ("x" * 100 + "\n") * 2000 + "Requires-Dist: b\n")
    dist = scan([str(tmp_path)]).get("big")
    assert dist is not None and dist.requires == ("a>=1",)


def test_scan_finds_egg_info_folders_and_files_too(tmp_path: Path) -> None:
    folder = tmp_path / "legacy_pkg-1.2-py3.11.egg-info"
    folder.mkdir()
    (folder / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy-pkg\nVersion: 1.2\n")
    (tmp_path / "single-0.3.egg-info").write_text("Name: single\nVersion: 0.3\n")
    installed = scan([str(tmp_path)])
    assert installed.version("legacy_pkg") == "1.2" and installed.version("single") == "0.3"


def test_egg_info_without_requires_dist_reads_requires_txt_with_its_sections(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "legacy_pkg-1.2-py3.11.egg-info"
    folder.mkdir()
    (folder / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy-pkg\nVersion: 1.2\n")
    (folder / "requires.txt").write_text(
        "requests>=2\n\n[socks]\nPySocks>=1.5\n\n[:sys_platform == 'win32']\npywin32\n"
    )
    dist = scan([str(tmp_path)]).get("legacy-pkg")
    assert dist is not None
    assert dist.requires == (
        "requests>=2",
        'PySocks>=1.5; extra == "socks"',
        "pywin32; (sys_platform == 'win32')",
    )


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


# --- torch's build ----------------------------------------------------------------------------


def test_build_is_read_from_version_py_without_importing_torch(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu128", "12.8")
    build = read_torch_build([str(tmp_path)], dist_version="2.13.0+cu128")
    assert build is not None
    assert build.version == "2.13.0+cu128" and build.cuda == CudaVersion(12, 8)
    assert build.hip is None and build.error is None
    assert build.path == str(tmp_path / "torch" / "version.py")
    assert "torch" not in sys.modules or "torch" in str(sys.modules["torch"])  # never this one


def test_installed_torch_names_its_variant_and_release(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu130", "13.0")
    build = scan([str(tmp_path)]).torch
    assert build is not None
    assert (build.version, str(build.cuda), build.variant, build.series) == (
        "2.13.0+cu130",
        "13.0",
        "cu130",
        "2.13",
    )


def test_real_installed_cpu_torch_is_read() -> None:
    build = read_torch_build()
    assert build is not None and build.version.startswith("2.") and build.error is None


def test_the_real_torch_of_the_test_environment_is_the_cpu_build() -> None:
    site = next(p for p in sys.path if p.endswith("site-packages"))
    build = scan([site]).torch
    assert build is not None and build.variant == "cpu" and build.version.startswith("2.13.0")


def test_version_py_parse_handles_annotations_and_none() -> None:
    fields = parse_version_file(torch_version_py("2.12.1+cu126", "12.6"))
    assert fields["__version__"] == "2.12.1+cu126"
    assert fields["cuda"] == "12.6"
    assert fields["hip"] is None


def test_the_real_torch_version_py_reads_the_same_both_ways() -> None:
    path = find_version_file()
    assert path is not None
    text = path.read_text(encoding="utf-8")
    assert parse_version_file(text) == parse_version_file_with_ast(text)
    assert parse_version_file(text)["__version__"] == "2.13.0+cpu"


def test_reading_torch_does_not_import_ast() -> None:
    code = "import sys; from chatenv.installed import scan; scan(); print('ast' in sys.modules)"
    assert fresh_python(code).strip() == "False"


_NAME = st.sampled_from(["__version__", "cuda", "hip", "debug", "xpu", "git_version", "_x1"])
_LITERAL = st.one_of(
    st.text(alphabet="abc.+-_0123456789 #\\\"'", max_size=12).map(repr),  # quoted, maybe escaped
    st.sampled_from(["None", "True", "False", "0", "12", "-1", "1_0", "0x1f", "b'x'", "f'x'"]),
    st.sampled_from(["'a' 'b'", "('x')", "[1]", "'''x'''", "r'\\d'", "u'x'", "'x'  # c"]),
)
_LINE = st.one_of(
    st.builds(lambda n, v: f"{n} = {v}", _NAME, _LITERAL),
    st.builds(lambda n, v: f"{n}: Optional[str] = {v}", _NAME, _LITERAL),
    st.builds(lambda n, v: f"{n}: str={v}  # set by the build", _NAME, _LITERAL),
    st.builds(lambda n: f"{n}: int", _NAME),
    st.sampled_from(
        [
            "from typing import Optional",
            "import os, sys",
            "import os.path as p",
            "from . import x",
            "__all__ = ['__version__', 'cuda']",
            "__all__ = []",
            "# a comment",
            "",
            "if True:\n    cuda = '12.8'",
            "a = b = 'x'",
            "x = 1; y = 2",
            "def f():\n    return 1",
            "cuda = None if False else '12.8'",
            '"""a docstring"""',
            "cuda: typing.Optional[str] = '12.8'",
            "cuda: Dict[str, int] = None",
            "cuda: [] = 1",
            "hip :str = 'x'",
            "café = 'x'",
            "\tcuda = '1'",
            "from __future__ import annotations",
            "from .a import b as c, d",
            # not Python: the line reader must hand these to ast, which refuses them
            "x: a b = 1",
            "x: [ = 1",
            "import a..b",
            "from a import b.c",
            "x = 'a",
            "None = 1",
            "x = 01",
            "x == 1",
            "x = 1 \\",
        ]
    ),
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_LINE, max_size=12))
def test_version_py_reads_as_ast_reads_it(lines: list[str]) -> None:
    """The line reader and the ast reader agree on every file, and refuse the same ones: the
    line reader hands anything it does not know to ast."""
    text = "\n".join(lines) + "\n"
    try:
        expected = parse_version_file_with_ast(text)
    except SyntaxError:
        with pytest.raises(SyntaxError):
            parse_version_file(text)
        return
    assert parse_version_file(text) == expected


def test_torch_without_version_py_falls_back_to_the_local_label(tmp_path: Path) -> None:
    write_dist(tmp_path, "torch", "2.10.0+cu128")
    build = scan([str(tmp_path)]).torch
    assert build is not None and build.variant == "cu128"
    assert build.error == "torch's metadata is installed but not it"


def test_a_build_nothing_names_has_no_variant(tmp_path: Path) -> None:
    write_dist(tmp_path, "torch", "2.13.0")
    build = scan([str(tmp_path)]).torch
    assert build is not None and build.variant is None and build.error


def test_unreadable_cuda_version_is_an_error_not_a_cpu_build(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu128", "twelve")
    build = read_torch_build([str(tmp_path)], "2.13.0+cu128")
    assert build is not None and build.variant is None
    assert build.error is not None and "unreadable CUDA version 'twelve'" in build.error


def test_no_torch_is_none(tmp_path: Path) -> None:
    write_dist(tmp_path, "rich", "15.0.0")
    assert scan([str(tmp_path)]).torch is None


# --- broken requirements ----------------------------------------------------------------------


def test_broken_requirements_are_found_like_pip_check(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    write_dist(site, "rich", "15.0.0")
    write_dist(site, "packaging", "26.4")
    write_dist(site, "needs-missing", "1.0", requires=("not-installed-anywhere>=1",))
    write_dist(site, "needs-newer", "2.0", requires=("rich>=99",))
    write_dist(site, "only-with-extra", "1.0", requires=("absent; extra == 'cli'",))
    write_dist(
        site,
        "extra-and-more",
        "1.0",
        requires=('absent; python_version >= "3" and (extra == "dev" or extra == "test")',),
    )
    write_dist(site, "extra-or-always", "1.0", requires=("needed; extra == 'x' or os_name != ''",))
    write_dist(site, "wrong-platform", "1.0", requires=("absent; sys_platform == 'nonexistent'",))
    write_dist(site, "allows-pre", "1.0", requires=("packaging>=26.4",))
    found = broken_requirements(scan([str(site)]))
    described = [b.describe() for b in found.broken]
    assert described == [
        "extra-or-always 1.0 requires needed, which is not installed",
        "needs-missing 1.0 requires not-installed-anywhere, which is not installed",
        "needs-newer 2.0 requires rich>=99, but 15.0.0 is installed",
    ]
    assert found.unparsable == ()


def test_lines_skipped_as_extras_only_are_lines_that_cannot_apply_without_an_extra() -> None:
    """The shortcut that skips parsing agrees with packaging's evaluation, on every requirement
    line of this environment (hundreds: torch, transformers, the test tools)."""
    from packaging.requirements import Requirement

    from chatenv.installed import _only_with_an_extra

    installed = scan()
    lines = {line for name in installed.dists for line in installed.get(name).requires}
    skipped = [line for line in lines if _only_with_an_extra(line)]
    assert len(skipped) > 50
    for line in skipped:
        marker = Requirement(line).marker
        assert marker is not None and not marker.evaluate({"extra": ""}), line


def test_unparsable_requirement_lines_are_listed(tmp_path: Path) -> None:
    write_dist(tmp_path, "odd", "1.0", requires=("not a requirement !!",))
    found = broken_requirements(scan([str(tmp_path)]))
    assert found.broken == () and found.unparsable == ("odd 1.0: not a requirement !!",)


def test_requirement_markers_are_evaluated_for_the_environment_given(tmp_path: Path) -> None:
    write_dist(tmp_path, "app", "1.0", requires=('winonly; sys_platform == "win32"',))
    here = broken_requirements(scan([str(tmp_path)]), {"sys_platform": "linux"})
    windows = broken_requirements(scan([str(tmp_path)]), {"sys_platform": "win32"})
    assert here.broken == ()
    assert [b.requirement.name for b in windows.broken] == ["winonly"]


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
    ours = broken_requirements(scan([str(site), *sys.path])).broken
    our_pairs = {(b.requirer.lower(), b.requirement.name.lower()) for b in ours}
    assert pip_pairs == our_pairs, json.dumps(done.stdout)
    assert ("needs-older", "packaging") in our_pairs and ("satisfied", "rich") not in our_pairs


def test_walk_from_roots_follows_extras_of_requirements() -> None:
    installed = Installed(
        {
            "app": Dist("app", "app", "1.0", ("lib[fast]>=1",), "/x"),
            "lib": Dist("lib", "lib", "1.0", ('speedup>=2; extra == "fast"',), "/x"),
            "other": Dist("other", "other", "1.0", ("absent",), "/x"),
        }
    )
    found = broken_requirements(installed, {"python_version": "3.11"}, roots=["app"])
    assert [b.requirement.name for b in found.broken] == ["speedup"]
    assert found.checked == {"app", "lib"}  # not "other": it is outside the roots' closure
    # pip check's view (every distribution, no extras) sees "other" and not "speedup"
    every = broken_requirements(installed, {"python_version": "3.11"})
    assert [b.requirement.name for b in every.broken] == ["absent"]
