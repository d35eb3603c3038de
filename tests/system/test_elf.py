"""The ELF reader against binutils' readelf, on what a real compiler and linker write, on torch's
own libraries, and on the minimal files tests/elf_files.py writes for the other tests."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chatenv.system import elf
from tests.elf_files import elf_bytes, write_elf

READELF = shutil.which("readelf")
CC = shutil.which("cc") or shutil.which("gcc")
needs_readelf = pytest.mark.skipif(READELF is None, reason="binutils' readelf is not installed")
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler")


def readelf(path: Path | str) -> dict[str, object]:
    """What readelf says of a file's dynamic section and version needs."""
    assert READELF is not None
    dynamic, versions = (
        subprocess.run(
            [READELF, flag, str(path)], capture_output=True, text=True, check=True
        ).stdout
        for flag in ("-dW", "-VW")
    )
    paths = dict(re.findall(r"\((RPATH|RUNPATH)\)\s+Library r(?:un)?path: \[(.*?)\]", dynamic))
    soname = re.search(r"\(SONAME\)\s+Library soname: \[(.*?)\]", dynamic)
    needs: dict[str, list[str]] = {}
    current = None
    for line in versions.splitlines():
        if m := re.search(r"File: (\S+)\s+Cnt", line):
            current = needs.setdefault(m.group(1), [])
        elif (m := re.search(r"Name: (\S+)\s+Flags", line)) and current is not None:
            current.append(m.group(1))
    return {
        "needed": tuple(re.findall(r"\(NEEDED\)\s+Shared library: \[(.*?)\]", dynamic)),
        "soname": soname.group(1) if soname else None,
        "rpath": tuple(p for p in paths.get("RPATH", "").split(":") if p),
        "runpath": tuple(p for p in paths.get("RUNPATH", "").split(":") if p),
        "version_needs": {k: tuple(v) for k, v in needs.items()},
    }


def mine(path: Path | str) -> dict[str, object]:
    info = elf.read(str(path))
    assert info is not None
    return {
        "needed": info.needed,
        "soname": info.soname,
        "rpath": info.rpath,
        "runpath": info.runpath,
        "version_needs": info.version_needs,
    }


@needs_readelf
@needs_cc
@pytest.mark.parametrize("tag", ["rpath", "runpath"])
def test_a_compiled_shared_object_reads_as_readelf_reads_it(tmp_path: Path, tag: str) -> None:
    (tmp_path / "dep.c").write_text("int dep(void) { return 41; }\n")
    (tmp_path / "lib.c").write_text(
        "#include <stdio.h>\n#include <string.h>\nint dep(void);\n"
        "int run(const char *s) { char b[64]; strncpy(b, s, 63); return dep() + (int)strlen(b)"
        ' + printf("%s", b); }\n'
    )
    subprocess.run(
        [CC, "-shared", "-fPIC", "-o", "libdep.so.3", "-Wl,-soname,libdep.so.3", "dep.c"],
        cwd=tmp_path,
        check=True,
    )
    (tmp_path / "libdep.so").symlink_to("libdep.so.3")
    dtags = "--disable-new-dtags" if tag == "rpath" else "--enable-new-dtags"
    subprocess.run(
        [CC, "-shared", "-fPIC", "-o", "libmine.so.1", "-Wl,-soname,libmine.so.1", "lib.c",
         "-L.", "-ldep", f"-Wl,{dtags},-rpath,$ORIGIN/../deps:/opt/x"],
        cwd=tmp_path,
        check=True,
    )  # fmt: skip
    got = mine(tmp_path / "libmine.so.1")
    assert got == readelf(tmp_path / "libmine.so.1")
    assert "libdep.so.3" in got["needed"] and got["soname"] == "libmine.so.1"
    assert got[tag] == ("$ORIGIN/../deps", "/opt/x")
    info = elf.read(str(tmp_path / "libmine.so.1"))
    assert info is not None and info.glibc is not None and info.glibc >= (2, 2)
    assert info.search_path == ("$ORIGIN/../deps", "/opt/x")


@needs_readelf
def test_torchs_own_libraries_read_as_readelf_reads_them() -> None:
    torch = pytest.importorskip("torch")  # the test environment has the CPU wheel
    libs = sorted(Path(torch.__file__).parent.joinpath("lib").glob("*.so*"))
    assert libs
    for lib in libs:
        assert mine(lib) == readelf(lib), lib


@needs_readelf
@pytest.mark.parametrize(
    ("bits", "little", "machine"),
    [(64, True, 62), (32, True, 3), (64, False, 21), (32, False, 20)],
    ids=["x86-64", "i386", "ppc64-big-endian", "ppc-big-endian"],
)
def test_the_test_writer_makes_files_readelf_reads_the_same(
    tmp_path: Path, bits: int, little: bool, machine: int
) -> None:
    path = write_elf(
        tmp_path / "libfake.so.13",
        needed=["libcudart.so.13", "libc10.so", "libc.so.6"],
        soname="libfake.so.13",
        runpath="$ORIGIN:$ORIGIN/../../nvidia/cu13/lib",
        versions={"libc.so.6": ["GLIBC_2.2.5", "GLIBC_2.99"], "libstdc++.so.6": ["GLIBCXX_3.4"]},
        bits=bits,
        little=little,
        machine=machine,
    )
    assert mine(path) == readelf(path)
    info = elf.read(str(path))
    assert info is not None
    assert (info.bits, info.little_endian, info.machine) == (bits, little, machine)
    assert info.glibc == (2, 99)


def test_a_file_that_is_not_elf_is_none_and_a_damaged_one_an_elf_error(tmp_path: Path) -> None:
    text = tmp_path / "libnot.so"
    text.write_text("INPUT(-lfoo)\n")  # a linker script named like a library, as glibc ships
    assert elf.read(str(text)) is None and not elf.is_elf(str(text))
    whole = elf_bytes(needed=["libc.so.6"])
    truncated = tmp_path / "libcut.so"
    truncated.write_bytes(whole[:80])
    with pytest.raises(elf.ElfError, match="truncated"):
        elf.read(str(truncated))
    relocatable = tmp_path / "x.o"
    relocatable.write_bytes(elf_bytes(e_type=1))
    with pytest.raises(elf.ElfError, match="not an executable or shared object"):
        elf.read(str(relocatable))
    with pytest.raises(FileNotFoundError):
        elf.read(str(tmp_path / "missing.so"))


def test_dynamic_strings_hold_every_name(tmp_path: Path) -> None:
    path = write_elf(tmp_path / "libc10.so", needed=["libstdc++.so.6"], soname="libc10.so")
    names = elf.dynamic_strings(str(path))
    assert b"libstdc++.so.6" in names and b"libc10.so" in names
