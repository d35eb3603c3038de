"""Where the dynamic linker would find a library, worked out from files the way glibc's ld.so
searches (ld.so(8), "Shared libraries"): for a library named without a slash,

1. the needing object's DT_RPATH, when it has no DT_RUNPATH (and the RPATH of the objects that
   loaded it, which this module leaves out: torch's libraries carry their own);
2. LD_LIBRARY_PATH;
3. the needing object's DT_RUNPATH;
4. /etc/ld.so.cache (what `ldconfig` wrote from /etc/ld.so.conf);
5. the default folders (/lib, /usr/lib; /lib64, /usr/lib64 on 64-bit systems).

`$ORIGIN` in a path means the folder of the needing object. A library whose SONAME is already
loaded is reused whatever the search would say: the result is "the first to ask gets this".

The ld.so.cache format is glibc's (sysdeps/generic/dl-cache.h): the "glibc-ld.so.cache1.1"
header (nlibs, len_strings, flags, extension offset), then nlibs entries of (flags, key, value,
osversion, hwcap) where key and value are offsets of the soname and path strings from the start
of that header. A cache of the old "ld.so-1.7.0" format carries the new one after its own
entries; only the new one is read (glibc 2.32 and later write nothing else).
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from pathlib import Path

    from chatenv.system.elf import ElfInfo

NEW_MAGIC = b"glibc-ld.so.cache1.1"
_HEADER = struct.Struct("<20sIIB3xI12x")  # magic+version, nlibs, len_strings, flags, ext offset
_ENTRY = struct.Struct("<iIIIQ")  # flags, key, value, osversion, hwcap
#: the bits of an entry's flags that name its architecture (FLAG_TYPE_MASK is the low byte)
_ARCH_MASK = 0xFF00
_LIBC6 = 0x0003


class LdCache(NamedTuple):
    """The entries of ld.so.cache for the sonames asked about: soname -> paths, in cache order
    (64-bit entries first on a 64-bit system, as the loader prefers them)."""

    entries: Mapping[str, tuple[str, ...]]
    path: str = ""
    #: why the cache could not be read ("" when it was, or is simply absent)
    error: str = ""

    def find(self, soname: str) -> str | None:
        found = self.entries.get(soname)
        return found[0] if found else None


def read_cache(path: Path, wanted: Callable[[str], bool], *, bits: int = 64) -> LdCache:
    """The cache entries whose soname `wanted` accepts. `bits` is this interpreter's word size:
    on a multilib system the cache also lists 32-bit libraries, which a 64-bit process skips."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return LdCache({}, str(path))
    except OSError as exc:
        return LdCache({}, str(path), exc.strerror or str(exc))
    start = data.find(NEW_MAGIC)
    if start < 0 or len(data) < start + _HEADER.size:
        return LdCache({}, str(path), "not a glibc ld.so.cache (no 1.1 header)")
    _, nlibs, _, _, _ = _HEADER.unpack_from(data, start)
    entries: dict[str, list[tuple[bool, str]]] = {}
    base = start + _HEADER.size
    if base + nlibs * _ENTRY.size > len(data):
        return LdCache({}, str(path), "truncated")
    for flags, key, value, _, _ in _ENTRY.iter_unpack(data[base : base + nlibs * _ENTRY.size]):
        soname = _cstring(data, start + key)
        if not wanted(soname):
            continue
        wide = bool(flags & _ARCH_MASK)  # x86-64, AArch64, ...: an architecture flag is set
        entries.setdefault(soname, []).append((wide, _cstring(data, start + value)))
    prefer_wide = bits == 64
    return LdCache(
        {
            name: tuple(p for wide, p in sorted(found, key=lambda e: e[0] != prefer_wide))
            for name, found in entries.items()
        },
        str(path),
    )


def _cstring(data: bytes, at: int) -> str:
    end = data.find(b"\0", at)
    return data[at : end if end >= 0 else len(data)].decode("utf-8", errors="replace")


class Found(NamedTuple):
    """Where a library would come from."""

    path: str | None  # None: nowhere (the load fails with "cannot open shared object file")
    #: how: "rpath", "LD_LIBRARY_PATH", "runpath", "ld.so.cache", "default", or "" (not found)
    via: str = ""


def expand_origin(entry: str, origin: str) -> str:
    """`$ORIGIN` / `${ORIGIN}` in a search path entry, for a needing object in `origin`."""
    return os.path.normpath(entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin))


def ld_library_path(environ: Mapping[str, str]) -> tuple[str, ...]:
    """LD_LIBRARY_PATH's folders (an empty entry means the current folder, as for ld.so)."""
    value = environ.get("LD_LIBRARY_PATH", "")
    if not value:
        return ()
    return tuple(part or "." for part in value.replace(";", ":").split(":"))


def default_dirs(root: Path, bits: int = 64) -> tuple[str, ...]:
    lib64 = ("lib64", "usr/lib64") if bits == 64 else ()
    return tuple(str(root / d) for d in (*lib64, "lib", "usr/lib"))


def resolve(
    soname: str,
    needing: ElfInfo,
    *,
    library_path: Sequence[str],
    cache: LdCache,
    defaults: Iterable[str],
    exists: Callable[[str], bool] = os.path.isfile,
) -> Found:
    """Where `needing` would get `soname` from, in ld.so's order."""
    origin = os.path.dirname(needing.path)

    def first(folders: Iterable[str]) -> str | None:
        for folder in folders:
            candidate = os.path.join(expand_origin(folder, origin), soname)
            if exists(candidate):
                return candidate
        return None

    steps: list[tuple[str, Iterable[str]]] = []
    if not needing.runpath:
        steps.append(("rpath", needing.rpath))
    steps.append(("LD_LIBRARY_PATH", library_path))
    steps.append(("runpath", needing.runpath))
    for via, folders in steps:
        found = first(folders)
        if found:
            return Found(found, via)
    cached = cache.find(soname)
    if cached and exists(cached):
        return Found(cached, "ld.so.cache")
    found = first(defaults)
    return Found(found, "default") if found else Found(None)


def file_version(path: str, soname: str) -> str | None:
    """The version a library file's name gives past its soname: /usr/lib/libcudnn.so.9 links
    to libcudnn.so.9.1.0, so "9.1.0"; None when its name says no more than the soname. Reads
    the link only (the file itself is not opened)."""
    real = os.path.basename(os.path.realpath(path))
    stem = soname.split(".so", 1)[0] + ".so."
    if real.startswith(stem):
        version = real[len(stem) :]
        if version and version != soname[len(stem) :]:
            return version
    return None
