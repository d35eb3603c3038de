"""The loading section: which copy of a package, and of a CUDA library, really gets loaded.

Three ways the copy that runs is not the one installed, all seen from files:
- a package importable from two places: the current folder (a `torch/` source checkout is
  first on sys.path for `python -c`, `python -m` and scripts run from it), PYTHONPATH, the user
  site (`pip install --user`, first on the path of a conda or system Python), or another
  site-packages folder;
- torch installed by both conda and pip in one environment (conda's `conda-meta` records a
  `pytorch` package whose files pip's torch has overwritten, or the other way round);
- torch's CUDA libraries (cuDNN, NCCL, cuBLAS, the CUDA runtime) coming from LD_LIBRARY_PATH or
  /etc/ld.so.cache instead of torch's own nvidia-* wheels. PyPI's torch links them with a
  DT_RPATH into those wheels (pytorch/builder#1150), which the loader searches before
  LD_LIBRARY_PATH; a torch built with DT_RUNPATH (conda's, a source build) searches it after.
  Either way the libraries those load in turn (cuDNN's own parts, cuBLAS' libcublasLt,
  cuSPARSE's nvJitLink: pytorch/pytorch#138460, #145580) carry only `$ORIGIN` as RUNPATH, so a
  different copy on LD_LIBRARY_PATH wins for them: two cuDNN versions in one process.

Each folder on the path is listed once and only the candidates found in it are statted; the
ELF headers of torch's libtorch_cuda.so are read with `chatenv.system.elf` and the linker's
search is followed with `chatenv.system.ld_search`.
"""

from __future__ import annotations

import os
import shlex
import site
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv import extension_builds as eb
from chatenv import requires
from chatenv.doctor.fixes import HERE
from chatenv.names import canonicalize_name
from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.results import CheckResult, Status

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from chatenv.doctor.context import Context
    from chatenv.doctor.fixes import FixTarget
    from chatenv.installed import Dist, Installed, TorchBuild
    from chatenv.system import elf, ld_search

HERE_FOLDER = "the current folder"
PYTHONPATH = "PYTHONPATH"
USER_SITE = "the user site"

# --- a package importable from two places -----------------------------------------------------


@dataclass(frozen=True)
class Copy:
    """One place a top-level module can be imported from."""

    module: str
    folder: str
    origin: str  # HERE_FOLDER, PYTHONPATH, USER_SITE, "site-packages" or "the path"
    #: the distribution whose metadata sits beside it, and its version (None: no metadata)
    dist: str | None = None
    version: str | None = None

    @property
    def path(self) -> str:
        return os.path.join(self.folder, self.module)

    def describe(self) -> str:
        what = f"{self.version}" if self.version else "no metadata"
        return f"{self.folder} ({self.origin}, {what})"


def _origin(folder: str, cwd: str, pythonpath: set[str], user_site: str | None) -> str:
    if folder == cwd:
        return HERE_FOLDER
    if folder in pythonpath:
        return PYTHONPATH
    if user_site and folder == user_site:
        return USER_SITE
    if os.path.basename(folder) in ("site-packages", "dist-packages"):
        return "site-packages"
    return "the path"


def _module_of(entry: str) -> str | None:
    """The top-level module a folder entry provides: a package folder, `x.py`, or an
    extension module (`x.cpython-311-x86_64-linux-gnu.so`, `x.abi3.so`, `x.pyd`)."""
    if entry.endswith(".py"):
        return entry[:-3]
    if entry.endswith((".so", ".pyd")):
        return entry.split(".", 1)[0]
    return entry if "." not in entry else None


def _dist_versions(entries: Iterable[str]) -> dict[str, str]:
    """canonical name -> version, from the `<name>-<version>.dist-info` folders listed."""
    found: dict[str, str] = {}
    for entry in entries:
        if entry.endswith(".dist-info"):
            name, _, version = entry[: -len(".dist-info")].partition("-")
            if version:
                found.setdefault(canonicalize_name(name), version)
    return found


def observe_copies(
    path: Sequence[str],
    cwd: str,
    modules: Mapping[str, str],
    *,
    pythonpath: Iterable[str] = (),
    user_site: str | None = None,
) -> dict[str, list[Copy]]:
    """module -> every folder it can be imported from, in import order. `path` is the search
    path a user's `python` has after the current folder; `modules` maps the modules to look for
    to the distribution that provides them."""
    pp = {os.path.abspath(p) for p in pythonpath if p}
    user = os.path.abspath(user_site) if user_site else None
    here = os.path.abspath(cwd)
    copies: dict[str, list[Copy]] = {}
    seen: set[str] = set()
    for raw in (cwd, *path):
        folder = os.path.abspath(raw or cwd)
        if folder in seen:
            continue
        seen.add(folder)
        try:
            entries = os.listdir(folder)
        except OSError:  # a zip, a missing folder: nothing to list
            continue
        versions: dict[str, str] | None = None
        for entry in entries:
            module = _module_of(entry)
            if module is None or module not in modules:
                continue
            if "." not in entry and not os.path.isfile(os.path.join(folder, entry, "__init__.py")):
                continue  # a namespace portion, or a folder that only shares the name
            if versions is None:
                versions = _dist_versions(entries)
            dist = canonicalize_name(modules[module])
            known = copies.setdefault(module, [])
            if any(c.folder == folder for c in known):
                continue
            known.append(
                Copy(
                    module,
                    folder,
                    _origin(folder, here, pp, user),
                    dist if dist in versions else None,
                    versions.get(dist),
                )
            )
    return copies


def import_names(installed: Installed) -> dict[str, str]:
    """module -> distribution for the modules worth checking: every installed distribution by
    the module its name gives (torch, transformers, huggingface_hub) and the known extensions
    by theirs (flash-attn: flash_attn)."""
    names = {d.name.replace("-", "_"): d.display_name for d in installed.dists.values()}
    for known in eb.KNOWN:
        dist = installed.get(known.name)
        if dist is not None:
            names[known.module] = dist.display_name
    names.setdefault("torch", "torch")
    return names


def _without(value: str, folder: str) -> str:
    """`export PYTHONPATH=...` without `folder`, or `unset PYTHONPATH` when nothing is left."""
    kept = [p for p in value.split(os.pathsep) if p and os.path.abspath(p) != folder]
    return f"export PYTHONPATH={shlex.quote(os.pathsep.join(kept))}" if kept else "unset PYTHONPATH"


def check_copies(
    copies: Mapping[str, Sequence[Copy]],
    environ: Mapping[str, str],
    *,
    target: FixTarget = HERE,
) -> list[CheckResult]:
    results = []
    for module, found in sorted(copies.items()):
        if len(found) < 2:
            continue
        first, hidden = found[0], found[1:]
        data = {
            "module": module,
            "copies": [
                {
                    "folder": c.folder,
                    "origin": c.origin,
                    "distribution": c.dist,
                    "version": c.version,
                }
                for c in found
            ],
        }
        first_text = first.describe()
        others = "; ".join(c.describe() for c in hidden)
        check_id = f"loading.{module}"
        details = [f"{i + 1}. {c.describe()}" for i, c in enumerate(found)]
        if first.origin == HERE_FOLDER:
            result = problem("loading.shadowed-here").check(
                Status.WARN,
                check_id,
                details=details,
                data=data,
                module=module,
                first=first_text,
                others=others,
            )
        elif first.origin == PYTHONPATH:
            result = problem("loading.shadowed-pythonpath").check(
                Status.WARN,
                check_id,
                details=details,
                data=data,
                module=module,
                first=first_text,
                others=others,
                export=_without(environ.get("PYTHONPATH", ""), first.folder),
            )
        elif first.dist is None:
            result = problem("loading.shadowed-bare").check(
                Status.WARN,
                check_id,
                details=details,
                data=data,
                module=module,
                first=first_text,
                others=others,
                path=shlex.quote(first.path),
            )
        elif first.origin == USER_SITE:
            result = problem("loading.shadowed-user-site").check(
                Status.WARN,
                check_id,
                details=details,
                data=data,
                module=module,
                first=first_text,
                others=others,
                python_command=target.command,
                dist=first.dist,
            )
        else:
            result = problem("loading.shadowed").check(
                Status.WARN,
                check_id,
                details=details,
                data=data,
                module=module,
                first=first_text,
                others=others,
                python_command=target.command,
                dist=first.dist,
                folder=first.folder,
            )
        results.append(result)
    return results


# --- conda and pip --------------------------------------------------------------------------

#: conda packages that hold torch's files (conda-forge splits the C++ part into libtorch)
CONDA_TORCH = ("pytorch", "libtorch", "pytorch-cpu", "pytorch-gpu")


@dataclass(frozen=True)
class CondaPackage:
    name: str
    version: str
    build: str


def observe_conda(prefix: Path) -> list[CondaPackage]:
    """The torch packages conda installed in `prefix` (conda-meta/<name>-<version>-<build>.json)."""
    try:
        entries = os.listdir(prefix / "conda-meta")
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.endswith(".json"):
            continue
        name, _, rest = entry[: -len(".json")].rpartition("-")
        name, _, version = name.rpartition("-")
        if name in CONDA_TORCH:
            found.append(CondaPackage(name, version, rest))
    return sorted(found, key=lambda p: p.name)


def _installer(dist: Dist) -> str | None:
    try:
        with open(os.path.join(dist.location, "INSTALLER"), encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


def check_conda_torch(
    conda: Sequence[CondaPackage],
    torch_dist: Dist | None,
    installer: str | None,
    build: TorchBuild | None,
    prefix: str,
    *,
    target: FixTarget = HERE,
) -> CheckResult | None:
    """conda's pytorch and pip's torch in one environment."""
    if not conda or torch_dist is None or installer in (None, "conda"):
        return None
    main = next((p for p in conda if p.name == "pytorch"), conda[0])
    same = main.version == torch_dist.version.partition("+")[0]
    public = torch_dist.version.partition("+")[0]
    index = f" --index-url {eb.pytorch_index(build)}" if build is not None else ""
    data = {
        "conda": [{"name": p.name, "version": p.version, "build": p.build} for p in conda],
        "pip": {"version": torch_dist.version, "installer": installer},
        "prefix": prefix,
    }
    return problem("loading.conda-and-pip").check(
        Status.WARN if same else Status.FAIL,
        "loading.conda-torch",
        details=[f"conda: {p.name} {p.version} ({p.build})" for p in conda],
        data=data,
        conda=f"{main.name} {main.version}",
        installer=installer,
        pip=torch_dist.version,
        prefix=prefix,
        names=" ".join(p.name for p in conda),
        python_command=target.command,
        requirement=f"torch=={public}{index}",
    )


# --- torch's CUDA libraries -------------------------------------------------------------------

FAMILIES = ("libcudnn", "libnccl", "libcublas", "libcudart")


def _family(soname: str) -> str | None:
    return next((f for f in FAMILIES if soname.startswith((f + ".", f + "Lt."))), None)


@dataclass(frozen=True)
class LibraryFacts:
    soname: str
    #: where torch's libtorch_cuda.so gets it
    loads: ld_search.Found
    loads_version: str | None
    #: torch's own copy: the first of its RPATH/RUNPATH folders that holds it
    own: str | None
    own_version: str | None
    #: the nvidia-* wheel that installs `own` (or should): its name, and torch's pin on it
    own_dist: str | None
    wanted: str | None
    #: copies on LD_LIBRARY_PATH other than the one torch loads: (path, version)
    shadows: tuple[tuple[str, str | None], ...] = ()
    #: the ld.so.cache entry for it, if any, and its version
    cached: tuple[str, str | None] | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "soname": self.soname,
            "loads": self.loads.path,
            "via": self.loads.via or None,
            "version": self.loads_version,
            "own": self.own,
            "own_version": self.own_version,
            "own_dist": self.own_dist,
            "wanted": self.wanted,
            "shadows": [{"path": p, "version": v} for p, v in self.shadows],
            "cached": {"path": self.cached[0], "version": self.cached[1]} if self.cached else None,
        }


@dataclass(frozen=True)
class Libraries:
    needing: elf.ElfInfo
    libraries: tuple[LibraryFacts, ...]
    cache: ld_search.LdCache


def _nvidia_files(installed: Installed) -> dict[str, Dist]:
    """absolute path -> the nvidia-* distribution whose RECORD lists it (a few small RECORDs)."""
    owners: dict[str, Dist] = {}
    for dist in installed.dists.values():
        if not dist.name.startswith("nvidia-"):
            continue
        site_dir = os.path.dirname(dist.location)
        try:
            with open(os.path.join(dist.location, "RECORD"), encoding="utf-8") as f:
                for line in f:
                    rel = line.partition(",")[0]
                    if ".so" in rel:
                        owners[os.path.normpath(os.path.join(site_dir, rel))] = dist
        except OSError:
            continue
    return owners


def _pins(lines: Iterable[str]) -> dict[str, str]:
    """canonical name -> the requirement as written, for torch's `==` pins."""
    found: dict[str, str] = {}
    for line in lines:
        req = requires.read(line)
        if req is None:
            continue
        if any(s.operator == "==" for s in req.specifier):
            found[canonicalize_name(req.name)] = f"{req.name}{req.specifier}"
    return found


def _version_of(path: str, soname: str, owners: Mapping[str, Dist]) -> str | None:
    from chatenv.system.ld_search import file_version

    owner = owners.get(os.path.normpath(path))
    if owner is not None:
        return owner.version
    return file_version(path, soname)


def _guess_dist(soname: str, build: TorchBuild, installed: Installed) -> str | None:
    """The nvidia-* wheel that ought to provide `soname` for this torch (when it is missing)."""
    family = _family(soname)
    if family is None or build.cuda is None:
        return None
    stem = {
        "libcudnn": "nvidia-cudnn",
        "libnccl": "nvidia-nccl",
        "libcublas": "nvidia-cublas",
        "libcudart": "nvidia-cuda-runtime",
    }[family]
    major = build.cuda.major
    for name in (f"{stem}-cu{major}", stem):
        if installed.get(name) is not None:
            return name
    return f"{stem}-cu{major}"


def observe_libraries(
    build: TorchBuild | None,
    installed: Installed,
    environ: Mapping[str, str],
    root: Path,
    requires: Iterable[str] = (),
) -> Libraries | None:
    """None for a torch that loads no CUDA libraries (a CPU or ROCm build, or none)."""
    if build is None or build.cuda is None or not build.path:
        return None
    from chatenv.system import elf, ld_search  # a CUDA torch only: CPU machines skip these

    lib = Path(build.path).parent / "lib"
    needing_path = next(
        (p for p in (lib / "libtorch_cuda.so", lib / "libtorch_global_deps.so") if p.is_file()),
        None,
    )
    if needing_path is None:
        return None
    try:
        needing = elf.read(str(needing_path))
    except (OSError, elf.ElfError):
        return None
    if needing is None:
        return None
    sonames = [s for s in needing.needed if _family(s)]
    bits = 64 if sys.maxsize > 2**32 else 32
    cache = ld_search.read_cache(root / "etc" / "ld.so.cache", lambda s: s in sonames, bits=bits)
    library_path = ld_search.ld_library_path(environ)
    defaults = ld_search.default_dirs(root, bits)
    owners = _nvidia_files(installed)
    pins = _pins(requires)
    origin = os.path.dirname(needing.path)
    facts = []
    for soname in sonames:
        loads = ld_search.resolve(
            soname, needing, library_path=library_path, cache=cache, defaults=defaults
        )
        own = next(
            (
                candidate
                for folder in needing.search_path
                if os.path.isfile(
                    candidate := os.path.join(ld_search.expand_origin(folder, origin), soname)
                )
            ),
            None,
        )
        owner = owners.get(os.path.normpath(own)) if own else None
        own_dist = owner.display_name if owner else _guess_dist(soname, build, installed)
        loaded_real = os.path.realpath(loads.path) if loads.path else None
        shadows = []
        for folder in library_path:
            candidate = os.path.join(folder, soname)
            if os.path.isfile(candidate) and os.path.realpath(candidate) != loaded_real:
                shadows.append((candidate, ld_search.file_version(candidate, soname)))
        cached_path = cache.find(soname)
        facts.append(
            LibraryFacts(
                soname=soname,
                loads=loads,
                loads_version=_version_of(loads.path, soname, owners) if loads.path else None,
                own=own,
                own_version=_version_of(own, soname, owners) if own else None,
                own_dist=own_dist,
                wanted=pins.get(canonicalize_name(own_dist)) if own_dist else None,
                shadows=tuple(shadows),
                cached=(cached_path, ld_search.file_version(cached_path, soname))
                if cached_path
                else None,
            )
        )
    return Libraries(needing, tuple(facts), cache)


def _same(a: str | None, b: str | None) -> bool:
    """Two library versions agree on their first three parts (9.10.2 and 9.10.2.21)."""
    if not a or not b:
        return False
    return a.split(".")[:3] == b.split(".")[:3]


def _v(version: str | None) -> str:
    return version or "version unknown"


def _ld_export(environ: Mapping[str, str], drop: Iterable[str]) -> str:
    from chatenv.system import ld_search

    gone = {os.path.abspath(os.path.dirname(p)) for p in drop}
    parts = ld_search.ld_library_path(environ)
    kept = [p for p in parts if os.path.abspath(p) not in gone]
    if not kept:
        return "unset LD_LIBRARY_PATH"
    return f"export LD_LIBRARY_PATH={shlex.quote(':'.join(kept))}"


def check_libraries(
    found: Libraries | None,
    build: TorchBuild | None,
    environ: Mapping[str, str],
    *,
    target: FixTarget = HERE,
) -> list[CheckResult]:
    if build is None:
        return []
    if found is None:
        what = "a ROCm build" if build.hip else "a CPU-only build" if build.cuda is None else ""
        summary = (
            f"torch {build.version} is {what}: it loads no CUDA libraries"
            if what
            else f"torch {build.version}: its libtorch_cuda.so could not be read"
        )
        return [CheckResult.skip("loading.libraries", summary)]
    results = []
    fine = []
    for lib in found.libraries:
        check_id = f"loading.{lib.soname}"
        data = lib.to_json()
        if lib.own is None:  # nothing to name but the wheel that ought to hold it
            own = lib.own_dist or "none"
        else:
            own = f"{lib.own_dist} {_v(lib.own_version)}" if lib.own_dist else _v(lib.own_version)
        install = (
            f"{target.command} -m pip install {shlex.quote(lib.wanted)}"
            if lib.wanted
            else f"{target.command} -m pip install --force-reinstall {lib.own_dist}"
            if lib.own_dist
            else f"chatenv install local{target.option}"
        )
        if lib.loads.path is None:
            results.append(
                problem("loading.library-missing").check(
                    Status.FAIL,
                    check_id,
                    data=data,
                    soname=lib.soname,
                    folders=":".join(found.needing.search_path) or "none",
                    install=install,
                )
            )
            continue
        if lib.loads.path != lib.own:
            status = Status.WARN if _same(lib.loads_version, lib.own_version) else Status.FAIL
            if lib.loads.via == "LD_LIBRARY_PATH":
                result = problem("loading.library-from-ld-path").check(
                    status,
                    check_id,
                    data=data,
                    soname=lib.soname,
                    path=lib.loads.path,
                    version=_v(lib.loads_version),
                    own=own,
                    export=_ld_export(environ, [lib.loads.path]),
                )
            else:
                result = problem("loading.library-from-system").check(
                    status,
                    check_id,
                    data=data,
                    soname=lib.soname,
                    path=lib.loads.path,
                    version=_v(lib.loads_version),
                    own=own,
                    via=lib.loads.via,
                    install=install,
                )
            results.append(result)
            continue
        differing = [(p, v) for p, v in lib.shadows if not _same(v, lib.own_version)]
        if differing:
            path, version = differing[0]
            results.append(
                problem("loading.library-shadowed").check(
                    Status.WARN,
                    check_id,
                    details=[f"LD_LIBRARY_PATH: {p} ({_v(v)})" for p, v in differing],
                    data=data,
                    soname=lib.soname,
                    path=path,
                    version=_v(version),
                    own=own,
                    export=_ld_export(environ, [p for p, _ in differing]),
                )
            )
            continue
        line = f"{lib.soname}: {own} ({lib.loads.via})"
        if lib.cached and lib.cached[0] != lib.loads.path:
            line += f"; not the system's {lib.cached[0]} ({_v(lib.cached[1])}, ld.so.cache)"
        fine.append(line)
    if fine and not results:
        names = ", ".join(lib.soname for lib in found.libraries)
        results.append(
            CheckResult.ok(
                "loading.libraries",
                f"torch {build.version} loads its own {names} (from its nvidia-* wheels)",
                details=fine,
                data={"libraries": [lib.to_json() for lib in found.libraries]},
            )
        )
    elif fine:
        results.append(
            CheckResult.ok(
                "loading.libraries",
                f"{len(fine)} of torch's CUDA libraries come from its own wheels",
                details=fine,
            )
        )
    return results


# --- the section ------------------------------------------------------------------------------


def user_site() -> str | None:
    """This interpreter's user site folder, when it is on the path at all."""
    return site.getusersitepackages() if site.ENABLE_USER_SITE else None


def collect(ctx: Context) -> list[CheckResult]:
    installed = ctx.installed
    ctx.step("listing the folders on the import path")
    path = ctx.seams.sys_path if ctx.seams.sys_path is not None else tuple(sys.path)
    pythonpath = ctx.environ.get("PYTHONPATH", "").split(os.pathsep)
    copies = observe_copies(
        path,
        str(ctx.options.cwd),
        import_names(installed),
        pythonpath=pythonpath,
        user_site=user_site(),
    )
    results = check_copies(copies, ctx.environ)
    if not results:
        folders = len({os.path.abspath(p or ".") for p in path})
        results.append(
            CheckResult.ok(
                "loading.imports",
                f"every installed package imports from one place (the current folder and "
                f"{folders} folders on the path checked)",
            )
        )
    torch_dist = installed.get("torch")
    if torch_dist is not None:
        conda = observe_conda(Path(sys.prefix))
        found = check_conda_torch(conda, torch_dist, _installer(torch_dist), ctx.torch, sys.prefix)
        if found is not None:
            results.append(found)
    ctx.step("reading torch's CUDA libraries")
    libraries = observe_libraries(
        ctx.torch,
        installed,
        ctx.environ,
        ctx.seams.root,
        torch_dist.requires if torch_dist else (),
    )
    results.extend(check_libraries(libraries, ctx.torch, ctx.environ))
    return results
