"""Minimal real ELF shared objects, written byte by byte: an ELF header, a PT_LOAD and a
PT_DYNAMIC program header, the dynamic string table, `.gnu.version_r` and the dynamic section,
plus section headers so that binutils' `readelf -d` / `readelf -V` (and glibc's `ldconfig`,
which reads the SONAME) read them as they read a linker's output. tests/system/test_elf.py
checks every variant against readelf.

They carry what a compiler cannot be made to write on this machine: a need for GLIBC_2.99, a
`libcudart.so.13` without CUDA installed, torch's exact RPATH. The layout is the System V ABI's
(glibc's <elf.h> for the GNU version structures); the virtual addresses differ from the file
offsets, as in real libraries, so a reader that confuses the two fails.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

BASE = 0x400000  # where the one PT_LOAD segment maps the file
SHT_STRTAB, SHT_DYNAMIC, SHT_GNU_VERNEED = 3, 6, 0x6FFFFFFE
DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SONAME, DT_RPATH, DT_RUNPATH = 1, 5, 10, 14, 15, 29
DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFFFE, 0x6FFFFFFF


def elf_hash(name: str) -> int:
    h = 0
    for c in name.encode():
        h = (h << 4) + c
        g = h & 0xF0000000
        if g:
            h ^= g >> 24
        h &= ~g & 0xFFFFFFFF
    return h


class _Strings:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self.at: dict[str, int] = {}

    def add(self, text: str) -> int:
        if text not in self.at:
            self.at[text] = len(self.data)
            self.data += text.encode() + b"\0"
        return self.at[text]


def _align(data: bytearray, to: int) -> None:
    data += b"\0" * (-len(data) % to)


def _verneed(items: Sequence[tuple[int, Sequence[tuple[int, int]]]], end: str) -> bytes:
    """Elf_Verneed entries, each followed by its Elf_Vernaux entries (16 bytes apiece)."""
    out = bytearray()
    other = 2
    for i, (file_off, aux) in enumerate(items):
        last = i == len(items) - 1
        out += struct.pack(
            end + "HHIII", 1, len(aux), file_off, 16, 0 if last else 16 + 16 * len(aux)
        )
        for j, (name_off, hashed) in enumerate(aux):
            next_aux = 0 if j == len(aux) - 1 else 16
            out += struct.pack(end + "IHHII", hashed, 0, other, name_off, next_aux)
            other += 1
    return bytes(out)


def elf_bytes(
    *,
    needed: Sequence[str] = (),
    soname: str | None = None,
    rpath: str | None = None,
    runpath: str | None = None,
    versions: Mapping[str, Sequence[str]] | None = None,
    bits: int = 64,
    little: bool = True,
    machine: int = 62,
    e_type: int = 3,
) -> bytes:
    """A shared object (e_type 3) whose dynamic section says exactly this. `versions` maps a
    library to the symbol versions needed from it ({"libc.so.6": ["GLIBC_2.2.5"]})."""
    end = "<" if little else ">"
    wide = bits == 64
    ehsize, phentsize, shentsize = (64, 56, 64) if wide else (52, 32, 40)
    strings = _Strings()
    dynamic: list[tuple[int, int]] = [(DT_NEEDED, strings.add(n)) for n in needed]
    if soname is not None:
        dynamic.append((DT_SONAME, strings.add(soname)))
    if rpath is not None:
        dynamic.append((DT_RPATH, strings.add(rpath)))
    if runpath is not None:
        dynamic.append((DT_RUNPATH, strings.add(runpath)))
    # version names and files go into the string table before it is laid out
    verneed_items = [
        (strings.add(lib), [(strings.add(v), elf_hash(v)) for v in names])
        for lib, names in (versions or {}).items()
    ]
    body = bytearray(b"\0" * (ehsize + 2 * phentsize))
    str_off = len(body)
    body += strings.data
    _align(body, 8)
    verneed_off = len(body)
    body += _verneed(verneed_items, end)
    verneed_size = len(body) - verneed_off
    _align(body, 8)
    strtab_addr = BASE + str_off
    dynamic.append((DT_STRTAB, strtab_addr))
    dynamic.append((DT_STRSZ, len(strings.data)))
    if verneed_items:
        dynamic.append((DT_VERNEED, BASE + verneed_off))
        dynamic.append((DT_VERNEEDNUM, len(verneed_items)))
    dynamic.append((0, 0))
    dyn_off = len(body)
    for tag, value in dynamic:
        body += struct.pack(end + ("qQ" if wide else "iI"), tag, value)
    dyn_size = len(body) - dyn_off
    shstr = _Strings()
    names = {n: shstr.add(n) for n in (".dynstr", ".gnu.version_r", ".dynamic", ".shstrtab")}
    shstr_off = len(body)
    body += shstr.data
    _align(body, 8)
    sections = [
        (0, 0, 0, 0, 0, 0, 0, 0, 0),
        (names[".dynstr"], SHT_STRTAB, 2, strtab_addr, str_off, len(strings.data), 0, 0, 1),
        (
            names[".gnu.version_r"],
            SHT_GNU_VERNEED,
            2,
            BASE + verneed_off,
            verneed_off,
            verneed_size,
            1,
            len(verneed_items),
            4,
        ),
        (names[".dynamic"], SHT_DYNAMIC, 3, BASE + dyn_off, dyn_off, dyn_size, 1, 0, 8),
        (names[".shstrtab"], SHT_STRTAB, 0, 0, shstr_off, len(shstr.data), 0, 0, 1),
    ]
    shoff = len(body)
    fmt = end + ("IIQQQQIIQQ" if wide else "IIIIIIIIII")
    for name, kind, flags, addr, off, size, link, info, align in sections:
        entsize = (16 if wide else 8) if kind == SHT_DYNAMIC else 0
        body += struct.pack(fmt, name, kind, flags, addr, off, size, link, info, align, entsize)
    total = len(body)
    ident = b"\x7fELF" + bytes([2 if wide else 1, 1 if little else 2, 1, 0]) + b"\0" * 8
    header_fmt = "HHIQQQIHHHHHH" if wide else "HHIIIIIHHHHHH"
    header = ident + struct.pack(
        end + header_fmt,
        e_type,
        machine,
        1,
        0,
        ehsize,
        shoff,
        0,
        ehsize,
        phentsize,
        2,
        shentsize,
        len(sections),
        len(sections) - 1,
    )
    body[: ehsize + 2 * phentsize] = header + _program_headers(end, wide, total, dyn_off, dyn_size)
    return bytes(body)


def _program_headers(end: str, wide: bool, total: int, dyn_off: int, dyn_size: int) -> bytes:
    """One PT_LOAD mapping the whole file at BASE, one PT_DYNAMIC for the dynamic section."""
    dyn_addr = BASE + dyn_off
    if wide:
        load = struct.pack(end + "IIQQQQQQ", 1, 5, 0, BASE, BASE, total, total, 0x1000)
        dyn = struct.pack(
            end + "IIQQQQQQ", 2, 6, dyn_off, dyn_addr, dyn_addr, dyn_size, dyn_size, 8
        )
    else:
        load = struct.pack(end + "IIIIIIII", 1, 0, BASE, BASE, total, total, 5, 0x1000)
        dyn = struct.pack(
            end + "IIIIIIII", 2, dyn_off, dyn_addr, dyn_addr, dyn_size, dyn_size, 6, 4
        )
    return load + dyn


def write_elf(path: Path, **kwargs: object) -> Path:
    """`elf_bytes(**kwargs)` written to `path` (folders made); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(elf_bytes(**kwargs))  # type: ignore[arg-type]
    return path
