"""The loader's search order and the ld.so.cache reader, on real files: caches written by glibc's
own `ldconfig` from folders of real ELF files, and this machine's /etc/ld.so.cache against what
`ldconfig -p` lists from it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chatenv.system import elf, ld_search
from tests.elf_files import write_elf

LDCONFIG = shutil.which("ldconfig") or next(
    (p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if Path(p).exists()), None
)
needs_ldconfig = pytest.mark.skipif(LDCONFIG is None, reason="glibc's ldconfig is not here")


def make_lib(folder: Path, real: str, soname: str, **kwargs: object) -> Path:
    """A library file and its soname link, as a CUDA toolkit installs them."""
    write_elf(folder / real, soname=soname, needed=["libc.so.6"], **kwargs)
    link = folder / soname
    if real != soname:
        link.symlink_to(real)
    return link


def ldconfig_cache(tmp_path: Path, *folders: Path) -> Path:
    """A cache written by the real ldconfig for `folders` (-X: it changes no links anywhere)."""
    assert LDCONFIG is not None
    conf = tmp_path / "ld.so.conf"
    conf.write_text("".join(f"{f}\n" for f in folders))
    cache = tmp_path / "etc" / "ld.so.cache"
    cache.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([LDCONFIG, "-X", "-C", str(cache), "-f", str(conf)], check=True)
    return cache


def ldconfig_list(cache: Path | None = None) -> list[tuple[str, str, str]]:
    """(soname, flags text, path) for every entry `ldconfig -p` prints."""
    assert LDCONFIG is not None
    args = [LDCONFIG, "-p"] + (["-C", str(cache)] if cache else [])
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return re.findall(r"^\s+(\S+) \((.*?)\)(?: OS ABI: [^=]*)? => (\S+)$", out, re.M)


@needs_ldconfig
def test_a_cache_ldconfig_wrote_reads_as_ldconfig_lists_it(tmp_path: Path) -> None:
    cuda = tmp_path / "usr" / "local" / "cuda" / "lib64"
    make_lib(cuda, "libcudnn.so.9.1.0", "libcudnn.so.9")
    make_lib(cuda, "libcudart.so.12.2.140", "libcudart.so.12")
    i386 = tmp_path / "usr" / "lib32"
    make_lib(i386, "libcudart.so.12.2.140", "libcudart.so.12", bits=32, machine=3)
    cache = ldconfig_cache(tmp_path, cuda, i386)
    found = ld_search.read_cache(cache, lambda s: s.startswith(("libcudnn", "libcudart")))
    assert found.error == ""
    assert found.find("libcudnn.so.9") == str(cuda / "libcudnn.so.9")
    # the 64-bit entry first for a 64-bit process, whatever order the cache holds them in
    assert found.entries["libcudart.so.12"] == (
        str(cuda / "libcudart.so.12"),
        str(i386 / "libcudart.so.12"),
    )
    assert ld_search.read_cache(cache, lambda s: True, bits=32).find("libcudart.so.12") == str(
        i386 / "libcudart.so.12"
    )
    listed = {(s, p) for s, _, p in ldconfig_list(cache) if s.startswith(("libcudnn", "libcudart"))}
    assert listed == {(s, p) for s, ps in found.entries.items() for p in ps}


@needs_ldconfig
def test_this_machines_cache_reads_as_ldconfig_lists_it() -> None:
    cache = Path("/etc/ld.so.cache")
    if not cache.is_file():
        pytest.skip("no /etc/ld.so.cache here")
    found = ld_search.read_cache(cache, lambda s: True)
    listed = ldconfig_list()
    assert len(listed) > 10
    assert sorted((s, p) for s, _, p in listed) == sorted(
        (s, p) for s, ps in found.entries.items() for p in ps
    )


def test_a_missing_cache_is_empty_and_a_foreign_file_says_why(tmp_path: Path) -> None:
    assert ld_search.read_cache(tmp_path / "none", lambda s: True).entries == {}
    junk = tmp_path / "ld.so.cache"
    junk.write_bytes(b"ld.so-1.7.0" + b"\0" * 40)
    assert "no 1.1 header" in ld_search.read_cache(junk, lambda s: True).error


def needing(folder: Path, **kwargs: object) -> elf.ElfInfo:
    path = write_elf(folder / "libtorch_cuda.so", needed=["libcudnn.so.9"], **kwargs)
    info = elf.read(str(path))
    assert info is not None
    return info


@pytest.mark.parametrize(
    ("tag", "winner"),
    [("rpath", "own"), ("runpath", "ld_path")],
    ids=["rpath-before-LD_LIBRARY_PATH", "LD_LIBRARY_PATH-before-runpath"],
)
def test_the_search_order_is_the_loaders(tmp_path: Path, tag: str, winner: str) -> None:
    site = tmp_path / "site"
    own = make_lib(site / "nvidia" / "cudnn" / "lib", "libcudnn.so.9", "libcudnn.so.9")
    ld_path = make_lib(tmp_path / "cuda", "libcudnn.so.9.1.0", "libcudnn.so.9")
    lib = needing(site / "torch" / "lib", **{tag: "$ORIGIN/../../nvidia/cudnn/lib"})
    found = ld_search.resolve(
        "libcudnn.so.9",
        lib,
        library_path=[str(ld_path.parent)],
        cache=ld_search.LdCache({}),
        defaults=(),
    )
    expected = {"own": (str(own), tag), "ld_path": (str(ld_path), "LD_LIBRARY_PATH")}[winner]
    assert (found.path, found.via) == expected


def test_the_cache_and_then_the_default_folders_come_last(tmp_path: Path) -> None:
    lib = needing(tmp_path / "torch" / "lib", rpath="$ORIGIN/../../nvidia/cudnn/lib")
    system = make_lib(tmp_path / "usr" / "lib", "libcudnn.so.9.0.0", "libcudnn.so.9")
    cached = ld_search.LdCache({"libcudnn.so.9": (str(tmp_path / "gone" / "libcudnn.so.9"),)})
    found = ld_search.resolve(
        "libcudnn.so.9",
        lib,
        library_path=[],
        cache=cached,  # its entry no longer exists: the loader goes on
        defaults=ld_search.default_dirs(tmp_path),
    )
    assert (found.path, found.via) == (str(system), "default")
    assert ld_search.file_version(str(system), "libcudnn.so.9") == "9.0.0"
    nowhere = ld_search.resolve("libnccl.so.2", lib, library_path=[], cache=cached, defaults=())
    assert (nowhere.path, nowhere.via) == (None, "")


def test_ld_library_path_splits_as_the_loader_splits_it() -> None:
    assert ld_search.ld_library_path({"LD_LIBRARY_PATH": "/a::/b;/c"}) == ("/a", ".", "/b", "/c")
    assert ld_search.ld_library_path({}) == ()
    assert ld_search.expand_origin("${ORIGIN}/../lib", "/x/torch/lib") == "/x/torch/lib"


def test_file_version_reads_the_link_not_the_file(tmp_path: Path) -> None:
    plain = make_lib(tmp_path / "wheel", "libcudnn.so.9", "libcudnn.so.9")
    assert ld_search.file_version(str(plain), "libcudnn.so.9") is None
    linked = make_lib(tmp_path / "cuda", "libcublasLt.so.12.2.5.6", "libcublasLt.so.12")
    assert ld_search.file_version(str(linked), "libcublasLt.so.12") == "12.2.5.6"
