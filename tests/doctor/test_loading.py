"""The loading section on real folders: copies of packages in the current folder, on
PYTHONPATH, in a user site and a second site-packages; a conda prefix's conda-meta; a CUDA torch
laid out as the real torch 2.14.1+cu130 wheel installs it, with LD_LIBRARY_PATH folders and an
ld.so.cache (written by the real ldconfig) holding other copies of its libraries."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from chatenv.doctor import loading
from chatenv.doctor.context import Context, DoctorOptions
from chatenv.installed import scan
from chatenv.results import Status
from chatenv.system.seams import Seams
from tests.ext_sites import write_cuda_torch
from tests.sites import write_dist, write_torch
from tests.system.test_ld_search import LDCONFIG, ldconfig_cache, make_lib

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.results import CheckResult


def package(folder: Path, module: str, version: str | None = None) -> Path:
    """A regular package `module` in `folder`, with its dist-info when `version` is given."""
    (folder / module).mkdir(parents=True, exist_ok=True)
    (folder / module / "__init__.py").write_text("")
    if version:
        write_dist(folder, module, version)
    return folder


def copies_results(
    path: list[Path], cwd: Path, *, pythonpath: list[Path] = (), user_site: Path | None = None,
    environ: dict[str, str] | None = None,
) -> list[CheckResult]:  # fmt: skip
    installed = scan([str(p) for p in path])
    found = loading.observe_copies(
        [str(p) for p in path],
        str(cwd),
        loading.import_names(installed),
        pythonpath=[str(p) for p in pythonpath],
        user_site=str(user_site) if user_site else None,
    )
    return loading.check_copies(found, environ or {})


def test_a_torch_checkout_in_the_current_folder_hides_the_installed_one(tmp_path: Path) -> None:
    site = package(tmp_path / "site-packages", "torch", "2.13.0")
    here = package(tmp_path / "pytorch", "torch")
    (result,) = copies_results([site], here)
    assert (result.id, result.status) == ("loading.torch", Status.WARN)
    assert result.summary == (
        f"torch imports from {here} (the current folder, no metadata), which hides {site} "
        "(site-packages, 2.13.0)"
    )
    assert result.fix is not None and result.fix.startswith("run Python from another folder")


def test_a_folder_only_named_like_a_package_hides_nothing(tmp_path: Path) -> None:
    site = package(tmp_path / "site-packages", "torch", "2.13.0")
    (tmp_path / "work" / "torch").mkdir(parents=True)  # no __init__.py: a namespace portion
    assert copies_results([site], tmp_path / "work") == []


def test_a_copy_on_pythonpath_gets_the_pythonpath_without_it(tmp_path: Path) -> None:
    site = package(tmp_path / "site-packages", "mpmath", "1.3.0")
    extra = package(tmp_path / "extra", "mpmath")
    keep = tmp_path / "keep"
    keep.mkdir()
    environ = {"PYTHONPATH": f"{extra}:{keep}"}
    (result,) = copies_results(
        [extra, keep, site], tmp_path, pythonpath=[extra, keep], environ=environ
    )
    assert result.summary.startswith(f"mpmath imports from {extra} (PYTHONPATH, no metadata)")
    assert result.fix == f"export PYTHONPATH={keep}"
    (alone,) = copies_results(
        [extra, site], tmp_path, pythonpath=[extra], environ={"PYTHONPATH": str(extra)}
    )
    assert alone.fix == "unset PYTHONPATH"


def test_a_user_site_torch_before_the_environments_is_uninstalled_first(tmp_path: Path) -> None:
    user = package(tmp_path / ".local" / "lib" / "python3.11" / "site-packages", "torch", "2.1.0")
    env = package(tmp_path / "env" / "lib" / "python3.11" / "site-packages", "torch", "2.13.0")
    (result,) = copies_results([user, env], tmp_path / "env", user_site=user)
    assert result.summary == (
        f"torch imports from {user} (the user site, 2.1.0), which hides {env} (site-packages, "
        "2.13.0)"
    )
    assert result.fix == (
        "python -m pip uninstall -y torch  # removes the user-site copy, the first one; or: "
        "export PYTHONNOUSERSITE=1"
    )
    assert result.data["copies"][0] == {
        "folder": str(user),
        "origin": "the user site",
        "distribution": "torch",
        "version": "2.1.0",
    }


def test_two_site_packages_and_a_bare_copy(tmp_path: Path) -> None:
    first = package(tmp_path / "a" / "site-packages", "numpy", "2.4.6")
    second = package(tmp_path / "b" / "site-packages", "numpy", "1.26.4")
    (result,) = copies_results([first, second], tmp_path)
    assert result.fix == (
        f"python -m pip uninstall -y numpy  # removes the copy in {first}, the first one"
    )
    bare = package(tmp_path / "build" / "lib", "numpy")
    (bare_result,) = copies_results([bare, first], tmp_path)
    assert bare_result.fix == (
        f"mv {bare / 'numpy'} {bare / 'numpy'}.disabled  # pip does not know this copy"
    )


def test_conda_and_pip_torch_in_one_environment(tmp_path: Path) -> None:
    prefix = tmp_path / "envs" / "llm"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / "pytorch-2.5.1-py3.11_cuda12.4_cudnn9.1.0_0.json").write_text("{}")
    (prefix / "conda-meta" / "python-3.11.10-h2d4b2d8_0.json").write_text("{}")
    site = prefix / "lib" / "python3.11" / "site-packages"
    write_torch(site, "2.13.0+cu128", "12.8")
    installed = scan([str(site)])
    torch_dist = installed.get("torch")
    assert torch_dist is not None
    conda = loading.observe_conda(prefix)
    assert conda == [loading.CondaPackage("pytorch", "2.5.1", "py3.11_cuda12.4_cudnn9.1.0_0")]
    result = loading.check_conda_torch(
        conda, torch_dist, loading._installer(torch_dist), installed.torch, str(prefix)
    )
    assert result is not None and result.status is Status.FAIL
    assert result.summary == (
        f"conda's pytorch 2.5.1 and torch 2.13.0+cu128 installed by pip share {prefix}: each "
        "overwrote the other's files"
    )
    assert result.fix == (
        "conda remove -y --force-remove pytorch && python -m pip install --force-reinstall "
        "--no-deps torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
    )
    (torch_dist_folder := site / "torch-2.13.0+cu128.dist-info").joinpath("INSTALLER").write_text(
        "conda\n"
    )
    assert torch_dist_folder.is_dir()
    assert (
        loading.check_conda_torch(conda, torch_dist, "conda", installed.torch, str(prefix)) is None
    )
    assert loading.observe_conda(tmp_path / "no-conda") == []


# --- torch's CUDA libraries -------------------------------------------------------------------


def library_results(site: Path, environ: dict[str, str], root: Path) -> dict[str, CheckResult]:
    installed = scan([str(site)])
    torch_dist = installed.get("torch")
    assert torch_dist is not None
    found = loading.observe_libraries(
        installed.torch, installed, environ, root, torch_dist.requires
    )
    return {r.id: r for r in loading.check_libraries(found, installed.torch, environ)}


def test_a_cuda_torch_with_its_own_libraries_is_ok(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    write_cuda_torch(site)
    results = library_results(site, {}, tmp_path / "root")
    (ok,) = results.values()
    assert ok.id == "loading.libraries" and ok.status is Status.OK
    assert ok.summary == (
        "torch 2.14.1+cu130 loads its own libcudart.so.13, libnccl.so.2, libcublas.so.13, "
        "libcublasLt.so.13, libcudnn.so.9 (from its nvidia-* wheels)"
    )
    assert "libcudnn.so.9: nvidia-cudnn-cu13 9.24.0.43 (rpath)" in ok.details


def test_an_ld_library_path_cudnn_is_what_its_sub_libraries_load(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    write_cuda_torch(site)
    toolkit = tmp_path / "usr" / "local" / "cuda-12.4" / "lib64"
    make_lib(toolkit, "libcudnn.so.9.1.0", "libcudnn.so.9")
    results = library_results(site, {"LD_LIBRARY_PATH": str(toolkit)}, tmp_path / "root")
    cudnn = results["loading.libcudnn.so.9"]
    assert cudnn.status is Status.WARN
    assert cudnn.summary == (
        f"LD_LIBRARY_PATH holds another libcudnn.so.9 ({toolkit / 'libcudnn.so.9'}, 9.1.0) than "
        "torch's own (nvidia-cudnn-cu13 9.24.0.43): libraries without torch's RPATH load that one"
    )
    assert cudnn.fix == "unset LD_LIBRARY_PATH"
    assert results["loading.libraries"].status is Status.OK  # the other four are torch's own


def test_a_runpath_torch_loads_the_ld_library_path_copy(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    write_cuda_torch(site, rpath=None, runpath="$ORIGIN/../../nvidia/cudnn/lib:$ORIGIN")
    toolkit = tmp_path / "cuda" / "lib64"
    make_lib(toolkit, "libcudnn.so.9.1.0", "libcudnn.so.9")
    other = tmp_path / "other"
    other.mkdir()
    environ = {"LD_LIBRARY_PATH": f"{toolkit}:{other}"}
    cudnn = library_results(site, environ, tmp_path / "root")["loading.libcudnn.so.9"]
    assert cudnn.status is Status.FAIL
    assert cudnn.summary == (
        f"torch loads libcudnn.so.9 from {toolkit / 'libcudnn.so.9'} (9.1.0) through "
        "LD_LIBRARY_PATH, not its own (nvidia-cudnn-cu13 9.24.0.43)"
    )
    assert cudnn.fix == f"export LD_LIBRARY_PATH={other}"


@pytest.mark.skipif(LDCONFIG is None, reason="glibc's ldconfig is not here")
def test_a_missing_wheel_falls_back_to_the_systems_copy(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    write_cuda_torch(site, wheels=["nvidia-nccl-cu13", "nvidia-cublas", "nvidia-cuda-runtime"])
    root = tmp_path / "root"
    system = root / "usr" / "lib" / "x86_64-linux-gnu"
    make_lib(system, "libcudnn.so.9.8.0", "libcudnn.so.9")
    ldconfig_cache(root, system)  # root/etc/ld.so.cache
    cudnn = library_results(site, {}, root)["loading.libcudnn.so.9"]
    assert cudnn.status is Status.FAIL
    assert cudnn.summary == (
        f"torch loads libcudnn.so.9 from {system / 'libcudnn.so.9'} (9.8.0, found through "
        "ld.so.cache): its own (nvidia-cudnn-cu13) is missing"
    )
    assert cudnn.fix == "python -m pip install nvidia-cudnn-cu13==9.24.0.43"
    shutil.rmtree(system)
    (root / "etc" / "ld.so.cache").unlink()
    gone = library_results(site, {}, root)["loading.libcudnn.so.9"]
    assert gone.summary.startswith("torch needs libcudnn.so.9 and it is nowhere")


def test_a_cpu_torch_loads_no_cuda_libraries(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cpu", None)
    (result,) = library_results(tmp_path, {}, tmp_path).values()
    assert result.status is Status.SKIP
    assert result.summary == "torch 2.13.0+cpu is a CPU-only build: it loads no CUDA libraries"


def test_collect_reports_a_clean_path_once(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    write_torch(site, "2.13.0+cpu", None)
    ctx = Context(DoctorOptions(environ={}, cwd=tmp_path, seams=Seams(sys_path=(str(site),))))
    results = {r.id: r.status for r in loading.collect(ctx)}
    assert results == {"loading.imports": Status.OK, "loading.libraries": Status.SKIP}
