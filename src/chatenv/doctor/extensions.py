"""The extensions section: the compiled packages around torch, and what each was built for.

After torch itself, the failures people file most are about the compiled packages around it:
flash-attn's `undefined symbol` after a torch upgrade, xformers "built for PyTorch X, you have
Y", vLLM's `_C.abi3.so` symbols, a wheel that needs a newer glibc than the system has,
bitsandbytes without a library for torch's CUDA, torchvision beside the wrong torch ("operator
torchvision::nms does not exist"). Every one of them can be seen before anything is imported,
from files: the torch a package pins (`Requires-Dist: torch==2.13.0`), the label of its
version (`+cu12torch2.6cxx11abiFALSE`, also in `direct_url.json`), the build files some write
(xformers' `cpp_lib.json`), and the ELF headers of its shared objects (the CUDA runtime they
link, the glibc symbol versions they need) read with `chatenv.system.elf`.

Which distributions are looked at (never every file of every distribution): the known list in
`chatenv.extension_builds`, any distribution that requires torch, and any whose name says
CUDA (`cupy-cuda12x`, `onnxruntime-gpu`). Only their RECORD files are read, and only the
shared objects those list are opened, for their headers.

`--deep` then imports each one in a child process with a time limit (after torch, as user code
does) and turns what happens into a verdict: `undefined symbol`, a missing library, missing
operators, "no kernel image", or a compiled part that did not load.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from typing import TYPE_CHECKING, Any

from chatenv import extension_builds as eb
from chatenv import requires
from chatenv.doctor.fixes import HERE
from chatenv.names import canonicalize_name
from chatenv.pep440 import InvalidVersion, SpecifierSet, Version
from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.results import CheckResult, Status

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from chatenv.doctor.context import Context
    from chatenv.doctor.fixes import FixTarget
    from chatenv.installed import Dist, Installed, TorchBuild
    from chatenv.system import elf

#: importing torch and then vLLM on a cold 2-core machine takes tens of seconds
TIMEOUT_S = 90.0
MARKER = "CHATENV-EXT "
#: shared objects read per distribution at most (vLLM has a dozen; a package with hundreds is
#: not a torch extension and its first ones tell as much)
MAX_OBJECTS = 64
#: torch installed this much later than an extension counts as "after" (one pip or uv run
#: installs everything within seconds)
AFTER_S = 120.0


# --- what is installed ------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedObject:
    path: str  # as RECORD names it, relative to the site folder
    info: elf.ElfInfo | None = None
    error: str | None = None


@dataclass(frozen=True)
class BuildInfo:
    """What a build file says the package was built against."""

    source: str  # "xformers/cpp_lib.json"
    torch: str | None = None  # "2.1.0+cu121", or a series "2.3"
    cuda: str | None = None  # "12.1"
    hip: str | None = None


@dataclass(frozen=True)
class Linked:
    """What a package's shared objects link, from their ELF headers."""

    torch: bool = False  # libtorch*.so / libc10*.so
    cuda_majors: tuple[int, ...] = ()  # libcudart.so.12 -> 12
    cuda: str | None = None  # evidence: "libcudart.so.13 in torchvision/_C.so"
    hip: str | None = None
    #: the newest GLIBC_2.x any object needs, and which object
    glibc: tuple[tuple[int, int], str] | None = None
    unreadable: tuple[str, ...] = ()  # "path: reason"


_TORCH_LIBS = frozenset((*eb.TORCH_LIBS, *eb.TORCH_CUDA_LIBS, *eb.TORCH_HIP_LIBS))


def linked(objects: Iterable[SharedObject]) -> Linked:
    torch = False
    majors: set[int] = set()
    cuda: str | None = None
    hip: str | None = None
    glibc: list[tuple[tuple[int, int], str]] = []
    unreadable: list[str] = []
    for obj in objects:
        if obj.info is None:
            if obj.error:
                unreadable.append(f"{obj.path}: {obj.error}")
            continue
        if (needs := obj.info.glibc) is not None:
            glibc.append((needs, obj.path))
        for soname in obj.info.needed:
            torch = torch or soname in _TORCH_LIBS
            major = eb.runtime_major(soname)
            if major is not None:
                majors.add(major)
            if cuda is None and (major is not None or soname in eb.TORCH_CUDA_LIBS):
                cuda = f"{soname} in {obj.path}"
            if hip is None and eb.is_hip_library(soname):
                hip = f"{soname} in {obj.path}"
    return Linked(
        torch, tuple(sorted(majors)), cuda, hip, max(glibc) if glibc else None, tuple(unreadable)
    )


@dataclass(frozen=True)
class ExtensionFacts:
    name: str  # canonical
    display_name: str
    version: str
    module: str
    kind: str  # KnownExtension.fix, or "pin" / "source" for a package chatenv does not know
    location: str = ""  # its dist-info folder
    #: its requirement on torch as written ("torch==2.13.0"), None when it has none
    torch_requirement: str | None = None
    label: eb.Label | None = None
    label_source: str = ""  # "its version", "direct_url.json", "torchvision/version.py"
    build_info: BuildInfo | None = None
    #: (oldest glibc its wheel tags promise, that tag)
    wheel_glibc: tuple[tuple[int, int], str] | None = None
    objects: tuple[SharedObject, ...] = ()
    #: the source it was installed from (`direct_url.json`: a folder, a VCS checkout, an sdist
    #: URL; credentials removed), None for an index install or a wheel file
    direct_url: str | None = None
    #: torch's dist-info is newer than this package's by more than AFTER_S
    installed_before_torch: bool = False
    #: all files RECORD lists that bitsandbytes may load (libbitsandbytes_*)
    bnb_files: tuple[str, ...] = ()

    #: what its shared objects link (gathered once, from their ELF headers)
    linked: Linked = Linked()

    @property
    def links_torch(self) -> bool:
        return self.linked.torch

    def cuda_evidence(self) -> tuple[set[int], str | None]:
        """The CUDA majors its objects link (libcudart.so.12 -> 12), and one line of evidence
        for the first CUDA library found ("libcudart.so.13 in torchvision/_C.so")."""
        return set(self.linked.cuda_majors), self.linked.cuda

    def hip_evidence(self) -> str | None:
        return self.linked.hip

    @property
    def glibc(self) -> tuple[tuple[int, int], str] | None:
        """The newest GLIBC_2.x any of its objects needs, and which object."""
        return self.linked.glibc

    @property
    def unreadable(self) -> tuple[str, ...]:
        return self.linked.unreadable

    def to_json(self) -> dict[str, Any]:
        majors, _ = self.cuda_evidence()
        glibc = self.glibc
        return {
            "name": self.name,
            "version": self.version,
            "module": self.module,
            "kind": self.kind,
            "torch_requirement": self.torch_requirement,
            "label": self.label.text if self.label else None,
            "label_source": self.label_source or None,
            "build_info": (
                {
                    "source": self.build_info.source,
                    "torch": self.build_info.torch,
                    "cuda": self.build_info.cuda,
                    "hip": self.build_info.hip,
                }
                if self.build_info
                else None
            ),
            "cuda_runtimes": sorted(majors),
            "glibc": eb.glibc_text(glibc[0]) if glibc else None,
            "wheel_glibc": eb.glibc_text(self.wheel_glibc[0]) if self.wheel_glibc else None,
            "shared_objects": [o.path for o in self.objects],
            "direct_url": self.direct_url,
        }


def _site(dist: Dist) -> str:
    return os.path.dirname(dist.location)


def _record_files(dist: Dist) -> list[str]:
    try:
        with open(os.path.join(dist.location, "RECORD"), encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    files: list[str] = []
    for line in lines:
        if line.startswith('"'):  # a path with a comma in it: csv-quoted
            import csv

            files.extend(row[0] for row in csv.reader([line]) if row)
        else:
            files.append(line.partition(",")[0])
    return files


def _is_shared_object(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".so") or ".so." in name


def _requires_torch(dist: Dist) -> str | None:
    """Its requirement on torch as written, when it has one that applies without extras."""
    for line in dist.requires:
        after = line[5:6]  # "torchvision" and "torch-foo" are other distributions
        if not line.startswith("torch") or (after and (after.isalnum() or after in "-_.")):
            continue
        req = requires.read(line)
        if req is None or canonicalize_name(req.name) != "torch":
            continue
        if not req.applies(frozenset(), None):  # a marker that cannot be evaluated holds
            continue
        return f"torch{req.specifier}" if str(req.specifier) else "torch"
    return None


def candidates(installed: Installed) -> list[tuple[Dist, str, str]]:
    """(distribution, top-level module, kind) for each one worth reading: the known list, any
    that requires torch, any whose name says CUDA. Metadata only: nothing is opened yet."""
    found = []
    for dist in installed.dists.values():
        if dist.name == "torch":
            continue
        known = eb.known(dist.name)
        if known is not None:
            found.append((dist, known.module, known.fix))
            continue
        requirement = _requires_torch(dist)
        if requirement is not None:
            exact = "==" in requirement and "*" not in requirement
            found.append((dist, dist.name.replace("-", "_"), "pin" if exact else "source"))
        elif eb.maybe_cuda_linked(dist.name):
            found.append((dist, dist.name.replace("-", "_"), "standalone"))
    return found


def _without_credentials(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _direct_url(dist: Dist) -> tuple[str | None, str | None]:
    """(the source to rebuild it from: a folder, a VCS checkout or an sdist URL; the version of
    the wheel file it was installed from), from direct_url.json."""
    try:
        with open(os.path.join(dist.location, "direct_url.json"), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None, None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None, None
    url = _without_credentials(data["url"])
    vcs = data.get("vcs_info")
    if isinstance(vcs, dict) and isinstance(vcs.get("vcs"), str):
        commit = vcs.get("commit_id")
        return f"{vcs['vcs']}+{url}" + (f"@{commit}" if commit else ""), None
    if isinstance(data.get("dir_info"), dict) and url.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        return unquote(urlsplit(url).path), None
    version = eb.wheel_file_version(url)
    # a wheel's URL is no place to rebuild from (it gives the same build back): only an sdist's
    return (None if version else url), version


def _wheel_tags(dist: Dist) -> list[str]:
    try:
        with open(os.path.join(dist.location, "WHEEL"), encoding="utf-8", errors="replace") as f:
            return [
                line.partition(":")[2].strip()
                for line in f.read().splitlines()
                if line.lower().startswith("tag:")
            ]
    except OSError:
        return []


def _build_info(site: str, name: str, module: str) -> BuildInfo | None:
    if name == "xformers":
        source = f"{module}/cpp_lib.json"
        try:
            with open(os.path.join(site, source), encoding="utf-8") as f:
                data = json.load(f)
            version = data.get("version", {}) if isinstance(data, dict) else {}
        except (OSError, ValueError, AttributeError):
            return None
        cuda = version.get("cuda")
        hip = version.get("hip")
        return BuildInfo(
            source,
            torch=str(version["torch"]) if version.get("torch") else None,
            cuda=f"{cuda // 100}.{(cuda % 100) // 10}" if isinstance(cuda, int) else None,
            hip=str(hip) if hip else None,
        )
    if name == "deepspeed":
        source = f"{module}/git_version_info_installed.py"
        info = _assigned(os.path.join(site, source), "torch_info")
        if not isinstance(info, dict):
            return None
        cuda = info.get("cuda_version")
        hip = info.get("hip_version")
        return BuildInfo(
            source,
            torch=str(info["version"]) if info.get("version") else None,
            cuda=str(cuda) if cuda and str(cuda) not in ("0", "0.0") else None,
            hip=str(hip) if hip and str(hip) not in ("0", "0.0") else None,
        )
    return None


def _assigned(path: str, name: str) -> object:
    """A literal assigned to `name` at the top of a Python file, read with ast (never run)."""
    import ast

    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                return None
    return None


def _label(dist: Dist, site: str, module: str, url_version: str | None) -> tuple[Any, str]:
    if (label := eb.parse_label(dist.version)) is not None:
        return label, "its version"
    if url_version and (label := eb.parse_label(url_version)) is not None:
        return label, "direct_url.json"
    if dist.name in ("torchvision", "torchaudio"):  # version.py: __version__ = '0.28.0+cu130'
        value = _assigned(os.path.join(site, module, "version.py"), "__version__")
        if isinstance(value, str) and (label := eb.parse_label(value)) is not None:
            return label, f"{module}/version.py"
    return None, ""


def _read_object(site: str, rel: str) -> SharedObject:
    from chatenv.system import elf  # only once a package with shared objects is found

    try:
        info = elf.read(os.path.join(site, rel))
    except (OSError, elf.ElfError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return SharedObject(rel, error=reason)
    return SharedObject(rel, info)


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def observe(
    dist: Dist, module: str, kind: str, torch_dist: Dist | None = None
) -> ExtensionFacts | None:
    """What one distribution's files say; None when it ships no shared object (pure Python:
    not an extension)."""
    files = _record_files(dist)
    shared = [f for f in files if _is_shared_object(f)]
    if not shared:
        return None
    site = _site(dist)
    objects = tuple(_read_object(site, f) for f in shared[:MAX_OBJECTS])
    url, url_version = _direct_url(dist)
    label, label_source = _label(dist, site, module, url_version)
    before = False
    if torch_dist is not None and dist.location:
        mine, theirs = _mtime(dist.location), _mtime(torch_dist.location)
        before = mine is not None and theirs is not None and theirs - mine > AFTER_S
    return ExtensionFacts(
        name=dist.name,
        display_name=dist.display_name,
        version=dist.version,
        module=module,
        kind=kind,
        location=dist.location,
        torch_requirement=_requires_torch(dist),
        label=label,
        label_source=label_source,
        build_info=_build_info(site, dist.name, module),
        wheel_glibc=eb.tag_glibc(_wheel_tags(dist)),
        objects=objects,
        direct_url=url,
        installed_before_torch=before,
        bnb_files=tuple(f for f in files if "libbitsandbytes_" in f),
        linked=linked(objects),
    )


def system_glibc() -> tuple[int, int] | None:
    """This system's glibc (None on musl, macOS, Windows), without running anything."""
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None
    return eb.parse_glibc(text) if text and text.startswith("glibc") else None


def torch_cxx11_abi(build: TorchBuild | None) -> bool | None:
    """Whether torch was built with the C++11 ABI (torch._C._GLIBCXX_USE_CXX11_ABI), from the
    names libc10.so exports: std::string is std::__cxx11::basic_string under the new ABI."""
    if build is None or not build.path:
        return None
    from chatenv.system import elf

    library = os.path.join(os.path.dirname(build.path), "lib", "libc10.so")
    try:
        names = elf.dynamic_strings(library)
    except (OSError, elf.ElfError):
        return None
    if not names:
        return None
    return b"__cxx11" in names


# --- the fix for each kind of package ---------------------------------------------------------


def install_fix(ext: ExtensionFacts, build: TorchBuild | None, target: FixTarget = HERE) -> str:
    """The command that puts in the build of `ext` that fits the installed torch."""
    pip = f"{target.command} -m pip install"
    name = ext.display_name
    if build is None:
        return f"{pip} --force-reinstall --no-deps {shlex.quote(f'{name}=={ext.version}')}"
    torch_pin = shlex.quote(f"torch=={build.public_version}")
    index = eb.pytorch_index(build)
    if ext.kind == "pytorch-index":
        wanted = eb.matching_version(ext.name, build.public_version)
        if wanted:
            return f"{pip} --force-reinstall --no-deps {name}=={wanted} --index-url {index}"
        return f"{pip} --upgrade {name} {torch_pin} --index-url {index}"
    if ext.kind == "pin-index":
        return f"{pip} --upgrade {name} {torch_pin} --index-url {index}"
    if ext.kind == "pyg":
        return (
            f"{pip} --force-reinstall --no-deps --only-binary :all: {name} -f {eb.pyg_page(build)}"
        )
    if ext.kind == "bitsandbytes":
        return f"{pip} --upgrade bitsandbytes"
    if ext.kind == "source":
        what = ext.direct_url or f"{name}=={ext.version}"
        return (
            f"{pip} --no-build-isolation --no-cache-dir --force-reinstall --no-deps "
            f"{shlex.quote(what)}"
        )
    return f"{pip} --upgrade {name} {torch_pin}"


# --- the checks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TorchFacts:
    """The installed torch as the extension checks compare against it."""

    build: TorchBuild | None
    #: torch's C++ ABI: True for the C++11 ABI, None when unknown
    cxx11_abi: bool | None = None
    #: torch's own Requires-Dist lines (its triton pin)
    requires: tuple[str, ...] = ()


def _label_text(ext: ExtensionFacts) -> str:
    return f"{ext.display_name} {ext.version}"


def _torch_text(build: TorchBuild) -> str:
    return f"torch {build.version}"


def _built_for_torch(ext: ExtensionFacts) -> Iterable[tuple[str, str, str]]:
    """(how to compare, the torch it wants, evidence): "spec" (a requirement), "series"
    ("2.6") or "version" (an exact public version)."""
    if ext.torch_requirement and ext.torch_requirement != "torch":
        spec = ext.torch_requirement.removeprefix("torch")
        yield "spec", spec, f"its metadata requires {ext.torch_requirement}"
    if ext.build_info and ext.build_info.torch:
        wanted = ext.build_info.torch.partition("+")[0]
        kind = "series" if wanted.count(".") == 1 else "version"
        yield kind, wanted, f"{ext.build_info.source} says torch {ext.build_info.torch}"
    if ext.label and ext.label.torch:
        yield "series", ext.label.torch, f"{ext.label_source} {ext.label.text}"


def _exact(how: str, wanted: str) -> bool:
    """Evidence of the one torch it was built for (a range like >=2.0 says nothing of it)."""
    return how != "spec" or (wanted.startswith("==") and "," not in wanted and "*" not in wanted)


def _spec_text(spec: str) -> str:
    """ "==2.14.0" -> "2.14.0"; a range stays as it is (">=2.4,<2.6")."""
    return spec[2:] if spec.startswith("==") and "," not in spec else spec


def _torch_mismatch(ext: ExtensionFacts, build: TorchBuild) -> tuple[str, str] | None:
    """(the torch it was built for, evidence) when that is not the installed torch."""
    try:
        installed = Version(build.public_version)
    except InvalidVersion:
        return None
    for how, wanted, evidence in _built_for_torch(ext):
        if how == "spec":
            if not SpecifierSet(wanted).contains(installed, prereleases=True):
                return _spec_text(wanted), evidence
        elif how == "series":
            if build.series != wanted:
                return wanted, evidence
        else:
            try:
                if Version(wanted) != installed:
                    return wanted, evidence
            except InvalidVersion:
                continue
    return None


def _torch_kind(build: TorchBuild) -> str:
    if build.hip:
        return f"ROCm {build.hip}"
    if build.cuda:
        return f"CUDA {build.cuda}"
    return "CPU-only"


def _backend(ext: ExtensionFacts) -> tuple[str, str] | None:
    """(what it was built for: "CUDA 12", "ROCm 6.2", "CPU-only"; evidence), from its objects,
    its build file or its label, in that order of trust."""
    majors, cuda_line = ext.cuda_evidence()
    if cuda_line:
        unbundled = sorted(majors)
        return (f"CUDA {unbundled[-1]}" if unbundled else "CUDA"), cuda_line
    hip_line = ext.hip_evidence()
    if hip_line:
        return "ROCm", hip_line
    info = ext.build_info
    if info and info.cuda:
        return f"CUDA {info.cuda}", f"{info.source}"
    if info and info.hip:
        return f"ROCm {info.hip}", f"{info.source}"
    if ext.label and ext.label.cuda:
        return f"CUDA {ext.label.cuda}", f"{ext.label_source} {ext.label.text}"
    if ext.label and ext.label.rocm:
        return f"ROCm {ext.label.rocm}", f"{ext.label_source} {ext.label.text}"
    if ext.label and ext.label.cpu:
        return "CPU-only", f"{ext.label_source} {ext.label.text}"
    return None


def _cuda_major(built: str) -> int | None:
    words = built.split()
    if len(words) < 2 or words[0] != "CUDA":
        return None
    try:
        return int(words[1].split(".")[0])
    except ValueError:
        return None


def _glibc_problem(ext: ExtensionFacts, system: tuple[int, int] | None) -> CheckResult | None:
    if system is None:
        return None
    symbols, tag = ext.glibc, ext.wheel_glibc
    needs: list[tuple[tuple[int, int], str]] = []
    if symbols:
        needs.append((symbols[0], f"GLIBC_{eb.glibc_text(symbols[0])} in {symbols[1]}"))
    if tag:
        needs.append((tag[0], f"its wheel tag {tag[1]}"))
    if not needs:
        return None
    needed, where = max(needs)
    if needed <= system:
        return None
    if tag and symbols and symbols[0] > tag[0]:
        where += f", though its wheel tag says {tag[1]}"
    return problem("extensions.glibc").check(
        Status.FAIL,
        f"extensions.{ext.name}",
        name=_label_text(ext),
        needed=eb.glibc_text(needed),
        where=where,
        system=eb.glibc_text(system),
        package=ext.display_name,
    )


def _backend_problem(ext: ExtensionFacts, build: TorchBuild, fix: str) -> CheckResult | None:
    found = _backend(ext)
    if found is None:
        return None
    built, evidence = found
    torch_kind = _torch_kind(build)
    check_id = f"extensions.{ext.name}"
    if built == "CPU-only":
        if build.cuda is None and not build.hip:
            return None
        return problem("extensions.cpu-build").check(
            Status.WARN,
            check_id,
            name=_label_text(ext),
            evidence=evidence,
            torch=_torch_text(build),
            torch_kind=torch_kind,
            install=fix,
        )
    wants_cuda = built.startswith("CUDA")
    if (wants_cuda and build.cuda is None) or (not wants_cuda and not build.hip):
        return problem("extensions.backend").check(
            Status.FAIL,
            check_id,
            name=_label_text(ext),
            built=built,
            evidence=evidence,
            torch=_torch_text(build),
            torch_kind=torch_kind,
            install=fix,
        )
    major = _cuda_major(built)
    majors, _ = ext.cuda_evidence()
    other = sorted(m for m in majors if build.cuda and m != build.cuda.major)
    if build.cuda and ((major is not None and major != build.cuda.major) or other):
        return problem("extensions.cuda-major").check(
            Status.FAIL,
            check_id,
            name=_label_text(ext),
            built=f"CUDA {other[-1]}" if other else built,
            evidence=evidence,
            torch=_torch_text(build),
            torch_cuda=str(build.cuda),
            install=fix,
        )
    return None


def _bnb_problem(
    ext: ExtensionFacts, build: TorchBuild, environ: Mapping[str, str], fix: str
) -> CheckResult | None:
    if ext.name != "bitsandbytes" or (build.cuda is None and not build.hip):
        return None
    prefix = "rocm" if build.hip else "cuda"
    shipped = eb.bnb_versions(ext.bnb_files, prefix)
    listed = ", ".join(f"{a}.{b}" for a, b in sorted(shipped)) or "none"
    variable = "BNB_ROCM_VERSION" if build.hip else "BNB_CUDA_VERSION"
    override = environ.get(variable)
    check_id = "extensions.bitsandbytes"
    if override is not None:
        chosen = eb.bnb_versions([f"libbitsandbytes_{prefix}{override}.so"], prefix)
        if not chosen or next(iter(chosen)) not in shipped:
            return problem("extensions.bnb-override").check(
                Status.FAIL,
                check_id,
                variable=variable,
                value=override,
                version=ext.version,
                prefix=prefix,
                shipped=listed,
            )
        return None
    if build.hip:
        want = tuple(int(p) for p in [*build.hip.split("."), "0"][:2])
    else:
        assert build.cuda is not None
        want = build.cuda.as_tuple()
    if not shipped or eb.bnb_pick(shipped, (want[0], want[1]), ext.version) is not None:
        return None
    return problem("extensions.bnb-no-library").check(
        Status.FAIL,
        check_id,
        version=ext.version,
        backend="ROCm" if build.hip else "CUDA",
        wanted=f"{want[0]}.{want[1]}",
        shipped=listed,
        install=fix,
    )


def _triton_problem(
    ext: ExtensionFacts, torch: TorchFacts, target: FixTarget
) -> CheckResult | None:
    if ext.kind != "triton" or torch.build is None:
        return None
    for line in torch.requires:
        req = requires.read(line)
        if req is None or canonicalize_name(req.name) != ext.name or not str(req.specifier):
            continue
        if not req.applies(frozenset(), None):
            continue
        try:
            fits = req.specifier.contains(Version(ext.version), prereleases=True)
        except InvalidVersion:
            fits = True
        if fits:
            return None
        wanted = f"{req.name}{req.specifier}"
        return problem("extensions.triton").check(
            Status.FAIL,
            f"extensions.{ext.name}",
            torch=_torch_text(torch.build),
            requirement=wanted,
            name=_label_text(ext),
            install=f"{target.command} -m pip install {shlex.quote(wanted)}",
        )
    return None


def check_extension(
    ext: ExtensionFacts,
    torch: TorchFacts,
    glibc: tuple[int, int] | None,
    environ: Mapping[str, str],
    *,
    target: FixTarget = HERE,
) -> CheckResult:
    """One package's verdict: the first (worst) of what does not fit, the rest as details."""
    build = torch.build
    check_id = f"extensions.{ext.name}"
    data = ext.to_json()
    fix = install_fix(ext, build, target)
    found: list[CheckResult] = []
    if (glibc_problem := _glibc_problem(ext, glibc)) is not None:
        found.append(glibc_problem)
    related = ext.kind != "standalone"
    usable = build is not None and not build.error and not build.unknown
    if related and usable:
        assert build is not None
        for maybe in (
            _backend_problem(ext, build, fix)
            if ext.kind not in ("bitsandbytes", "triton")
            else None,
            _torch_problem(ext, build, fix),
            _abi_problem(ext, build, torch.cxx11_abi, fix),
            _bnb_problem(ext, build, environ, fix),
            _triton_problem(ext, torch, target),
            _stale_problem(ext, build, fix),
        ):
            if maybe is not None:
                found.append(maybe)
    if ext.unreadable:
        found.append(
            problem("extensions.unreadable").check(
                Status.WARN,
                check_id,
                name=_label_text(ext),
                count=len(ext.unreadable),
                error=ext.unreadable[0],
                install=f"{target.command} -m pip install --force-reinstall --no-deps "
                f"{shlex.quote(f'{ext.display_name}=={ext.version}')}",
            )
        )
    details = _describe(ext)
    if found:
        found.sort(key=lambda r: r.status is not Status.FAIL)
        worst, *rest = found
        more = [f"also: {r.summary}" for r in rest]
        return CheckResult(
            id=check_id,
            status=worst.status,
            summary=worst.summary,
            details=tuple([*more, *details]),
            fix=worst.fix,
            data=data,
        )
    if related and build is None and ext.links_torch:
        return CheckResult.skip(
            check_id,
            f"{_label_text(ext)} is built against torch, which is not installed (see packages)",
            details=details,
            data=data,
        )
    return CheckResult.ok(check_id, _ok_line(ext, build, related), details=details, data=data)


def _torch_problem(ext: ExtensionFacts, build: TorchBuild, fix: str) -> CheckResult | None:
    if ext.kind in ("triton", "bitsandbytes"):
        return None
    mismatch = _torch_mismatch(ext, build)
    if mismatch is None:
        return None
    wanted, evidence = mismatch
    return problem("extensions.torch-mismatch").check(
        Status.FAIL,
        f"extensions.{ext.name}",
        name=_label_text(ext),
        wanted=wanted,
        evidence=evidence,
        torch=_torch_text(build),
        install=fix,
    )


def _abi_problem(
    ext: ExtensionFacts, build: TorchBuild, torch_abi: bool | None, fix: str
) -> CheckResult | None:
    if ext.label is None or ext.label.cxx11abi is None or torch_abi is None:
        return None
    if ext.label.cxx11abi == torch_abi:
        return None

    def words(new: bool) -> str:
        return "C++11 ABI (cxx11abiTRUE)" if new else "pre-C++11 ABI (cxx11abiFALSE)"

    return problem("extensions.cxx11-abi").check(
        Status.FAIL,
        f"extensions.{ext.name}",
        name=_label_text(ext),
        abi=words(ext.label.cxx11abi),
        evidence=f"{ext.label_source} {ext.label.text}",
        torch=_torch_text(build),
        torch_abi=words(torch_abi),
        install=fix,
    )


def _stale_problem(ext: ExtensionFacts, build: TorchBuild, fix: str) -> CheckResult | None:
    """Built against libtorch, nothing says which torch, and torch was replaced after it."""
    if not ext.installed_before_torch or not ext.links_torch:
        return None
    if any(_exact(how, wanted) for how, wanted, _ in _built_for_torch(ext)):
        return None
    return problem("extensions.stale-build").check(
        Status.WARN,
        f"extensions.{ext.name}",
        name=_label_text(ext),
        torch=_torch_text(build),
        install=fix,
    )


def _describe(ext: ExtensionFacts) -> list[str]:
    lines = []
    for how, wanted, evidence in _built_for_torch(ext):
        if _exact(how, wanted):
            lines.append(f"built for torch {_spec_text(wanted)}: {evidence}")
        else:
            lines.append(evidence)
    backend = _backend(ext)
    if backend:
        lines.append(f"{backend[0]}: {backend[1]}")
    if ext.glibc:
        lines.append(f"needs glibc {eb.glibc_text(ext.glibc[0])} ({ext.glibc[1]})")
    if ext.wheel_glibc:
        lines.append(f"wheel tag {ext.wheel_glibc[1]}")
    if ext.direct_url:
        lines.append(f"installed from {ext.direct_url}")
    lines.append(f"{len(ext.objects)} shared object(s) read from {ext.location}")
    return lines


def _ok_line(ext: ExtensionFacts, build: TorchBuild | None, related: bool) -> str:
    parts = []
    backend = _backend(ext)
    if backend:
        parts.append(backend[0] if backend[0] != "CPU-only" else "a CPU-only build")
    wants = [_spec_text(w) for how, w, _ in _built_for_torch(ext) if _exact(how, w)]
    if wants and build is not None:
        parts.append(f"built for torch {wants[0]}")
    what = ", ".join(parts)
    text = f"{_label_text(ext)}" + (f" ({what})" if what else "")
    if not related:
        return f"{text}: not built against torch; its libraries fit this system"
    if build is None:
        return f"{text}: fits this system"
    return f"{text}: fits torch {build.version}"


def check_cuda_runtimes(
    facts: Sequence[ExtensionFacts], installed: Installed, build: TorchBuild | None
) -> CheckResult | None:
    """More than one CUDA major in one environment, beyond the extensions that already fail
    for it: NVIDIA runtime wheels of another major (one package pulled cu12 libraries beside a
    CUDA 13 torch), and standalone packages (CuPy, ONNX Runtime) that link another one."""
    torch_major = build.cuda.major if build is not None and build.cuda else None
    if torch_major is None:
        return None
    brings: dict[int, list[str]] = {torch_major: [f"torch {build.version}" if build else "torch"]}
    stray: list[str] = []
    for dist in installed.dists.values():
        major = _runtime_wheel_major(dist.name)
        if major is not None and major != torch_major:
            brings.setdefault(major, []).append(f"{dist.display_name} {dist.version}")
            if not _required_by_anyone(dist.name, installed):
                stray.append(dist.display_name)
    for ext in facts:
        if ext.kind != "standalone":
            continue
        majors, _ = ext.cuda_evidence()
        for major in majors - {torch_major}:
            brings.setdefault(major, []).append(f"{ext.display_name} {ext.version}")
    if len(brings) < 2:
        return None
    runtimes = "; ".join(f"CUDA {m}: {', '.join(w)}" for m, w in sorted(brings.items()))
    data = {"runtimes": {str(m): w for m, w in sorted(brings.items())}, "unrequired": stray}
    if stray:
        return problem("extensions.cuda-runtimes").check(
            Status.WARN,
            "extensions.cuda-runtimes",
            data=data,
            count=len(brings),
            runtimes=runtimes,
            python_command=HERE.command,
            wheels=" ".join(stray),
        )
    return problem("extensions.cuda-runtimes-required").check(
        Status.WARN,
        "extensions.cuda-runtimes",
        data=data,
        count=len(brings),
        runtimes=runtimes,
    )


def _runtime_wheel_major(name: str) -> int | None:
    """The CUDA major of NVIDIA's runtime wheel: nvidia-cuda-runtime-cu12 -> 12; from CUDA 13
    on the wheel has no suffix (nvidia-cuda-runtime)."""
    if name == "nvidia-cuda-runtime":
        return 13
    prefix = "nvidia-cuda-runtime-cu"
    if name.startswith(prefix) and name[len(prefix) :].isdigit():
        return int(name[len(prefix) :])
    return None


def _required_by_anyone(name: str, installed: Installed) -> bool:
    for dist in installed.dists.values():
        for line in dist.requires:
            head = line.split(";", 1)[0]
            if name in head or name.replace("-", "_") in head:
                return True
    return False


# --- --deep: import each one ------------------------------------------------------------------

SCRIPT = r"""
import importlib, json, logging, sys, time, warnings
MARK = "CHATENV-EXT "
modules = json.loads(sys.argv[1])
said = []
class Keep(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            try:
                said.append(record.getMessage())
            except Exception:
                pass
logging.getLogger().addHandler(Keep())
try:
    import torch
except BaseException as exc:
    print(MARK + json.dumps({"torch_error": f"{type(exc).__name__}: {exc}".strip()}), flush=True)
for name in modules:
    print(MARK + json.dumps({"start": name}), flush=True)
    del said[:]
    out = {"module": name}
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            importlib.import_module(name)
            out["ok"] = True
        except BaseException as exc:
            out["ok"] = False
            out["error"] = f"{type(exc).__name__}: {exc}".strip()
    out["seconds"] = round(time.perf_counter() - started, 3)
    out["warnings"] = [str(w.message).strip() for w in caught] + list(said)
    print(MARK + json.dumps(out), flush=True)
"""


@dataclass(frozen=True)
class ImportAnswer:
    module: str
    ok: bool = False
    error: str | None = None
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    #: the child died or ran out of time while importing this module
    crashed: str | None = None
    timed_out: bool = False


class _Batch:
    """What the import children reported, gathered across them."""

    def __init__(self) -> None:
        self.answers: dict[str, ImportAnswer] = {}
        self.torch_error: str | None = None


def parse_import_lines(stdout: str, batch: _Batch) -> str | None:
    """Fold the child's lines into `batch`; the module it had started on and not finished."""
    started: str | None = None
    for line in stdout.splitlines():
        if not line.startswith(MARKER):
            continue
        try:
            data = json.loads(line[len(MARKER) :])
        except ValueError:
            continue
        if "torch_error" in data:
            batch.torch_error = str(data["torch_error"])
        elif "start" in data:
            started = str(data["start"])
        elif "module" in data:
            name = str(data["module"])
            batch.answers[name] = ImportAnswer(
                module=name,
                ok=bool(data.get("ok")),
                error=data.get("error"),
                warnings=tuple(str(w) for w in data.get("warnings") or ()),
                seconds=float(data.get("seconds") or 0),
            )
            started = None
    return started


def import_all(ctx: Context, modules: Sequence[str], timeout: float = TIMEOUT_S) -> _Batch:
    """Import `modules` in child processes (after torch), all within `timeout`: a module that
    kills its child is recorded and the rest go on in a fresh one."""
    batch = _Batch()
    deadline = time.monotonic() + timeout
    env = dict(ctx.environ)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    todo = list(dict.fromkeys(modules))
    while todo:
        left = deadline - time.monotonic()
        if left <= 0:
            for name in todo:
                batch.answers[name] = ImportAnswer(name, timed_out=True)
            break
        ctx.step(f"importing {', '.join(todo)} in a child process")
        done = ctx.seams.runner()(
            [sys.executable, "-c", SCRIPT, json.dumps(todo)],
            timeout=left,
            env=env,
            cwd=ctx.options.cwd,
        )
        unfinished = parse_import_lines(done.stdout, batch)
        if unfinished is not None:
            tail = [line for line in done.stderr.strip().splitlines() if line.strip()]
            why = tail[-1] if tail else f"exit status {done.returncode}"
            if done.returncode < 0:
                why = f"killed by signal {-done.returncode}"
            batch.answers[unfinished] = ImportAnswer(
                unfinished, crashed=None if done.timed_out else why, timed_out=done.timed_out
            )
        todo = [m for m in todo if m not in batch.answers]
        if unfinished is None and todo:  # it stopped before starting them: do not loop
            why = f"exit status {done.returncode}"
            for name in todo:
                batch.answers[name] = ImportAnswer(name, crashed=why, timed_out=done.timed_out)
            break
    return batch


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def check_import(
    ext: ExtensionFacts, answer: ImportAnswer, static: CheckResult, timeout: float = TIMEOUT_S
) -> CheckResult:
    """What importing it did, as a verdict. The fix is the static check's when that one failed
    (it knows which build is wanted), else the package's matching-build command."""
    check_id = f"extensions.{ext.name}.import"
    data = {
        "module": answer.module,
        "ok": answer.ok,
        "error": answer.error,
        "warnings": list(answer.warnings),
        "seconds": answer.seconds,
        "static": static.status.value,
    }
    fix = static.fix or install_fix(ext, None)
    if answer.timed_out:
        return problem("extensions.import-timeout").check(
            Status.FAIL, check_id, data=data, module=answer.module, timeout=timeout
        )
    if answer.crashed:
        return problem("extensions.import-crashed").check(
            Status.FAIL, check_id, data=data, module=answer.module, why=answer.crashed
        )
    if answer.ok:
        degraded = next((w for w in answer.warnings if _is_degraded(w)), None)
        if degraded:
            return problem("extensions.import-degraded").check(
                Status.WARN,
                check_id,
                details=answer.warnings,
                data=data,
                module=answer.module,
                warning=_first_line(degraded),
                install=fix,
            )
        return CheckResult.ok(
            check_id,
            f"import {answer.module} works ({answer.seconds:.1f} s)",
            details=answer.warnings,
            data=data,
        )
    error = _first_line(answer.error or "")
    lower = error.lower()
    details = [answer.error or "", *answer.warnings]
    if "undefined symbol" in lower:
        symbol = error.rsplit("undefined symbol:", 1)[-1].strip()
        return problem("extensions.import-undefined-symbol").check(
            Status.FAIL,
            check_id,
            details=details,
            data=data,
            module=answer.module,
            symbol=symbol,
            name=ext.display_name,
            install=fix,
        )
    if "glibc_" in lower and "not found" in lower:
        return problem("extensions.import-glibc").check(
            Status.FAIL, check_id, details=details, data=data, module=answer.module, error=error
        )
    if "cannot open shared object file" in lower:
        library = error.split(":")[1].strip() if error.count(":") >= 2 else error
        return problem("extensions.import-missing-library").check(
            Status.FAIL,
            check_id,
            details=details,
            data=data,
            module=answer.module,
            library=library,
            install=fix,
        )
    if "no kernel image" in lower:
        return problem("extensions.import-no-kernels").check(
            Status.FAIL,
            check_id,
            details=details,
            data=data,
            module=answer.module,
            name=ext.display_name,
            install=fix,
        )
    if "operator" in lower and "does not exist" in lower:
        return problem("extensions.import-operator-missing").check(
            Status.FAIL,
            check_id,
            details=details,
            data=data,
            module=answer.module,
            error=error,
            install=fix,
        )
    return problem("extensions.import-failed").check(
        Status.FAIL,
        check_id,
        details=details,
        data=data,
        module=answer.module,
        error=error,
        install=fix,
    )


_DEGRADED = (
    "can't load c++/cuda extensions",  # xformers
    "was built for",  # xformers: "xFormers was built for: PyTorch ..."
    "failed to load",  # torchvision: "Failed to load image Python extension"
    "undefined symbol",
    "cannot open shared object file",
    "compiled without gpu support",  # bitsandbytes
)


def _is_degraded(warning: str) -> bool:
    lower = warning.lower()
    return any(s in lower for s in _DEGRADED)


# --- the section ------------------------------------------------------------------------------


def observe_all(ctx: Context) -> list[ExtensionFacts]:
    installed = ctx.installed
    torch_dist = installed.get("torch")
    found = []
    for dist, module, kind in candidates(installed):
        ctx.step(f"reading {dist.display_name}'s shared objects")
        facts = observe(dist, module, kind, torch_dist)
        if facts is not None:
            found.append(facts)
    return found


def check_extensions(
    facts: Sequence[ExtensionFacts],
    torch: TorchFacts,
    installed: Installed,
    glibc: tuple[int, int] | None,
    environ: Mapping[str, str],
) -> list[CheckResult]:
    results = [check_extension(f, torch, glibc, environ) for f in facts]
    runtimes = check_cuda_runtimes(facts, installed, torch.build)
    if runtimes is not None:
        results.append(runtimes)
    if not results:
        names = ", ".join(k.name for k in eb.KNOWN[:6])
        results.append(
            CheckResult.skip(
                "extensions.none",
                f"no compiled packages around torch are installed ({names}, ... none)",
            )
        )
    return results


def collect(ctx: Context) -> list[CheckResult]:
    facts = observe_all(ctx)
    build = ctx.torch
    wants_abi = any(f.label and f.label.cxx11abi is not None for f in facts)
    torch_dist = ctx.installed.get("torch")
    torch = TorchFacts(
        build,
        cxx11_abi=torch_cxx11_abi(build) if wants_abi else None,
        requires=torch_dist.requires if torch_dist else (),
    )
    results = check_extensions(facts, torch, ctx.installed, system_glibc(), ctx.environ)
    if ctx.options.deep and facts:
        batch = import_all(ctx, [f.module for f in facts])
        by_id = {r.id: r for r in results}
        for ext in facts:
            answer = batch.answers.get(ext.module)
            if answer is not None:
                results.append(check_import(ext, answer, by_id[f"extensions.{ext.name}"]))
    return results
