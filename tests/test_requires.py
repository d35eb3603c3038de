"""chatenv.requires against packaging: the same requirement and the same marker verdict for
every Requires-Dist line of this environment and for generated lines and markers, in this
interpreter's environment and in recorded ones (Windows, macOS, an older Python)."""

from __future__ import annotations

import importlib.metadata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import Marker, default_environment
from packaging.requirements import InvalidRequirement, Requirement

from chatenv import requires
from tests.conftest import fresh_python

#: marker environments recorded from real interpreters (packaging.markers.default_environment()
#: printed there): CPython 3.12 on Windows 11 x64 and CPython 3.13 on macOS 15 arm64
WINDOWS = {
    "implementation_name": "cpython",
    "implementation_version": "3.12.7",
    "os_name": "nt",
    "platform_machine": "AMD64",
    "platform_release": "11",
    "platform_system": "Windows",
    "platform_version": "10.0.26100",
    "python_full_version": "3.12.7",
    "platform_python_implementation": "CPython",
    "python_version": "3.12",
    "sys_platform": "win32",
}
MACOS = {
    "implementation_name": "cpython",
    "implementation_version": "3.13.1",
    "os_name": "posix",
    "platform_machine": "arm64",
    "platform_release": "24.1.0",
    "platform_system": "Darwin",
    "platform_version": "Darwin Kernel Version 24.1.0: Thu Oct 10 21:05:14 PDT 2024",
    "python_full_version": "3.13.1",
    "platform_python_implementation": "CPython",
    "python_version": "3.13",
    "sys_platform": "darwin",
}
ENVIRONMENTS = [None, WINDOWS, MACOS, {"python_version": "3.10", "python_full_version": "3.10.2"}]
EXTRAS = [frozenset(), frozenset({"dev"}), frozenset({"Fast_Path", "cuda"})]


def _environment_lines() -> list[str]:
    lines: set[str] = set()
    for dist in importlib.metadata.distributions():
        lines.update(dist.requires or ())
    return sorted(lines)


def _packaging_applies(
    req: Requirement, extras: frozenset[str], env: dict[str, str] | None
) -> bool:
    if req.marker is None:
        return True
    try:
        return any(req.marker.evaluate({**(env or {}), "extra": e}) for e in extras or {""})
    except Exception:
        return True


def _same(line: str) -> None:
    ours = requires.read(line)
    try:
        theirs = Requirement(line)
    except InvalidRequirement:
        assert ours is None, line
        return
    assert ours is not None, line
    assert ours.requirement() == theirs, line
    assert ours.name == theirs.name, line
    assert ours.extras == frozenset(theirs.extras), line
    assert str(ours.specifier) == str(theirs.specifier), line
    assert (ours.marker is None) == (theirs.marker is None), line
    if ours.marker is not None:
        assert Marker(ours.marker) == theirs.marker, line
    for env in ENVIRONMENTS:
        for extras in EXTRAS:
            assert ours.applies(extras, env) == _packaging_applies(theirs, extras, env), (
                line,
                env,
                extras,
            )


def test_every_requirement_line_of_this_environment_reads_as_packaging_reads_it() -> None:
    lines = _environment_lines()
    assert len(lines) > 200  # torch, transformers and the test tools are installed
    for line in lines:
        _same(line)


def test_the_common_lines_never_reach_packaging() -> None:
    """The point of the module: in a real environment nearly every line and marker is read by
    the fast path, so packaging's requirement parser is not imported at all."""
    script = (
        "import importlib.metadata, sys\n"
        "from chatenv import requires\n"
        "lines = {l for d in importlib.metadata.distributions() for l in d.requires or ()}\n"
        "slow = [l for l in lines if requires._LINE.fullmatch(l) is None]\n"
        "for line in lines:\n"
        "    r = requires.read(line)\n"
        "    if r is not None and r.marker and requires._evaluate(r.marker,"
        " {**requires.default_environment(), 'extra': ''}) is None:\n"
        "        slow.append(line)\n"
        "print(len(lines), len(slow))\n"
        "print('packaging.requirements' in sys.modules, 'packaging.markers' in sys.modules)\n"
    )
    printed = fresh_python(script)
    counts, imported = printed.splitlines()
    total, slow = map(int, counts.split())
    assert slow <= total // 50, printed  # at most 2% go to packaging
    if slow == 0:
        assert imported == "False False"


def test_the_default_environment_is_packagings() -> None:
    ours = requires.default_environment()
    theirs = {k: str(v) for k, v in default_environment().items()}
    assert {k: theirs[k] for k in ours} == ours
    assert set(theirs) - set(ours) <= {"extras", "dependency_groups"}


@pytest.mark.parametrize(
    "line",
    [
        "torch==2.13.0",
        "torch (==2.13.0)",
        "torch(>=2.4,<2.14)",
        "Foo.Bar_baz[Fast_Path, cuda] >= 1.0 , < 2 ; python_version < '3.11'",
        'nvidia-cublas-cu12==12.8.4.1; platform_system == "Linux" and platform_machine == "x86_64"',
        "colorama; platform_system == 'Windows'",
        "pkg @ https://example.com/pkg-1.0.tar.gz ; python_version >= '3'",
        "pkg[] >=1",
        "pkg >=1 ;",
        "pkg ; os.name == 'nt'",
        "pkg ; python_implementation == 'CPython'",
        "pkg ; 'linux' in sys_platform",
        "pkg ; platform_release >= '5.10'",
        "pkg ; platform_machine >= 'x86'",
        "pkg ; (python_version < '3.11' or sys_platform == 'win32') and extra == 'Dev'",
        "pkg ; extra == 'fast-path'",
        "pkg ; python_full_version == '3.11.*'",
        "pkg ; python_version ~= '3.10'",
        "pkg ; python_version === '3.11'",
        "pkg ; implementation_version > '3.10'",
        "pkg ; platform_version == '1'",
        "pkg ; sys_platform == 'linux' or",
        "pkg ; (sys_platform == 'linux'",
        "pkg ; sys_platform = 'linux'",
        "pkg >= 1 <2",
        "pkg >== 1",
        "-pkg",
        "pkg ; unknown_var == '1'",
        "pkg==1.0.* ; python_version<'3.12'",
        "pkg!=1.5,>=1.0",
        "pkg ; python_version not in '3.8 3.9'",
    ],
)
def test_hand_picked_lines(line: str) -> None:
    _same(line)


_VARIABLES = [*sorted(WINDOWS), "extra"]
_VALUES = st.sampled_from(
    [
        "3.11",
        "3.10",
        "3.12.7",
        "3",
        "win32",
        "linux",
        "Linux",
        "x86_64",
        "AMD64",
        "cpython",
        "nt",
        "posix",
        "dev",
        "Fast_Path",
        "11",
        "24.1.0",
        "1.0.dev1",
        "3.*",
        "",
    ]
)
_OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~=", "===", "in", "not in"])


@st.composite
def _markers(draw: st.DrawFn, depth: int = 0) -> str:
    if depth < 2 and draw(st.booleans()):
        left = draw(_markers(depth + 1))
        right = draw(_markers(depth + 1))
        joined = f"{left} {draw(st.sampled_from(['and', 'or']))} {right}"
        return f"({joined})" if draw(st.booleans()) else joined
    variable = draw(st.sampled_from(_VARIABLES))
    value = draw(_VALUES)
    quote = draw(st.sampled_from(["'", '"']))
    op = draw(_OPS)
    if draw(st.booleans()):
        return f"{quote}{value}{quote} {op} {variable}"
    return f"{variable} {op} {quote}{value}{quote}"


@settings(max_examples=400, deadline=None)
@given(
    name=st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,8}[A-Za-z0-9]", fullmatch=True),
    spec=st.sampled_from(["", ">=1.0", "==2.*", "<3,>=1", " (>=1)", "~=1.4", "!=2"]),
    marker=_markers(),
)
def test_generated_lines_and_markers(name: str, spec: str, marker: str) -> None:
    _same(f"{name}{spec}; {marker}")
