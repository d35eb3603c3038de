"""chatenv.pep440 gives packaging's answers (26.4, the version installed here): on this
machine's installed metadata, on hand-picked edge cases and on generated versions and
specifiers. packaging is imported here only, never by chatenv.pep440."""

from __future__ import annotations

import importlib.metadata
import itertools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging import specifiers as their_specifiers
from packaging import version as their_version

from chatenv import pep440
from tests.conftest import fresh_python

PRERELEASES = (None, True, False)
VERSION_PROPERTIES = (
    "epoch",
    "release",
    "pre",
    "post",
    "dev",
    "local",
    "public",
    "base_version",
    "major",
    "minor",
    "micro",
    "is_prerelease",
    "is_postrelease",
    "is_devrelease",
)


# chatenv.pep440 follows packaging 26.4's source, and the tests below compare it with whatever
# packaging is installed: CI installs the newest, so a release that answers differently turns
# them red (then read its version.py, specifiers.py and _ranges.py against chatenv.pep440).
# The hand-picked table holds 26.4's answers as written, whatever is installed.


# --- helpers ------------------------------------------------------------------------------


def both_versions(
    text: str,
) -> tuple[pep440.Version, their_version.Version] | None:
    """Both parses of `text`, after checking they agree on validity, str, repr, hash and
    every property; None when both reject it."""
    try:
        theirs = their_version.Version(text)
    except their_version.InvalidVersion:
        with pytest.raises(pep440.InvalidVersion):
            pep440.Version(text)
        return None
    ours = pep440.Version(text)
    assert str(ours) == str(theirs), text
    assert repr(ours) == repr(theirs), text
    for name in VERSION_PROPERTIES:
        assert getattr(ours, name) == getattr(theirs, name), (text, name)
    # The sort keys have packaging's shape, so even the hashes agree.
    assert hash(ours) == hash(theirs), text
    return ours, theirs


def both_sets(
    text: str, prereleases: bool | None = None
) -> tuple[pep440.SpecifierSet, their_specifiers.SpecifierSet] | None:
    """Both parses of a specifier set, after checking they agree on validity; None when both
    reject it."""
    try:
        theirs = their_specifiers.SpecifierSet(text, prereleases=prereleases)
    except their_specifiers.InvalidSpecifier:
        with pytest.raises(pep440.InvalidSpecifier):
            pep440.SpecifierSet(text, prereleases=prereleases)
        return None
    return pep440.SpecifierSet(text, prereleases=prereleases), theirs


def check_set_shape(ours: pep440.SpecifierSet, theirs: their_specifiers.SpecifierSet) -> None:
    """str, repr, len, order, hash and the prereleases property agree."""
    assert len(ours) == len(theirs)
    assert [str(s) for s in ours] == [str(s) for s in theirs]
    assert ours.prereleases == theirs.prereleases
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)
    assert hash(ours) == hash(theirs)
    assert [str(s) for s in ours] == [str(s) for s in theirs]  # str() reorders both
    for our_spec, their_spec in zip(ours, theirs, strict=True):
        assert our_spec.operator == their_spec.operator
        assert our_spec.version == their_spec.version
        assert our_spec.prereleases == their_spec.prereleases
        assert repr(our_spec) == repr(their_spec)
        assert hash(our_spec) == hash(their_spec)


def check_contains(
    ours: pep440.SpecifierSet, theirs: their_specifiers.SpecifierSet, item: str
) -> None:
    """contains agrees for prereleases None/True/False, for `item` as text and as a Version,
    for the set and for each of its specifiers."""
    parsed = both_versions(item)
    for pre in PRERELEASES:
        expected = theirs.contains(item, prereleases=pre)
        assert ours.contains(item, prereleases=pre) == expected, (str(theirs), item, pre)
        if parsed is not None:
            assert ours.contains(parsed[0], prereleases=pre) == theirs.contains(
                parsed[1], prereleases=pre
            ), (str(theirs), item, pre, "as Version")
    assert (item in ours) == (item in theirs)
    assert ours.contains(item, installed=True) == theirs.contains(item, installed=True)
    for our_spec, their_spec in zip(ours, theirs, strict=True):
        for pre in PRERELEASES:
            assert our_spec.contains(item, prereleases=pre) == their_spec.contains(
                item, prereleases=pre
            ), (str(their_spec), item, pre)


# --- 1. this machine's metadata -----------------------------------------------------------

_NAME_AND_EXTRAS = re.compile(r"\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*")


def installed_corpus() -> tuple[list[str], list[str]]:
    """Every Requires-Dist specifier and every distribution version installed here."""
    specs: set[str] = set()
    versions: set[str] = set()
    for dist in importlib.metadata.distributions():
        versions.add(dist.version)
        for requirement in dist.requires or ():
            head = requirement.split(";", 1)[0]
            match = _NAME_AND_EXTRAS.match(head)
            assert match is not None, requirement
            rest = head[match.end() :].strip()
            if rest.startswith("@"):  # a direct URL reference, no specifier
                continue
            if rest.startswith("(") and rest.endswith(")"):
                rest = rest[1:-1].strip()
            specs.add(rest)
    return sorted(specs), sorted(versions)


def test_installed_metadata() -> None:
    specs, versions = installed_corpus()
    assert len(specs) > 50
    assert len(versions) > 30
    # The specifiers' own versions sit on the edges of their ranges: try them as well.
    edges = {part.lstrip("<>=!~ ").removesuffix(".*") for s in specs for part in s.split(",")}
    candidates = sorted(set(versions) | edges)
    for text in candidates:
        both_versions(text)
    for spec in specs:
        pair = both_sets(spec)
        assert pair is not None, spec  # installed metadata is valid
        ours, theirs = pair
        for item in candidates:
            for pre in PRERELEASES:
                assert ours.contains(item, prereleases=pre) == theirs.contains(
                    item, prereleases=pre
                ), (spec, item, pre)
        check_set_shape(ours, theirs)


# --- 2. hand-picked edge cases ------------------------------------------------------------

# (specifier set, version, what packaging 26.4 answers with prereleases=None); every row is
# also checked against packaging with prereleases True and False, as text and as a Version.
CONTAINS_CASES = [
    (">=1.40,<4", "1.99.0", True),  # the ordinary case: a range
    (">=1.40,<4", "4.0", False),  # the upper end is exclusive
    (">=1.40", "1.40.0", True),  # trailing zeros do not matter
    (">=1.0", "2.0a1", True),  # None: a lone pre-release matches (PEP 440, packaging >= 26)
    (">=1.0", "2.0.dev1", True),  # a dev release is a pre-release too
    ("<1.0", "1.0a1", False),  # <V excludes V's pre-releases when V is final
    ("<1.0", "1.0.dev0", False),  # ... and its dev releases
    ("<1.0", "0.9.post1", True),  # but not earlier versions' post-releases
    ("<1.0rc1", "1.0a1", True),  # <V with V a pre-release: plain ordering
    ("<1.0rc1", "1.0rc1.dev1", True),  # ... which takes V's own dev releases
    ("<1.0.post1", "1.0", True),  # <V.postN: V itself is below it
    ("<1.0.post1", "1.0.post1.dev0", False),  # ... but not V.postN's dev releases
    ("<0", "0.dev0", False),  # <0 takes nothing: nothing sorts below 0.dev0
    (">1.0", "1.0.post1", False),  # >V excludes V's post-releases
    (">1.0", "1.0+local", False),  # ... and V's local versions
    (">1.0", "1.0.1", True),  # but takes the next release
    (">1.0a1", "1.0a1.post1", False),  # >V for a pre-release V excludes its post-releases too
    (">1.0a1", "1.0a2", True),  # ... but not the next pre-release
    (">1.0.post1", "1.0.post2", True),  # >V.postN: the next post-release is in
    (">1.0.post1", "1.0.post1+local", False),  # ... V.postN's locals are not
    (">1.0.dev1", "1.0.dev2", True),  # >V.devN: the next dev release
    (">1.0.dev1", "1.0.dev1+local", False),  # ... not V.devN's locals
    ("<=1.0", "1.0+local", True),  # <=V takes V's local versions
    ("<=1.0", "1.0.post0", False),  # ... but not its post-releases
    ("==1.0", "1.0+abc.7", True),  # ==V takes every local version of V
    ("==1.0+abc.7", "1.0+abc.7", True),  # ==V+local takes only that local version
    ("==1.0+abc.7", "1.0+abc.8", False),
    ("==1.0+abc.7", "1.0", False),
    ("==1.0+ABC.07", "1.0+abc.7", True),  # local labels: case and leading zeros normalised
    ("!=1.0", "1.0+abc", False),  # !=V excludes V's local versions
    ("!=1.0+abc", "1.0+abc.1", True),  # !=V+local excludes only that one
    ("==2.13.0", "2.13.0+cpu", True),  # torch's local builds
    (">=2.4,<2.14", "2.13.0+cpu", True),
    ("==2.6.0", "2.6.0+cu124", True),
    ("<2.6.0", "2.6.0+cu124", False),
    (">=2.6.0rc1", "2.6.0rc1+cu124", True),
    ("==1.2.*", "1.2.5", True),  # prefix match
    ("==1.2.*", "1.2.0a1", True),  # ... takes pre-releases of the prefix
    ("==1.2.*", "1.3.dev0", False),  # ... and stops at the next prefix's first dev release
    ("==1.2.*", "1.2+local", True),  # ... local versions are in
    ("==1.0.*", "1", True),  # 1 is 1.0
    ("!=1.2.*", "1.2.9", False),
    ("!=1.2.*", "1.3", True),
    ("==1!2.*", "2.0", False),  # epochs separate everything
    ("==1!2.*", "1!2.5", True),
    (">=1.0", "1!0.1", True),  # any epoch 1 version is above every epoch 0 one
    ("<2", "1!1.0", False),
    ("~=1.4.2", "1.4.9", True),  # ~=1.4.2 is >=1.4.2,==1.4.*
    ("~=1.4.2", "1.5", False),
    ("~=1.4", "1.9", True),  # ~=1.4 is >=1.4,==1.*
    ("~=1.4", "2.0", False),
    ("~=1.4.5a4", "1.4.5", True),  # ~= with a pre-release
    ("~=2.2.post3", "2.2.post4", True),  # ~= with a post-release
    ("~=2.2.post3", "2.2", False),
    ("===1.0", "1.0", True),  # === compares text
    ("===1.0", "1.0.0", False),  # ... not versions
    ("===foobar", "FooBar", True),  # ... case-insensitively, and takes non-versions
    ("===1.0a1", "1.0A1", True),  # a pre-release === version opts in to pre-releases
    ("===1.0,>=0.5", "1.0", True),  # === with others: every one must match
    ("===foobar,>=1", "foobar", False),  # ... and no standard operator takes a non-version
    (">=1.0", "not a version", False),  # an invalid version matches nothing (no exception)
    ("", "not a version", True),  # ... except the empty set, which takes anything
    ("", "1.0a1", True),  # the empty set takes a lone pre-release
    (">=1.0", " 1.5 ", True),  # versions may be surrounded by whitespace
    (">=1.0", "V1.5", True),  # a leading v, any case
    (">=1.0", "1.5-RC1", True),  # alternative spellings: 1.5-RC1 is 1.5rc1 ...
    (">=1.5", "1.5-RC1", False),  # ... which sorts below 1.5
    (">=1.0", "1.0-1", True),  # "-N" is a post-release
    ("  >= 1.0 ,  < 2  ", "1.5", True),  # whitespace around and inside items
    (">=1.0,,<2", "1.5", True),  # empty items are skipped
    (">=1.0,!=1.5", "1.5.0", False),  # != with trailing zeros
    (">=1.0,<1.0", "1.0", False),  # an empty range
]


@pytest.mark.parametrize(("spec", "item", "expected"), CONTAINS_CASES)
def test_contains_edge_cases(spec: str, item: str, expected: bool) -> None:
    pair = both_sets(spec)
    assert pair is not None
    ours, theirs = pair
    assert theirs.contains(item) is expected  # the table is packaging's answer
    assert ours.contains(item) is expected
    check_contains(ours, theirs, item)
    check_set_shape(ours, theirs)


# (specifier set, the set's prereleases, version): the explicit settings.
PRERELEASE_SETTING_CASES = [
    (">=1.0", False, "2.0a1"),  # prereleases=False on the set excludes pre-releases
    (">=1.0", True, "2.0a1"),
    ("", False, "2.0a1"),  # ... on the empty set as well
    ("", False, "junk"),  # ... which still takes a non-version
    ("", True, "junk"),
    ("===2.0a1", False, "2.0a1"),  # === with prereleases=False
    ("===junk", False, "junk"),
    (">=1.0a1", None, "1.0a2"),  # a pre-release in the specifier: prereleases is True
    ("!=1.0a1", None, "1.0a2"),  # ... except for !=
]


@pytest.mark.parametrize(("spec", "setting", "item"), PRERELEASE_SETTING_CASES)
def test_prerelease_settings(spec: str, setting: bool | None, item: str) -> None:
    pair = both_sets(spec, prereleases=setting)
    assert pair is not None
    ours, theirs = pair
    check_contains(ours, theirs, item)
    check_set_shape(ours, theirs)
    our_specs = [pep440.Specifier(str(s), prereleases=setting) for s in ours]
    their_specs = [their_specifiers.Specifier(str(s), prereleases=setting) for s in theirs]
    for our_spec, their_spec in zip(our_specs, their_specs, strict=True):
        assert our_spec.prereleases == their_spec.prereleases
        assert repr(our_spec) == repr(their_spec)
        for pre in PRERELEASES:
            assert our_spec.contains(item, prereleases=pre) == their_spec.contains(
                item, prereleases=pre
            )


# (text, packaging's normal form, or None where it is no version)
VERSION_CASES = [
    ("2.13.0", "2.13.0"),  # the fast path: digits and dots
    ("01.002", "1.2"),  # leading zeros go
    ("1..2", None),  # an empty release part
    (".1", None),
    ("1.", None),
    ("", None),
    (" 1.0\t\n", "1.0"),  # surrounding whitespace
    ("\u20031.0\u00a0", "1.0"),  # ... Unicode whitespace too
    ("1 .0", None),  # ... but not inside
    ("v1.0", "1.0"),  # a leading v
    ("V1.0", "1.0"),
    ("vv1.0", None),
    ("1!2.0", "1!2.0"),  # an epoch
    ("0!2.0", "2.0"),  # ... epoch 0 is not written
    ("1.0-RC1", "1.0rc1"),  # upper case, - separator
    ("1.0alpha", "1.0a0"),  # alternative spellings, implicit 0
    ("1.0.beta.2", "1.0b2"),
    ("1.0c1", "1.0rc1"),
    ("1.0pre1", "1.0rc1"),
    ("1.0preview_1", "1.0rc1"),
    ("1.0a-", "1.0a0"),  # a trailing separator after the letter
    ("1.0a.1", "1.0a1"),
    ("1.0.post", "1.0.post0"),
    ("1.0-1", "1.0.post1"),  # "-N" is a post-release
    ("1.0-", None),
    ("1.0rev2", "1.0.post2"),
    ("1.0r", "1.0.post0"),
    ("1.0_post_3", "1.0.post3"),
    ("1.0dev", "1.0.dev0"),
    ("1.0-dev-4", "1.0.dev4"),
    ("1.0a1-1", "1.0a1.post1"),
    ("1.0a1.post2.dev3", "1.0a1.post2.dev3"),
    ("1.0.dev1.post1", None),  # dev comes last
    ("1.0+abc.7", "1.0+abc.7"),  # local versions
    ("1.0+ABC-007_x", "1.0+abc.7.x"),
    ("1.0+", None),
    ("1.0+abc.", None),
    ("1.0+ab c", None),
    ("1.0+a..b", None),
    ("+abc", None),
    ("1.0+abc+def", None),
    ("1.0+\u00e4", None),  # local labels are ASCII
    ("1.0+Cu124\t", "1.0+cu124"),
    ("2.13.0+cpu", "2.13.0+cpu"),  # torch's builds
    ("2.6.0rc1+cu124", "2.6.0rc1+cu124"),
    ("1.0.*", None),
    ("1.0a1b1", None),
    ("\u0661.0", None),  # only ASCII digits
    ("1.0ſ", None),  # no Unicode case folding in the letters (long s)
    ("1.0+\u212a", None),  # ... nor in local labels (Kelvin sign)
]


@pytest.mark.parametrize(("text", "normal"), VERSION_CASES)
def test_version_edge_cases(text: str, normal: str | None) -> None:
    pair = both_versions(text)
    if normal is None:
        assert pair is None
    else:
        assert pair is not None
        assert str(pair[0]) == normal


@pytest.mark.parametrize("item", [None, 1, 1.0, ["1"], ["1.0"], object()])
def test_version_of_something_not_text(item: object) -> None:
    with pytest.raises(their_version.InvalidVersion):
        their_version.Version(item)  # type: ignore[arg-type]
    with pytest.raises(pep440.InvalidVersion):
        pep440.Version(item)  # type: ignore[arg-type]


# Specifiers packaging rejects.
INVALID_SPECIFIERS = [
    "",  # no operator (Specifier; an empty SpecifierSet is fine)
    "1.0",  # no operator
    "=1.0",  # not an operator
    "=>1.0",
    "~=1",  # ~= needs two release parts
    "~=v1a1",
    "~=1.0.*",  # ... and takes no wildcard
    "~=1.0+local",  # ... and no local label
    "<=1.0.*",  # wildcards only with == and !=
    ">1.0+local",  # local labels only with == and !=
    "==1.0.*+local",  # not both
    "==1.0+local.*",
    "==1.0+a..b",
    "==1.0+",
    "==1.0a1.*",  # a wildcard only after the release
    "==1.0 .*",
    "==1.*.*",
    "== 1.0 2",
    "===",  # === needs text
    "===a b",  # ... without whitespace
    "===a;b",  # ... or ; or )
    "===a)",
    ">=1.0;",
    ">= v",
]


@pytest.mark.parametrize("spec", INVALID_SPECIFIERS)
def test_invalid_specifiers(spec: str) -> None:
    with pytest.raises(their_specifiers.InvalidSpecifier):
        their_specifiers.Specifier(spec)
    with pytest.raises(pep440.InvalidSpecifier):
        pep440.Specifier(spec)
    if spec:
        assert both_sets(f">=0,{spec}") is None


def test_specifier_of_something_not_text() -> None:
    with pytest.raises(TypeError):
        their_specifiers.Specifier(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pep440.Specifier(1)  # type: ignore[arg-type]


# Specifiers packaging accepts, with odd spellings; str, ==, hash must agree.
ODD_SPECIFIERS = [
    "==v1.0.*",
    " == 1.0.0 ",
    "==1!1.0.*",
    "~=1.0.0",
    "~= V1.0.POST1",
    ">=1.0-1",
    "===  anything-goes! ",
    "====1.0",  # === with text "=1.0"
    "!=1.0+ABC",
    "<1.0RC1",
]


@pytest.mark.parametrize("spec", ODD_SPECIFIERS)
def test_odd_specifiers(spec: str) -> None:
    ours, theirs = pep440.Specifier(spec), their_specifiers.Specifier(spec)
    assert (ours.operator, ours.version, str(ours)) == (
        theirs.operator,
        theirs.version,
        str(theirs),
    )
    assert repr(ours) == repr(theirs)
    assert ours.prereleases == theirs.prereleases
    assert hash(ours) == hash(theirs)
    for other in ODD_SPECIFIERS:
        assert (ours == pep440.Specifier(other)) == (theirs == their_specifiers.Specifier(other))
        assert (ours == other) == (theirs == other)


def test_equality() -> None:
    pairs = [
        ("==1.0", "==1.0.0"),  # trailing zeros go
        ("~=1.0", "~=1.0.0"),  # ... except for ~=
        ("==1.0.*", "==1.0.0.*"),  # ... and wildcards, compared as written
        ("==1.0+abc", "==1.0+ABC"),
        ("===abc", "===ABC"),  # === compared as written
        (">=1", ">=1.0"),
    ]
    for left, right in pairs:
        ours = pep440.Specifier(left) == pep440.Specifier(right)
        assert ours == (their_specifiers.Specifier(left) == their_specifiers.Specifier(right))
        assert (pep440.Specifier(left) == right) == (their_specifiers.Specifier(left) == right)
    assert pep440.Specifier("==1") != "not a specifier"
    assert pep440.Specifier("==1") != 1
    assert pep440.Version("1.0") != "1.0"
    assert pep440.Version("1.0").__lt__("1.0") is NotImplemented
    with pytest.raises(TypeError):
        assert pep440.Version("1.0") < "2.0"
    sets = [">=1.0,<2", "<2,>=1.0.0", ">=1", "", ">=1.0,>=1.0.0,<2"]
    for left in sets:
        for right in sets:
            assert (pep440.SpecifierSet(left) == pep440.SpecifierSet(right)) == (
                their_specifiers.SpecifierSet(left) == their_specifiers.SpecifierSet(right)
            )
            assert (pep440.SpecifierSet(left) == right) == (
                their_specifiers.SpecifierSet(left) == right
            )
        if "," not in left and left:
            assert (pep440.SpecifierSet(left) == pep440.Specifier(left)) == (
                their_specifiers.SpecifierSet(left) == their_specifiers.Specifier(left)
            )
    assert pep440.SpecifierSet(">=1") != 1


def test_set_reorders_and_deduplicates_when_printed() -> None:
    """packaging sorts and deduplicates a set's specifiers the first time it prints, hashes
    or compares it; iteration and len() see the change afterwards."""
    text = "<2,>=1.0,>=1.0.0"
    ours, theirs = pep440.SpecifierSet(text), their_specifiers.SpecifierSet(text)
    assert [str(s) for s in ours] == [str(s) for s in theirs] == ["<2", ">=1.0", ">=1.0.0"]
    assert len(ours) == len(theirs) == 3
    assert str(ours) == str(theirs) == "<2,>=1.0"
    assert [str(s) for s in ours] == [str(s) for s in theirs] == ["<2", ">=1.0"]
    assert len(ours) == len(theirs) == 2


def test_set_from_specifiers() -> None:
    items: list[pep440.Specifier | str] = [">=1.0", pep440.Specifier("<2", prereleases=True)]
    ours = pep440.SpecifierSet(items)
    theirs = their_specifiers.SpecifierSet([">=1.0", their_specifiers.Specifier("<2", True)])
    check_set_shape(ours, theirs)
    for item in ("1.5", "1.5a1", "2.0", "junk"):
        check_contains(ours, theirs, item)
    with pytest.raises(TypeError):
        pep440.SpecifierSet([1])  # type: ignore[list-item]


def test_ordering() -> None:
    texts = [
        "1.0.dev0",
        "1.0a1.dev1",
        "1.0a1",
        "1.0a1.post1.dev1",
        "1.0a1.post1",
        "1.0b1",
        "1.0rc1",
        "1.0",
        "1.0+abc",
        "1.0+abc.1",
        "1.0+1",
        "1.0+2.a",
        "1.0.post1.dev0",
        "1.0.post1",
        "1.0.1",
        "1!0.1",
    ]
    ours = [pep440.Version(t) for t in texts]
    theirs = [their_version.Version(t) for t in texts]
    assert [str(v) for v in sorted(reversed(ours))] == [str(v) for v in sorted(reversed(theirs))]
    assert [str(v) for v in sorted(ours)] == texts
    assert pep440.Version("1.0") == pep440.Version("1.0.0")
    assert hash(pep440.Version("1.0")) == hash(pep440.Version("1.0.0"))
    assert pep440.Version("1.0+ABC") == pep440.Version("1.0+abc")


# --- 3. generated versions and specifiers -------------------------------------------------

# Pieces are spelled out in full and drawn whole: a few draws a version keep the generated
# tests quick (hypothesis spends its time per draw, not in the checks).
_NUMBERS = ["0", "1", "2", "3", "9", "10", "12", "99", "123", "00", "007"]
_SEPARATORS = ["", ".", "-", "_"]
_FEW_NUMBERS = ["", "0", "1", "2", "10", "01"]
_PRE = [
    f"{before}{letter}{after}{number}"
    for before in _SEPARATORS
    for letter in ["a", "b", "rc", "c", "alpha", "beta", "pre", "preview"]
    for after in _SEPARATORS
    for number in _FEW_NUMBERS
]
_POST = [f"-{number}" for number in _NUMBERS] + [
    f"{before}{letter}{after}{number}"
    for before in _SEPARATORS
    for letter in ["post", "rev", "r"]
    for after in _SEPARATORS
    for number in _FEW_NUMBERS
]
_DEV = [
    f"{before}dev{after}{number}"
    for before in _SEPARATORS
    for after in _SEPARATORS
    for number in _FEW_NUMBERS
]
_LOCAL_PARTS = ["abc", "cpu", "cu124", "rocm6", "x", "0a", "1", "07", "12"]

_numbers = st.sampled_from(_NUMBERS)
# Strategies are built once, here: building them inside a draw costs more than drawing.
_heads = st.sampled_from(["v", "V", "1!", "0!", "v12!", "007!"])
# 1 to 5 release parts, drawn as one string: fewer draws than a list.
_RELEASES = sorted(
    {".".join(parts) for parts in itertools.product(_NUMBERS, repeat=1)}
    | {".".join(parts) for parts in itertools.product(_NUMBERS, repeat=2)}
    | {".".join(parts) for parts in itertools.product(_NUMBERS[:6], repeat=3)}
    | {".".join(parts) for parts in itertools.product(_NUMBERS[:4], repeat=4)}
    | {".".join(parts) for parts in itertools.product(_NUMBERS[:3], repeat=5)},
    key=lambda text: (len(text), text),  # hypothesis shrinks towards the first
)
_releases = st.sampled_from(_RELEASES)
_pres, _posts, _devs = st.sampled_from(_PRE), st.sampled_from(_POST), st.sampled_from(_DEV)
_locals = st.tuples(
    st.sampled_from([".", "-", "_"]),
    st.lists(st.sampled_from(_LOCAL_PARTS), min_size=1, max_size=3),
).map(lambda pair: "+" + pair[0].join(pair[1]))
_spellings = st.tuples(
    st.integers(0, 4),  # 0: upper case, 1: mixed case
    st.integers(0, 2**32),  # which characters, when mixed
    st.integers(0, 99),  # 1 in 12: insert a character or drop one
    st.integers(0, 40),  # where
    st.sampled_from(list("._-+!*v1a ")),  # what
    st.sampled_from(["", "", "", "", " ", "\t", "\n "]),
    st.sampled_from(["", "", "", "", " ", "\t", " \n"]),
)
_flags = st.integers(0, 255)


@st.composite
def version_texts(draw: st.DrawFn) -> str:
    """A version string of any PEP 440 shape, in any spelling packaging knows (epoch, 1-5
    release parts, pre/post/dev with every separator, local labels, any case, a leading v,
    surrounding whitespace), sometimes broken by one character."""
    flags = draw(_flags)  # which parts there are; shrinks to none
    text = (draw(_heads) if flags & 1 else "") + draw(_releases)
    if flags & 2:  # one in two
        text += draw(_pres)
    if flags & 12 == 12:  # one in four
        text += draw(_posts)
    if flags & 48 == 48:
        text += draw(_devs)
    if flags & 192 == 192:
        text += draw(_locals)
    case, mask, damage, where, char, before, after = draw(_spellings)
    if case == 0:
        text = text.upper()
    elif case == 1:
        text = "".join(c.upper() if mask >> i & 1 else c for i, c in enumerate(text))
    where = min(where, len(text))
    if damage % 12 == 5:  # not 0: hypothesis draws the ends of a range more often
        text = text[:where] + char + text[where:]
    elif damage % 12 == 7:
        text = text[:where] + text[where + 1 :]
    return "".join((before, text, after))


_junk = st.text(alphabet="0123456789.abcdeiloprstvxABCPRV+-_!* \t", max_size=14)
any_versions = st.one_of(version_texts(), version_texts(), version_texts(), _junk)

_OPERATORS = ["==", "!=", "<=", ">=", "<", ">", "~=", "==="]
_specifier_parts = st.tuples(
    st.sampled_from(["", "", " "]),  # before
    # "=" and "" (no operator) in the middle: hypothesis draws the ends more often
    st.sampled_from([*_OPERATORS * 2, "=", "", *_OPERATORS * 2]),
    st.sampled_from(["", "", " ", "  "]),  # between operator and version
    st.integers(0, 99),  # what follows
)


@st.composite
def specifier_texts(draw: st.DrawFn) -> str:
    """One specifier: an operator, maybe spaces, a generated version, sometimes with `.*`."""
    before, operator, gap, kind = draw(_specifier_parts)
    kind %= 20
    if kind == 7:
        version = draw(_junk)
    elif kind in (8, 9, 10):  # a wildcard, mostly on a plain release
        version = draw(_releases if kind < 10 else version_texts()) + ".*"
    else:
        version = draw(version_texts())
    return before + operator + gap + version


specifier_set_texts = st.lists(
    st.tuples(specifier_texts(), st.sampled_from([",", ",", ", ", " , ", ",,"])), max_size=3
).map(lambda items: "".join(spec + comma for spec, comma in items)[:-1])
"""Specifiers joined by commas with random spaces, sometimes with an empty item."""

# Where ranges start and stop: each specifier's own version, and these after it.
_NEAR_SUFFIXES = [
    "",
    ".0",
    ".1",
    "a1",
    "rc1",
    ".post1",
    ".dev0",
    ".post0.dev0",
    "+local",
    "+1",
]


def neighbours(spec: str) -> list[str]:
    """Versions at the edges of `spec`'s ranges: each of its versions, the releases next to
    it (1.4.2 -> 1.4, 2, 1.5, 1.4.3, for ~= and wildcards), each with and without suffixes."""
    versions: set[str] = set()
    for part in spec.split(","):
        text = part.strip().lstrip("<>=!~").strip().removesuffix(".*")
        versions.add(text)
        try:
            parsed = their_version.Version(text)
        except their_version.InvalidVersion:
            continue
        epoch = f"{parsed.epoch}!" if parsed.epoch else ""
        release = parsed.release
        for i in range(len(release)):
            versions.add(epoch + ".".join(map(str, release[: i + 1])))
            versions.add(epoch + ".".join(map(str, (*release[:i], release[i] + 1))))
    return [version + suffix for version in sorted(versions) for suffix in _NEAR_SUFFIXES]


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specifier_set_texts, st.sampled_from(PRERELEASES), any_versions)
def test_generated_contains(spec: str, setting: bool | None, item: str) -> None:
    pair = both_sets(spec, prereleases=setting)
    if pair is None:
        return
    ours, theirs = pair
    check_contains(ours, theirs, item)
    for near in neighbours(spec):
        for pre in PRERELEASES:
            assert ours.contains(near, prereleases=pre) == theirs.contains(near, prereleases=pre), (
                spec,
                setting,
                near,
                pre,
            )
    check_set_shape(ours, theirs)


@settings(max_examples=1000, deadline=None)
@given(specifier_texts())
def test_generated_specifiers(spec: str) -> None:
    try:
        theirs = their_specifiers.Specifier(spec)
    except their_specifiers.InvalidSpecifier:
        with pytest.raises(pep440.InvalidSpecifier):
            pep440.Specifier(spec)
        return
    ours = pep440.Specifier(spec)
    assert (ours.operator, ours.version, str(ours), repr(ours)) == (
        theirs.operator,
        theirs.version,
        str(theirs),
        repr(theirs),
    )
    assert ours.prereleases == theirs.prereleases
    assert hash(ours) == hash(theirs)


@settings(max_examples=1500, deadline=None)
@given(any_versions, any_versions)
def test_generated_versions(left: str, right: str) -> None:
    first, second = both_versions(left), both_versions(right)
    if first is None or second is None:
        return
    (our_left, their_left), (our_right, their_right) = first, second
    assert (our_left < our_right) == (their_left < their_right)
    assert (our_left <= our_right) == (their_left <= their_right)
    assert (our_left > our_right) == (their_left > their_right)
    assert (our_left >= our_right) == (their_left >= their_right)
    assert (our_left == our_right) == (their_left == their_right)
    assert (our_left != our_right) == (their_left != their_right)
    if our_left == our_right:
        assert hash(our_left) == hash(our_right)


# --- 4. what importing it costs -----------------------------------------------------------


def test_import_leaves_typing_and_packaging_out() -> None:
    code = (
        "import sys; had_re = 're' in sys.modules; import chatenv.pep440 as p; "
        "assert p.SpecifierSet('>=1.40,<4').contains('1.99.0'); "
        "assert p.Version('2.13.0') < p.Version('2.13.1'); "
        "assert ('re' in sys.modules) == had_re, 'digits and dots need no regex'; "
        "assert p.SpecifierSet('>=1.0a1,!=1.5.*').contains('1.6rc1+cu124'); "
        "assert p.Version('v1.0-RC1') < p.Version('1.0'); "
        "print(sorted(m for m in sys.modules if m == 'typing' or m.startswith('packaging')))"
    )
    assert fresh_python(code).strip() == "[]"
