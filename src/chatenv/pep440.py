"""PEP 440 versions and specifiers: the part of `packaging.version` and `packaging.specifiers`
that `chatenv doctor` uses (`Version`, `Specifier`, `SpecifierSet.contains`), without
importing packaging. Importing those two modules (with the `typing` they pull in and the large
regexes they compile at import) costs 8-10 ms of a ~100 ms doctor run on the 2-core machine.

Results are meant to be identical to packaging 26.4's for every input: validity, normalised
`str`, ordering, `hash`, every property and `contains` (its pre-release rules included).
tests/test_pep440.py holds it to that, on this machine's installed metadata, hand-picked edge
cases and generated versions and specifiers.

It imports nothing (`typing` included) and compiles nothing at import. Versions made only
of digits and dots (the usual case: "2.13.0", ">=1.40,<4"), with or without a local label
("2.13.0+cpu", "2.6.0+cu124"), are parsed without a regex; `re` is imported and one pattern
compiled the first time anything else turns up.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Iterable, Iterator

    _Local = tuple[int | str, ...]
    # (epoch, trimmed release, (pre rank, pre n, post rank, post n, dev rank, dev n)[, local]).
    # Bounds reuse the shape with float infinities, so every key compares with every other.
    _Key = tuple[object, ...]
    _Interval = tuple[_Key, _Key]

__all__ = ["InvalidSpecifier", "InvalidVersion", "Specifier", "SpecifierSet", "Version"]


class InvalidVersion(ValueError):
    """A string that is not a PEP 440 version."""


class InvalidSpecifier(ValueError):
    """A string that is not a PEP 440 version specifier."""


_DIGITS_AND_DOTS = frozenset(".0123456789")
_PRE_SPELLINGS = {
    "a": "a",
    "alpha": "a",
    "b": "b",
    "beta": "b",
    "rc": "rc",
    "c": "rc",
    "pre": "rc",
    "preview": "rc",
}
_PRE_RANK = {"a": 0, "b": 1, "rc": 2}
_STABLE_SUFFIX = (3, 0, 0, 0, 1, 0)  # no pre, no post, no dev
_INF = float("inf")
_AFTER_LOCALS = ((_INF, ""),)  # a local segment above every real one
_BELOW_ALL: _Key = (-_INF,)
_ABOVE_ALL: _Key = (_INF,)

# Groups: epoch, release, pre letter, pre n, post "-n", post letter, post n, dev, dev n, local.
# Not possessive (Python 3.10 has no `*+`); on this grammar it accepts the same strings as
# packaging's possessive pattern, which the tests check.
_CORE = (
    r"v?(?:([0-9]+)!)?([0-9]+(?:\.[0-9]+)*)"
    r"(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?([0-9]+)?)?"
    r"(?:-([0-9]+)|[-_.]?(post|rev|r)[-_.]?([0-9]+)?)?"
    r"(?:[-_.]?(dev)[-_.]?([0-9]+)?)?"
    r"(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?"
)
_core_regex: re.Pattern[str] | None = None


def _core_match(text: str) -> re.Match[str] | None:
    """Match a version with no surrounding whitespace. `re` is imported and the pattern
    compiled on first use: digits-and-dots versions never need them."""
    global _core_regex  # noqa: PLW0603
    if _core_regex is None:
        import re

        _core_regex = re.compile(_CORE, re.ASCII | re.IGNORECASE)
    return _core_regex.fullmatch(text)


def _cmpkey(
    epoch: int,
    release: tuple[int, ...],
    pre: tuple[str, int] | None,
    post: int | None,
    dev: int | None,
    local: _Local | None,
) -> _Key:
    """The sort key, shaped as packaging's (so hashes agree too)."""
    end = len(release)
    while end and release[end - 1] == 0:
        end -= 1
    trimmed = release if end == len(release) else release[:end]
    if pre is None and post is None and dev is None and local is None:
        return (epoch, trimmed, _STABLE_SUFFIX)
    if pre is not None:
        pre_rank, pre_n = _PRE_RANK[pre[0]], pre[1]
    elif post is None and dev is not None:
        pre_rank, pre_n = -1, 0  # 1.0.dev1 sorts before 1.0a1
    else:
        pre_rank, pre_n = 3, 0
    suffix = (
        pre_rank,
        pre_n,
        0 if post is None else 1,
        0 if post is None else post,
        1 if dev is None else 0,
        0 if dev is None else dev,
    )
    if local is None:
        return (epoch, trimmed, suffix)
    return (
        epoch,
        trimmed,
        suffix,
        tuple((part, "") if isinstance(part, int) else (-1, part) for part in local),
    )


class Version:
    """A PEP 440 version, as `packaging.version.Version` parses, prints and orders it."""

    __slots__ = ("_dev", "_epoch", "_key", "_local", "_post", "_pre", "_release")

    _epoch: int
    _release: tuple[int, ...]
    _pre: tuple[str, int] | None
    _post: int | None
    _dev: int | None
    _local: _Local | None
    _key: _Key | None

    def __init__(self, version: str) -> None:
        """Parse `version`; raise InvalidVersion if it is not one."""
        try:
            simple = _DIGITS_AND_DOTS.issuperset(version)
        except TypeError:
            raise InvalidVersion(f"Invalid version: {version!r}") from None
        if simple:
            try:
                parts = version.split(".")
            except AttributeError:
                raise InvalidVersion(f"Invalid version: {version!r}") from None
            try:
                self._release = tuple(map(int, parts))
            except ValueError:
                if "" in parts:  # "1..2", ".1", "": not versions
                    raise InvalidVersion(f"Invalid version: {version!r}") from None
                raise  # more digits than int() takes: packaging lets that through too
            self._epoch = 0
            self._pre = self._post = self._dev = self._local = None
            self._key = None
            return
        if not isinstance(version, str):
            raise InvalidVersion(f"Invalid version: {version!r}")
        if "+" in version and _set_release_local(self, version):
            return  # "2.13.0+cpu", "2.6.0+cu124": torch's builds, without a regex
        match = _core_match(version.strip())
        if match is None:
            raise InvalidVersion(f"Invalid version: {version!r}")
        self._set_from(match)

    def _set_from(self, match: re.Match[str]) -> None:
        epoch, release, pre_l, pre_n, post_n1, post_l, post_n2, dev_l, dev_n, local = match.groups()
        self._epoch = int(epoch) if epoch else 0
        self._release = tuple(map(int, release.split(".")))
        self._pre = None if pre_l is None else (_PRE_SPELLINGS[pre_l.lower()], int(pre_n or 0))
        if post_n1 is not None:
            self._post = int(post_n1)
        else:
            self._post = None if post_l is None else int(post_n2 or 0)
        self._dev = None if dev_l is None else int(dev_n or 0)
        self._local = (
            None
            if local is None
            else tuple(
                int(part) if part.isdigit() else part.lower()
                for part in local.replace("-", ".").replace("_", ".").split(".")
            )
        )
        self._key = None

    @classmethod
    def _from_match(cls, match: re.Match[str]) -> Version:
        version = cls.__new__(cls)
        version._set_from(match)
        return version

    def _cmp(self) -> _Key:
        key = self._key
        if key is None:
            key = self._key = _cmpkey(
                self._epoch, self._release, self._pre, self._post, self._dev, self._local
            )
        return key

    def __repr__(self) -> str:
        return f"<Version({str(self)!r})>"

    def __str__(self) -> str:
        text = ".".join(map(str, self._release))
        if self._epoch:
            text = f"{self._epoch}!{text}"
        if self._pre is not None:
            text += f"{self._pre[0]}{self._pre[1]}"
        if self._post is not None:
            text += f".post{self._post}"
        if self._dev is not None:
            text += f".dev{self._dev}"
        if self._local is not None:
            text += "+" + ".".join(map(str, self._local))
        return text

    def __hash__(self) -> int:
        return hash(self._key or self._cmp())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self._key or self._cmp()) == (other._key or other._cmp())

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self._key or self._cmp()) != (other._key or other._cmp())

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self._key or self._cmp()) < (other._key or other._cmp())

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self._key or self._cmp()) <= (other._key or other._cmp())

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self._key or self._cmp()) > (other._key or other._cmp())

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self._key or self._cmp()) >= (other._key or other._cmp())

    @property
    def epoch(self) -> int:
        """The epoch: 1 in "1!2.0", else 0."""
        return self._epoch

    @property
    def release(self) -> tuple[int, ...]:
        """The release numbers, trailing zeros kept: (2, 0, 0) for "2.0.0"."""
        return self._release

    @property
    def pre(self) -> tuple[str, int] | None:
        """("a" | "b" | "rc", n), or None."""
        return self._pre

    @property
    def post(self) -> int | None:
        """The post-release number, or None."""
        return self._post

    @property
    def dev(self) -> int | None:
        """The development-release number, or None."""
        return self._dev

    @property
    def local(self) -> str | None:
        """The normalised local label ("cu124" in "2.6.0+cu124"), or None."""
        return None if self._local is None else ".".join(map(str, self._local))

    @property
    def public(self) -> str:
        """The version without its local label."""
        return str(self).split("+", 1)[0]

    @property
    def base_version(self) -> str:
        """Epoch and release only: "1!2.0" for "1!2.0rc1.post2+x"."""
        release = ".".join(map(str, self._release))
        return f"{self._epoch}!{release}" if self._epoch else release

    @property
    def major(self) -> int:
        """The first release number."""
        return self._release[0]

    @property
    def minor(self) -> int:
        """The second release number, 0 if there is none."""
        return self._release[1] if len(self._release) >= 2 else 0

    @property
    def micro(self) -> int:
        """The third release number, 0 if there is none."""
        return self._release[2] if len(self._release) >= 3 else 0

    @property
    def is_prerelease(self) -> bool:
        """Whether this is an a/b/rc or a dev release."""
        return self._pre is not None or self._dev is not None

    @property
    def is_postrelease(self) -> bool:
        """Whether this has a post-release number."""
        return self._post is not None

    @property
    def is_devrelease(self) -> bool:
        """Whether this has a development-release number."""
        return self._dev is not None


def _set_release_local(version: Version, text: str) -> bool:
    """Fill `version` from `text` if that is digits and dots, "+" and a local label; False
    (the regex decides) if it is anything else."""
    public, _, local = text.partition("+")
    if not _DIGITS_AND_DOTS.issuperset(public):
        return False
    parts = public.split(".")
    labels = local.replace("-", ".").replace("_", ".").split(".")
    if "" in parts or not all(label.isascii() and label.isalnum() for label in labels):
        return False
    version._release = tuple(map(int, parts))
    version._epoch = 0
    version._pre = version._post = version._dev = None
    version._local = tuple(int(label) if label.isdigit() else label.lower() for label in labels)
    version._key = None
    return True


def _release_version(parts: list[str]) -> Version | None:
    """The Version of these release numbers; None where one has more digits than int()
    takes (packaging accepts such a specifier, and fails only when it is used)."""
    version = Version.__new__(Version)
    try:
        version._release = tuple(map(int, parts))
    except ValueError:
        return None
    version._epoch = 0
    version._pre = version._post = version._dev = version._local = None
    version._key = None
    return version


def _coerce(item: object) -> Version | None:
    """`item` as a Version, or None where it is not one (packaging's `coerce_version`)."""
    if isinstance(item, Version):
        return item
    try:
        return Version(item)  # type: ignore[arg-type]  # anything: Version sorts it out
    except InvalidVersion:
        return None


def _after_locals(key: _Key) -> _Key:
    """Just above `key`'s version and all its local versions, below its post-releases."""
    return (key[0], key[1], key[2], _AFTER_LOCALS)


def _after_posts(key: _Key) -> _Key:
    """Just above `key`'s version and all its post-releases (for a final or a pre-release)."""
    suffix: tuple[int, ...] = key[2]  # type: ignore[assignment]
    return (key[0], key[1], (suffix[0], suffix[1], 1, _INF, 1, 0), _AFTER_LOCALS)


def _just_after(key: _Key) -> _Key:
    """Just above `key` and below anything else (an exclusive lower or inclusive upper end)."""
    return (*key, ())


def _next_prefix_dev0(epoch: int, release: tuple[int, ...]) -> _Key:
    """1.2 -> the key of 1.3.dev0, the first version outside the prefix 1.2."""
    return _cmpkey(epoch, (*release[:-1], release[-1] + 1), None, None, 0, None)


_TWO_CHAR_OPERATORS = frozenset(("~=", "==", "!=", "<=", ">="))
_VERSION_OPERATORS = frozenset(("~=", "==", "!=", "<=", ">=", "<", ">"))  # all but ===
_NOT_IN_ARBITRARY = frozenset(";)")


class Specifier:
    """One PEP 440 specifier (">=1.40", "==2.6.*", "~=1.4.2"), as packaging's `Specifier`."""

    __slots__ = ("_canonical", "_intervals", "_prereleases", "_spec", "_version")

    def __init__(self, spec: str = "", prereleases: bool | None = None) -> None:
        """Parse `spec`; raise InvalidSpecifier if it is not one."""
        if not isinstance(spec, str):
            raise TypeError(f"expected string, got {type(spec).__name__!r}")
        text = spec.strip()
        operator = text[:2]
        if operator not in _TWO_CHAR_OPERATORS:
            operator = text[:1]
        elif operator == "==" and text[2:3] == "=":
            operator = "==="
        version = text[len(operator) :].strip()
        self._spec = (operator, version)
        self._prereleases = prereleases
        self._version: Version | None = None
        self._intervals: tuple[_Interval, ...] | None = None
        self._canonical: tuple[str, str] | None = None
        if operator in _VERSION_OPERATORS and version and _DIGITS_AND_DOTS.issuperset(version):
            # The usual case (">=1.40", "<4"), without a regex.
            parts = version.split(".")
            if "" not in parts and (operator != "~=" or len(parts) > 1):
                self._version = _release_version(parts)
                return
        elif self._check(operator, version):
            return
        raise InvalidSpecifier(f"Invalid specifier: {spec!r}")

    def _check(self, operator: str, text: str) -> bool:
        """Whether `text` is a version `operator` takes (packaging's specifier grammar); keep
        the parsed version."""
        if operator == "===":  # anything without whitespace, ";" or ")"
            return bool(text) and not any(
                char.isspace() or char in _NOT_IN_ARBITRARY for char in text
            )
        if operator not in _VERSION_OPERATORS:
            return False
        prefix = operator in ("==", "!=") and text.endswith(".*")
        if prefix:
            text = text[:-2]
        if _DIGITS_AND_DOTS.issuperset(text):
            parts = text.split(".")
            if "" in parts or (operator == "~=" and len(parts) < 2):
                return False
            self._version = _release_version(parts)
            return True
        if operator in ("==", "!=") and not prefix and "+" in text:
            version = Version.__new__(Version)
            try:
                if _set_release_local(version, text):
                    self._version = version
                    return True
            except ValueError:  # more digits than int() takes: valid, but fails when used
                return True
        match = _core_match(text)
        if match is None:
            return False
        release, pre, post_n1, post_l, dev, local = match.group(2, 3, 5, 6, 8, 10)
        if local is not None and operator not in ("==", "!="):
            return False
        if prefix and (pre or post_n1 or post_l or dev or local):
            return False  # a wildcard only after a release
        if operator == "~=" and "." not in release:
            return False  # ~= needs two release numbers
        try:
            self._version = Version._from_match(match)
        except ValueError:  # more digits than int() takes: valid, but fails when used
            self._version = None
        return True

    def _spec_version(self) -> Version | None:
        """The version after the operator, without `.*`; None for an `===` non-version."""
        version = self._version
        if version is None:
            operator, text = self._spec
            version = _coerce(text) if operator == "===" else Version(text.removesuffix(".*"))
            self._version = version
        return version

    def _spec_version_required(self) -> Version:
        version = self._spec_version()
        assert version is not None  # only `===` can have no version
        return version

    @property
    def operator(self) -> str:
        """The operator: "==", ">=", "~=", "===" and so on."""
        return self._spec[0]

    @property
    def version(self) -> str:
        """The text after the operator, as written (whitespace removed)."""
        return self._spec[1]

    @property
    def prereleases(self) -> bool | None:
        """The explicit setting; else whether the spec's version is a pre-release (False for
        `!=` and `==V.*`, None for an `===` that is no version)."""
        if self._prereleases is not None:
            return self._prereleases
        operator, text = self._spec
        if operator == "!=" or (operator == "==" and text.endswith(".*")):
            return False
        version = self._spec_version()
        if version is None:
            return None
        return version.is_prerelease

    @prereleases.setter
    def prereleases(self, value: bool | None) -> None:
        self._prereleases = value

    def __str__(self) -> str:
        return self._spec[0] + self._spec[1]

    def __repr__(self) -> str:
        pre = f", prereleases={self.prereleases!r}" if self._prereleases is not None else ""
        return f"<Specifier({str(self)!r}{pre})>"

    def _canonical_spec(self) -> tuple[str, str]:
        """What equality and hashing compare: trailing release zeros dropped (not for `~=`)."""
        canonical = self._canonical
        if canonical is None:
            operator, text = self._spec
            if operator == "===" or text.endswith(".*"):
                canonical = self._spec
            else:
                version = self._spec_version_required()
                if operator == "~=":
                    normal = str(version)
                else:
                    release = version._release
                    end = len(release)
                    while end > 1 and release[end - 1] == 0:
                        end -= 1
                    trimmed = Version.__new__(Version)
                    trimmed._epoch, trimmed._release = version._epoch, release[:end]
                    trimmed._pre, trimmed._post = version._pre, version._post
                    trimmed._dev, trimmed._local = version._dev, version._local
                    normal = str(trimmed)
                canonical = (operator, normal)
            self._canonical = canonical
        return canonical

    def __hash__(self) -> int:
        return hash(self._canonical or self._canonical_spec())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = self.__class__(str(other))
            except InvalidSpecifier:
                return NotImplemented
        elif not isinstance(other, self.__class__):
            return NotImplemented
        return (self._canonical or self._canonical_spec()) == (
            other._canonical or other._canonical_spec()
        )

    def _build_intervals(self) -> tuple[_Interval, ...]:
        """The versions this accepts, as sorted half-open [low, high) ranges of sort keys."""
        operator, text = self._spec
        version = self._spec_version_required()
        epoch, release = version._epoch, version._release
        if text.endswith(".*"):
            low = _cmpkey(epoch, release, None, None, 0, None)
            high = _next_prefix_dev0(epoch, release)
            if operator == "==":
                return ((low, high),)
            return ((_BELOW_ALL, low), (high, _ABOVE_ALL))
        key = version._key or version._cmp()
        if operator == ">=":
            return ((key, _ABOVE_ALL),)
        if operator == "<=":
            return ((_BELOW_ALL, _after_locals(key)),)
        pre, post, dev = version._pre, version._post, version._dev
        if operator == ">":
            if dev is not None:  # >1.0.dev1 starts at 1.0.dev2
                return ((_cmpkey(epoch, release, pre, post, dev + 1, None), _ABOVE_ALL),)
            if post is not None:  # >1.0.post1 starts at 1.0.post2.dev0
                return ((_cmpkey(epoch, release, pre, post + 1, 0, None), _ABOVE_ALL),)
            return ((_after_posts(key), _ABOVE_ALL),)  # not 1.0+local, not 1.0.postN
        if operator == "<":
            # <1.0 stops before 1.0.dev0 (no pre-releases of 1.0); <1.0rc1 before 1.0rc1.
            bound = (
                key
                if pre is not None or dev is not None
                else _cmpkey(epoch, release, None, post, 0, None)
            )
            return ((_BELOW_ALL, bound),)  # (<0 takes nothing: nothing is below 0.dev0)
        if operator == "~=":  # ~=1.4.2: >=1.4.2 and ==1.4.*
            return ((key, _next_prefix_dev0(epoch, release[:-1])),)
        # ==1.4 takes every local version of 1.4; ==1.4+abc only that one.
        end = _just_after(key) if "+" in text else _after_locals(key)
        if operator == "==":
            return ((key, end),)
        return ((_BELOW_ALL, key), (end, _ABOVE_ALL))  # !=

    def _matches(self, key: _Key) -> bool:
        """Whether the version with sort key `key` is in range (pre-release policy aside)."""
        intervals = self._intervals
        if intervals is None:
            intervals = self._intervals = self._build_intervals()
        for low, high in intervals:
            if key < low:
                return False
            if key < high:
                return True
        return False

    def __contains__(self, item: str | Version) -> bool:
        return self.contains(item)

    def contains(self, item: str | Version, prereleases: bool | None = None) -> bool:
        """Whether `item` satisfies this specifier. A string that is no version matches only
        an `===` with the same text (case aside). With `prereleases` None a pre-release
        matches unless the specifier was made with prereleases=False."""
        if prereleases is None:
            prereleases = self._prereleases
            if prereleases is None and self._spec[0] == "===" and self.prereleases:
                prereleases = True
        if self._spec[0] == "===":
            if str(item).lower() != self._spec[1].lower():
                return False
            if prereleases is False:
                parsed = _coerce(item)
                return parsed is None or not parsed.is_prerelease
            return True
        parsed = _coerce(item)
        if parsed is None:
            return False
        if prereleases is False and (parsed._pre is not None or parsed._dev is not None):
            return False
        return self._matches(parsed._key or parsed._cmp())


class SpecifierSet:
    """Comma-separated specifiers (">=1.40,<4"), as packaging's `SpecifierSet`."""

    __slots__ = ("_canonicalized", "_has_arbitrary", "_prereleases", "_specs")

    def __init__(
        self,
        specifiers: str | Iterable[Specifier | str] = "",
        prereleases: bool | None = None,
    ) -> None:
        """Parse `specifiers`; raise InvalidSpecifier if one of them is not a specifier."""
        if isinstance(specifiers, str):
            items = [part.strip() for part in specifiers.split(",")]
            self._specs = tuple([Specifier(item) for item in items if item])
            self._has_arbitrary = "===" in specifiers
        else:
            self._specs = tuple(
                [s if isinstance(s, Specifier) else Specifier(s) for s in specifiers]
            )
            self._has_arbitrary = any(s._spec[0] == "===" for s in self._specs)
        self._canonicalized = len(self._specs) <= 1
        self._prereleases = prereleases

    def _canonical_specs(self) -> tuple[Specifier, ...]:
        """Sorted by text, equal ones dropped. Like packaging, this reorders the set for good
        (iteration and `len` afterwards see it), the first time str, hash or == needs it."""
        if not self._canonicalized:
            self._specs = tuple(dict.fromkeys(sorted(self._specs, key=str)))
            self._canonicalized = True
        return self._specs

    @property
    def prereleases(self) -> bool | None:
        """The explicit setting; else True if any specifier's is, else None."""
        if self._prereleases is not None:
            return self._prereleases
        if not self._specs:
            return None
        if any(s.prereleases for s in self._specs):
            return True
        return None

    @prereleases.setter
    def prereleases(self, value: bool | None) -> None:
        self._prereleases = value

    def __str__(self) -> str:
        return ",".join(str(s) for s in self._canonical_specs())

    def __repr__(self) -> str:
        pre = f", prereleases={self.prereleases!r}" if self._prereleases is not None else ""
        return f"<SpecifierSet({str(self)!r}{pre})>"

    def __hash__(self) -> int:
        return hash(self._canonical_specs())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (str, Specifier)):
            other = SpecifierSet(str(other))
        elif not isinstance(other, SpecifierSet):
            return NotImplemented
        return self._canonical_specs() == other._canonical_specs()

    def __len__(self) -> int:
        return len(self._specs)

    def __iter__(self) -> Iterator[Specifier]:
        return iter(self._specs)

    def __contains__(self, item: str | Version) -> bool:
        return self.contains(item)

    def contains(
        self,
        item: str | Version,
        prereleases: bool | None = None,
        installed: bool | None = None,
    ) -> bool:
        """Whether `item` satisfies every specifier. With `prereleases` None a pre-release
        matches unless the set was made with prereleases=False; `installed` lets an
        installed pre-release through. A string that is no version matches no set except
        one made only of `===` with its text, and the empty set."""
        version = item if isinstance(item, Version) else _coerce(item)
        if installed and version is not None and version.is_prerelease:
            prereleases = True
        specs = self._specs
        if version is not None and not self._has_arbitrary and specs:
            if (version._pre is not None or version._dev is not None) and (
                prereleases is False or (prereleases is None and self._prereleases is False)
            ):
                return False
            key = version._key or version._cmp()
            for spec in specs:  # noqa: SIM110 (a loop is quicker than all() and a generator)
                if not spec._matches(key):
                    return False
            return True
        # packaging's filter path: `===`, a string that is no version, or the empty set.
        if version is None or (self._has_arbitrary and not isinstance(item, Version)):
            check: str | Version = item
        else:
            check = version
        if prereleases is None:
            prereleases = self.prereleases
        if specs:
            if not self._has_arbitrary:
                return False  # no version: the ranges take nothing
            for spec in specs:
                if not spec.contains(check, prereleases=True):
                    return False
        if prereleases is False:
            parsed = _coerce(check)
            return parsed is None or not parsed.is_prerelease
        return True
