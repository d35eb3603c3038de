"""What a shared object asks of the dynamic linker, read from its ELF headers: the libraries it
needs (`DT_NEEDED`), where it says to look for them (`DT_RPATH`, `DT_RUNPATH`), its own name
(`DT_SONAME`), and the symbol versions it needs from each library (`.gnu.version_r`, found
through `DT_VERNEED`: `GLIBC_2.34` from libc.so.6).

Only the ELF header, the program headers, the dynamic segment and the strings those name are
read, with seeks: a few KB of a 500 MB libtorch_cuda.so, the same few KB of a 20 KB library.
Nothing is mapped or loaded. The section headers are not read at all (the loader does not read
them either; tools that strip or patch a library may leave them wrong).

The layout follows the System V ABI's ELF chapter and glibc's <elf.h>; tests compare the answers
with `readelf -d` / `readelf -V` on real compiler output and on torch's own libraries.
"""

from __future__ import annotations

import re
import struct
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

MAGIC = b"\x7fELF"
#: e_type values of files the loader can map: executables and shared objects
_LOADABLE = (2, 3)  # ET_EXEC, ET_DYN
PT_LOAD, PT_DYNAMIC = 1, 2
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SONAME, DT_RPATH = 0, 1, 5, 10, 14, 15
DT_RUNPATH = 29
DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFFFE, 0x6FFFFFFF
#: bounds that keep a damaged file from making the reader loop or read much
_MAX_PHDRS = 4096
_MAX_DYNAMIC = 8192
_MAX_VERNEED = 1024
_MAX_STRING = 4096
_MAX_STRTAB = 64 * 1024 * 1024
#: a string table up to this size is read at once; a larger one string by string
_WHOLE_STRTAB = 1024 * 1024
_GLIBC = r"GLIBC_(\d+)\.(\d+)(?:\.\d+)*"  # compiled on first use (re caches it)


class ElfError(ValueError):
    """The file starts like an ELF file but its headers do not hold together."""


class ElfInfo(NamedTuple):
    path: str
    bits: int  # 32 or 64
    little_endian: bool
    machine: int  # e_machine: 62 x86-64, 183 AArch64, ...
    soname: str | None = None
    needed: tuple[str, ...] = ()
    #: DT_RPATH entries (searched before LD_LIBRARY_PATH, and only when there is no DT_RUNPATH)
    rpath: tuple[str, ...] = ()
    #: DT_RUNPATH entries (searched after LD_LIBRARY_PATH)
    runpath: tuple[str, ...] = ()
    #: library -> the symbol versions needed from it ("libc.so.6" -> ("GLIBC_2.14", ...))
    version_needs: Mapping[str, tuple[str, ...]] = MappingProxyType({})

    @property
    def glibc(self) -> tuple[int, int] | None:
        """The newest GLIBC_2.x symbol version this file needs (None: it names none)."""
        found = [
            (int(m.group(1)), int(m.group(2)))
            for names in self.version_needs.values()
            for name in names
            if (m := re.fullmatch(_GLIBC, name))
        ]
        return max(found) if found else None

    @property
    def search_path(self) -> tuple[str, ...]:
        """Its own search folders as the loader uses them: RUNPATH when it has one (RPATH is
        then ignored), else RPATH."""
        return self.runpath or self.rpath


def is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == MAGIC
    except OSError:
        return False


def read(path: str) -> ElfInfo | None:
    """The dynamic-linking facts of the ELF file at `path`; None when it is not an ELF file.
    Raises OSError when it cannot be read, ElfError when its headers are damaged."""
    with open(path, "rb") as f:
        reader = _Reader.open(f, path)
        if reader is None:
            return None
        return reader.info()


def dynamic_strings(path: str) -> bytes:
    """The whole dynamic string table (`.dynstr`): every name the file imports or exports.
    Read only when asked (it can be megabytes): torch's C++ ABI shows in it."""
    with open(path, "rb") as f:
        reader = _Reader.open(f, path)
        if reader is None:
            return b""
        return reader.strtab()


class _Reader:
    def __init__(self, f: IO[bytes], path: str, ident: bytes) -> None:
        self.f = f
        self.path = path
        self.bits = 64 if ident[4] == 2 else 32
        self.little = ident[5] == 1
        self.end = "<" if self.little else ">"
        self.loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
        self.dynamic: list[tuple[int, int]] = []
        self.machine = 0

    @classmethod
    def open(cls, f: IO[bytes], path: str) -> _Reader | None:
        ident = f.read(16)
        if len(ident) < 16 or ident[:4] != MAGIC:
            return None
        if ident[4] not in (1, 2) or ident[5] not in (1, 2):
            raise ElfError(f"{path}: unknown ELF class or byte order")
        reader = cls(f, path, ident)
        reader._headers()
        return reader

    def _unpack(self, fmt: str, data: bytes, offset: int = 0) -> tuple[int, ...]:
        try:
            return struct.unpack_from(self.end + fmt, data, offset)
        except struct.error as exc:
            raise ElfError(f"{self.path}: truncated ELF headers") from exc

    def _read_at(self, offset: int, size: int) -> bytes:
        self.f.seek(offset)
        data = self.f.read(size)
        if len(data) < size:
            raise ElfError(f"{self.path}: truncated (wanted {size} bytes at {offset})")
        return data

    def _headers(self) -> None:
        wide = self.bits == 64
        head = self._read_at(16, 48 if wide else 36)
        if wide:
            e_type, machine, _, _, phoff, _, _, _, phentsize, phnum = self._unpack(
                "HHIQQQIHHH", head
            )
        else:
            e_type, machine, _, _, phoff, _, _, _, phentsize, phnum = self._unpack(
                "HHIIIIIHHH", head
            )
        if e_type not in _LOADABLE:
            raise ElfError(f"{self.path}: not an executable or shared object (e_type {e_type})")
        self.machine = machine
        if phnum > _MAX_PHDRS or phentsize < (56 if wide else 32):
            raise ElfError(f"{self.path}: implausible program headers")
        table = self._read_at(phoff, phentsize * phnum)
        for i in range(phnum):
            at = i * phentsize
            if wide:
                p_type, _, offset, vaddr, _, filesz = self._unpack("IIQQQQ", table, at)
            else:
                p_type, offset, vaddr, _, filesz = self._unpack("IIIII", table, at)
            if p_type == PT_LOAD:
                self.loads.append((vaddr, offset, filesz))
            elif p_type == PT_DYNAMIC:
                self._read_dynamic(offset, filesz)

    def _read_dynamic(self, offset: int, size: int) -> None:
        entry = 16 if self.bits == 64 else 8
        count = min(size // entry, _MAX_DYNAMIC)
        data = self._read_at(offset, count * entry)
        for tag, value in struct.iter_unpack(self.end + ("qQ" if self.bits == 64 else "iI"), data):
            if tag == DT_NULL:
                break
            self.dynamic.append((tag, value))

    def _offset(self, vaddr: int) -> int:
        """The file offset of a virtual address, through the PT_LOAD segment that maps it."""
        for start, offset, filesz in self.loads:
            if start <= vaddr < start + filesz:
                return offset + (vaddr - start)
        raise ElfError(f"{self.path}: address {vaddr:#x} is in no loaded segment")

    def _values(self, tag: int) -> Iterator[int]:
        return (value for t, value in self.dynamic if t == tag)

    def _one(self, tag: int) -> int | None:
        return next(self._values(tag), None)

    def _strtab_offset(self) -> int:
        address = self._one(DT_STRTAB)
        if address is None:
            raise ElfError(f"{self.path}: a dynamic section without a string table")
        return self._offset(address)

    def _string(self, base: int, offset: int, table: bytes | None = None) -> str:
        if table is not None:
            end = table.find(b"\0", offset)
            return table[offset : end if end >= 0 else len(table)].decode("utf-8", "replace")
        self.f.seek(base + offset)
        data = self.f.read(256)
        while b"\0" not in data and len(data) < _MAX_STRING:
            more = self.f.read(256)
            if not more:
                break
            data += more
        return data.partition(b"\0")[0].decode("utf-8", errors="replace")

    def strtab(self) -> bytes:
        if not self.dynamic:
            return b""
        size = self._one(DT_STRSZ) or 0
        if size > _MAX_STRTAB:
            raise ElfError(f"{self.path}: implausible string table size {size}")
        return self._read_at(self._strtab_offset(), size)

    def info(self) -> ElfInfo:
        base = ElfInfo(self.path, self.bits, self.little, self.machine)
        if not self.dynamic:  # a static executable
            return base
        strtab = self._strtab_offset()
        size = self._one(DT_STRSZ) or 0
        # one read of a small table costs less than a seek per string
        table = self._read_at(strtab, size) if 0 < size <= _WHOLE_STRTAB else None

        def string(offset: int) -> str:
            return self._string(strtab, offset, table)

        def names(tag: int) -> tuple[str, ...]:
            return tuple(string(v) for v in self._values(tag))

        def paths(tag: int) -> tuple[str, ...]:
            return tuple(p for joined in names(tag) for p in joined.split(":") if p)

        soname = self._one(DT_SONAME)
        return ElfInfo(
            path=self.path,
            bits=self.bits,
            little_endian=self.little,
            machine=self.machine,
            soname=string(soname) if soname is not None else None,
            needed=names(DT_NEEDED),
            rpath=paths(DT_RPATH),
            runpath=paths(DT_RUNPATH),
            version_needs=self._version_needs(string),
        )

    def _version_needs(self, string: Callable[[int], str]) -> dict[str, tuple[str, ...]]:
        """Elf_Verneed entries (vn_version, vn_cnt, vn_file, vn_aux, vn_next: 16 bytes), each
        with vn_cnt Elf_Vernaux (vna_hash, vna_flags, vna_other, vna_name, vna_next: 16
        bytes); the same sizes in 32- and 64-bit files."""
        address, count = self._one(DT_VERNEED), self._one(DT_VERNEEDNUM)
        if address is None or not count:
            return {}
        needs: dict[str, tuple[str, ...]] = {}
        start = self._offset(address)
        self.f.seek(start)
        window = self.f.read(4096)  # the whole table, in every library seen so far

        def entry(at: int, fmt: str) -> tuple[int, ...]:
            rel = at - start
            if 0 <= rel <= len(window) - 16:
                return self._unpack(fmt, window, rel)
            return self._unpack(fmt, self._read_at(at, 16))

        at = start
        for _ in range(min(count, _MAX_VERNEED)):
            _, cnt, vn_file, vn_aux, vn_next = entry(at, "HHIII")
            versions: list[str] = []
            aux = at + vn_aux
            for _ in range(min(cnt, _MAX_VERNEED)):
                _, _, _, vna_name, vna_next = entry(aux, "IHHII")
                versions.append(string(vna_name))
                if not vna_next:
                    break
                aux += vna_next
            library = string(vn_file)
            needs[library] = needs.get(library, ()) + tuple(versions)
            if not vn_next:
                break
            at += vn_next
        return needs
