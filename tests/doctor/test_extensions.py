"""The extensions section: installed compiled packages built for real in tmp_path (dist-info,
RECORD, WHEEL tags, direct_url.json, build files, ELF shared objects), read by `observe`, and
judged by `check_extension` against a torch handed in as facts."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

import pytest

from chatenv.doctor import extensions as ext
from chatenv.doctor.context import Context, DoctorOptions
from chatenv.installed import TorchBuild, scan
from chatenv.results import Status
from chatenv.system.nvml import CudaVersion
from chatenv.system.seams import Seams
from tests.ext_sites import write_extension
from tests.sites import NOT_IMPORTABLE, write_dist, write_torch

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.results import CheckResult

GLIBC = (2, 36)
LIBC = {"libc.so.6": ["GLIBC_2.2.5", "GLIBC_2.17"]}


def torch(version: str = "2.13.0+cpu", cuda: str | None = None, **kw: object) -> ext.TorchFacts:
    build = TorchBuild(version, CudaVersion.parse(cuda) if cuda else None, path="/x/version.py")
    return ext.TorchFacts(build, **kw)  # type: ignore[arg-type]


def facts(site: Path, name: str) -> ext.ExtensionFacts:
    installed = scan([str(site)])
    for dist, module, kind in ext.candidates(installed):
        if dist.name == name:
            found = ext.observe(dist, module, kind, installed.get("torch"))
            assert found is not None
            return found
    raise AssertionError(f"{name} is not a candidate")


def verdict(
    site: Path,
    name: str,
    against: ext.TorchFacts,
    glibc: tuple[int, int] | None = GLIBC,
    environ: dict[str, str] | None = None,
) -> CheckResult:
    return ext.check_extension(facts(site, name), against, glibc, environ or {})


def so(
    *needed: str, versions: dict[str, list[str]] | None = None, **kw: object
) -> dict[str, object]:
    return {"needed": [*needed, "libc.so.6"], "versions": versions or LIBC, **kw}


def test_a_package_pinned_to_another_torch_fails_with_the_matching_release(tmp_path: Path) -> None:
    write_extension(
        tmp_path,
        "vllm",
        "0.9.2",
        requires=["torch==2.7.0", "transformers>=4.51"],
        objects={"vllm/_C.abi3.so": so("libtorch.so", "libc10.so", "libcudart.so.12")},
    )
    result = verdict(tmp_path, "vllm", torch("2.13.0", "12.8"))
    assert result.status is Status.FAIL
    assert result.summary == (
        "vllm 0.9.2 is built for torch 2.7.0 (its metadata requires torch==2.7.0), but torch "
        "2.13.0 is installed: importing it fails with 'undefined symbol' or missing operators"
    )
    assert result.fix == "python -m pip install --upgrade vllm torch==2.13.0"
    assert result.data["torch_requirement"] == "torch==2.7.0"
    assert result.data["cuda_runtimes"] == [12]


def test_torchvision_for_cuda_beside_a_cpu_torch_fails_with_the_cpu_wheel(tmp_path: Path) -> None:
    # the layout of PyPI's torchvision-0.28.0-cp311-cp311-manylinux_2_28_x86_64.whl
    write_extension(
        tmp_path,
        "torchvision",
        "0.28.0",
        requires=["numpy", "torch (==2.13.0)", "pillow (!=8.3.*,>=5.3.0)"],
        objects={
            "torchvision/_C.so": so(
                "libc10.so", "libtorch.so", "libcudart.so.13", "libtorch_cuda.so"
            ),
            "torchvision/image.so": so("libcudart.faf08d9a.so.13", "libc10.so"),
            "torchvision.libs/libcudart.faf08d9a.so.13": so(),
        },
        files={"torchvision/version.py": "__version__ = '0.28.0+cu130'\n"},
    )
    result = verdict(tmp_path, "torchvision", torch())
    assert result.status is Status.FAIL
    assert result.summary == (
        "torchvision 0.28.0 is a CUDA 13 build (libcudart.so.13 in torchvision/_C.so), but "
        "torch 2.13.0+cpu is a CPU-only build: importing it fails"
    )
    assert result.fix == (
        "python -m pip install --force-reinstall --no-deps torchvision==0.28.0 "
        "--index-url https://download.pytorch.org/whl/cpu"
    )
    assert "built for torch 2.13.0: its metadata requires torch==2.13.0" in result.details


def test_a_cpu_build_beside_a_cuda_torch_warns(tmp_path: Path) -> None:
    write_extension(
        tmp_path,
        "torchvision",
        "0.28.0+cpu",
        requires=["torch==2.13.0"],
        objects={"torchvision/_C.so": so("libc10.so", "libtorch_cpu.so")},
    )
    result = verdict(tmp_path, "torchvision", torch("2.13.0+cu130", "13.0"))
    assert result.status is Status.WARN
    assert result.summary.startswith(
        "torchvision 0.28.0+cpu is a CPU-only build (its version +cpu)"
    )
    assert result.fix is not None and result.fix.endswith(
        "--index-url https://download.pytorch.org/whl/cu130"
    )


def test_a_wheel_for_a_newer_glibc_fails_by_its_tag_or_its_symbols(tmp_path: Path) -> None:
    write_extension(
        tmp_path,
        "vllm",
        "0.8.5",
        requires=["torch==2.13.0"],
        objects={"vllm/_C.abi3.so": so("libc10.so")},
        tag="cp38-abi3-manylinux_2_99_x86_64",
    )
    tagged = verdict(tmp_path, "vllm", torch())
    assert tagged.status is Status.FAIL
    assert tagged.summary == (
        "vllm 0.8.5 needs glibc 2.99 (its wheel tag manylinux_2_99_x86_64); this system has "
        "glibc 2.36"
    )
    assert tagged.fix is not None and "glibc 2.99 or newer" in tagged.fix

    # vllm-project/vllm#41103: the tag says 2.31, a symbol needs 2.34
    other = tmp_path / "other"
    write_extension(
        other,
        "vllm",
        "0.10.0",
        requires=["torch==2.13.0"],
        objects={"vllm/_C.abi3.so": so("libc10.so", versions={"libc.so.6": ["GLIBC_2.34"]})},
        tag="cp38-abi3-manylinux_2_31_x86_64",
    )
    symbols = verdict(other, "vllm", torch(), glibc=(2, 31))
    assert symbols.summary == (
        "vllm 0.10.0 needs glibc 2.34 (GLIBC_2.34 in vllm/_C.abi3.so, though its wheel tag says "
        "manylinux_2_31_x86_64); this system has glibc 2.31"
    )
    assert verdict(other, "vllm", torch(), glibc=(2, 39)).status is Status.OK


def test_flash_attn_from_a_release_wheel_for_another_torch_fails_with_a_rebuild(
    tmp_path: Path,
) -> None:
    url = (
        "https://github.com/Dao-AILab/flash-attention/releases/download/v2.7.4.post1/"
        "flash_attn-2.7.4.post1+cu12torch2.6cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"
    )
    write_extension(
        tmp_path,
        "flash-attn",
        "2.7.4.post1",
        requires=["torch", "einops"],
        objects={
            "flash_attn_2_cuda.cpython-311-x86_64-linux-gnu.so": so(
                "libc10.so", "libtorch.so", "libcudart.so.12", "libc10_cuda.so"
            )
        },
        tag="cp311-cp311-linux_x86_64",
        direct_url={"url": url, "archive_info": {"hash": "sha256=00"}},
    )
    result = verdict(tmp_path, "flash-attn", torch("2.13.0+cu128", "12.8", cxx11_abi=True))
    assert result.status is Status.FAIL
    assert result.summary.startswith(
        "flash-attn 2.7.4.post1 is built for torch 2.6 (direct_url.json +cu12torch2.6cxx11abiFALSE)"
    )
    # the release wheel's URL would give the same build back: the fix builds for this torch
    assert result.fix == (
        "python -m pip install --no-build-isolation --no-cache-dir --force-reinstall --no-deps "
        "flash-attn==2.7.4.post1"
    )
    assert any("pre-C++11 ABI (cxx11abiFALSE)" in d for d in result.details)

    abi_only = verdict(tmp_path, "flash-attn", torch("2.6.0+cu124", "12.4", cxx11_abi=True))
    assert abi_only.summary == (
        "flash-attn 2.7.4.post1 is built with the pre-C++11 ABI (cxx11abiFALSE) (direct_url.json "
        "+cu12torch2.6cxx11abiFALSE); torch 2.6.0+cu124 uses the C++11 ABI (cxx11abiTRUE): "
        "importing it fails with 'undefined symbol'"
    )
    assert verdict(
        tmp_path, "flash-attn", torch("2.6.0+cu124", "12.4", cxx11_abi=False)
    ).status is (Status.OK)


def test_xformers_built_for_another_cuda_fails_from_its_cpp_lib_json(tmp_path: Path) -> None:
    cpp_lib = (
        '{"version": {"cuda": 1201, "hip": null, "torch": "2.1.0+cu121", "python": "3.11.5"}, '
        '"env": {"TORCH_CUDA_ARCH_LIST": "8.0 9.0"}}'
    )
    write_extension(
        tmp_path,
        "xformers",
        "0.0.23",
        requires=["numpy", "torch==2.1.0"],
        objects={"xformers/_C.so": so("libc10.so", "libtorch.so")},
        files={"xformers/cpp_lib.json": cpp_lib},
    )
    cuda13 = verdict(tmp_path, "xformers", torch("2.1.0+cu130", "13.0"))
    assert cuda13.status is Status.FAIL
    assert cuda13.summary == (
        "xformers 0.0.23 is built for CUDA 12.0 (xformers/cpp_lib.json), but torch 2.1.0+cu130 "
        "uses CUDA 13.0: its kernels need a second CUDA runtime, and importing it usually fails"
    )
    assert cuda13.fix == (
        "python -m pip install --upgrade xformers torch==2.1.0 "
        "--index-url https://download.pytorch.org/whl/cu130"
    )
    newer = verdict(tmp_path, "xformers", torch("2.1.2+cu121", "12.1"))
    assert newer.summary.startswith(
        "xformers 0.0.23 is built for torch 2.1.0 (its metadata requires torch==2.1.0)"
    )
    assert any("xformers/cpp_lib.json says torch 2.1.0+cu121" in d for d in newer.details)


def test_bitsandbytes_without_a_library_for_torchs_cuda_fails(tmp_path: Path) -> None:
    libs = {f"bitsandbytes/libbitsandbytes_{v}.so": so() for v in ("cpu", "cuda118", "cuda126")}
    write_extension(tmp_path, "bitsandbytes", "0.45.5", requires=["torch>=2.0"], objects=libs)
    missing = verdict(tmp_path, "bitsandbytes", torch("2.13.0+cu130", "13.0"))
    assert missing.status is Status.FAIL
    assert missing.summary == (
        "bitsandbytes 0.45.5 has no library for torch's CUDA 13.0 (it ships CUDA 11.8, 12.6)"
    )
    assert missing.fix == "python -m pip install --upgrade bitsandbytes"
    assert verdict(tmp_path, "bitsandbytes", torch("2.13.0+cu126", "12.6")).status is Status.OK
    override = verdict(
        tmp_path, "bitsandbytes", torch("2.13.0+cu126", "12.6"), environ={"BNB_CUDA_VERSION": "125"}
    )
    assert override.summary == (
        "BNB_CUDA_VERSION=125 makes bitsandbytes 0.45.5 load libbitsandbytes_cuda125, which it "
        "does not ship (it ships 11.8, 12.6)"
    )
    assert override.fix == "unset BNB_CUDA_VERSION"
    assert verdict(tmp_path, "bitsandbytes", torch()).status is Status.OK  # the CPU library


def test_a_triton_torch_was_not_built_with_fails(tmp_path: Path) -> None:
    write_extension(
        tmp_path, "triton", "3.4.0", objects={"triton/_C/libtriton.so": so("libz.so.1")}
    )
    pins = ('triton~=3.8.0; platform_system == "Linux" and python_version < "3.15"',)
    result = verdict(tmp_path, "triton", torch("2.14.1+cu130", "13.0", requires=pins))
    assert result.status is Status.FAIL
    assert result.summary == (
        "torch 2.14.1+cu130 requires triton~=3.8.0, but triton 3.4.0 is installed: "
        "torch.compile and Triton kernels fail"
    )
    assert result.fix == "python -m pip install 'triton~=3.8.0'"


def test_a_source_build_older_than_torch_warns_with_a_rebuild(tmp_path: Path) -> None:
    folder = write_extension(
        tmp_path,
        "causal-conv1d",
        "1.5.0",
        requires=["torch", "packaging"],
        objects={"causal_conv1d_cuda.cpython-311-x86_64-linux-gnu.so": so("libc10.so")},
        tag="cp311-cp311-linux_x86_64",
    )
    write_torch(tmp_path, "2.13.0+cpu", None)
    hour_ago = time.time() - 3600
    os.utime(folder, (hour_ago, hour_ago))
    result = verdict(tmp_path, "causal-conv1d", torch())
    assert result.status is Status.WARN
    assert result.summary.startswith(
        "causal-conv1d 1.5.0 is built against libtorch, says nothing of which torch, and torch "
        "2.13.0+cpu was installed after it"
    )
    assert result.fix == (
        "python -m pip install --no-build-isolation --no-cache-dir --force-reinstall --no-deps "
        "causal-conv1d==1.5.0"
    )
    os.utime(folder, None)  # installed after torch: nothing to say
    assert verdict(tmp_path, "causal-conv1d", torch()).status is Status.OK


def test_a_shared_object_record_lists_but_is_gone_warns(tmp_path: Path) -> None:
    write_extension(
        tmp_path,
        "torchaudio",
        "2.13.0",
        requires=["torch==2.13.0"],
        objects={"torchaudio/lib/libtorchaudio.so": so("libc10.so")},
    )
    (tmp_path / "torchaudio" / "lib" / "libtorchaudio.so").unlink()
    result = verdict(tmp_path, "torchaudio", torch())
    assert result.status is Status.WARN
    assert result.summary == (
        "torchaudio 2.13.0: 1 of its shared objects cannot be read "
        "(torchaudio/lib/libtorchaudio.so: No such file or directory)"
    )


def test_a_matching_build_is_ok_and_pure_python_packages_are_not_extensions(
    tmp_path: Path,
) -> None:
    write_extension(
        tmp_path,
        "torchaudio",
        "2.13.0+cpu",
        requires=["torch==2.13.0"],
        objects={"torchaudio/lib/libtorchaudio.so": so("libc10.so", "libtorch_cpu.so")},
    )
    write_dist(tmp_path, "accelerate", "1.15.0", requires=["torch>=2.0.0"])
    write_dist(tmp_path, "peft", "0.17.0", requires=["torch>=1.13"], files={"peft/__init__.py": ""})
    result = verdict(tmp_path, "torchaudio", torch())
    assert result.status is Status.OK
    assert result.summary == (
        "torchaudio 2.13.0+cpu (a CPU-only build, built for torch 2.13.0): fits torch 2.13.0+cpu"
    )
    installed = scan([str(tmp_path)])
    names = [d.name for d, _, _ in ext.candidates(installed)]
    assert sorted(names) == ["accelerate", "peft", "torchaudio"]  # read their RECORD only
    read = [ext.observe(d, m, k) for d, m, k in ext.candidates(installed)]
    assert [f.name for f in read if f is not None] == ["torchaudio"]


def test_two_cuda_runtimes_warn_and_an_unrequired_one_can_go(tmp_path: Path) -> None:
    write_extension(
        tmp_path,
        "cupy-cuda12x",
        "13.6.0",
        objects={"cupy/_core/core.cpython-311-x86_64-linux-gnu.so": so("libcudart.so.12")},
    )
    write_dist(tmp_path, "nvidia-cuda-runtime-cu12", "12.8.90")
    installed = scan([str(tmp_path)])
    found = [f for d, m, k in ext.candidates(installed) if (f := ext.observe(d, m, k))]
    cuda13 = torch("2.14.1+cu130", "13.0")
    results = {r.id: r for r in ext.check_extensions(found, cuda13, installed, GLIBC, {})}
    assert results["extensions.cupy-cuda12x"].status is Status.OK
    runtimes = results["extensions.cuda-runtimes"]
    assert runtimes.status is Status.WARN
    assert runtimes.summary == (
        "2 CUDA runtimes in one environment: CUDA 12: nvidia-cuda-runtime-cu12 12.8.90, "
        "cupy-cuda12x 13.6.0; CUDA 13: torch 2.14.1+cu130"
    )
    assert runtimes.fix == (
        "python -m pip uninstall -y nvidia-cuda-runtime-cu12  # nothing installed requires them"
    )
    write_dist(tmp_path, "cuda-python", "12.9.0", requires=["nvidia-cuda-runtime-cu12"])
    installed = scan([str(tmp_path)])
    required = ext.check_cuda_runtimes(found, installed, cuda13.build)
    assert required is not None and required.fix is None


def test_nothing_compiled_is_one_skip(tmp_path: Path) -> None:
    write_dist(tmp_path, "rich", "15.0.0")
    (result,) = ext.check_extensions([], torch(), scan([str(tmp_path)]), GLIBC, {})
    assert result.id == "extensions.none" and result.status is Status.SKIP


def test_collect_reads_the_path_it_is_given(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cpu", None)
    write_extension(
        tmp_path,
        "torchvision",
        "0.29.0",
        requires=["torch==2.14.0"],
        objects={"torchvision/_C.so": so("libc10.so", "libtorch_cpu.so")},
    )
    ctx = Context(DoctorOptions(environ={}, cwd=tmp_path, seams=Seams(sys_path=(str(tmp_path),))))
    (result,) = ext.collect(ctx)
    assert result.id == "extensions.torchvision" and result.status is Status.FAIL
    assert result.fix == (
        "python -m pip install --force-reinstall --no-deps torchvision==0.28.0 "
        "--index-url https://download.pytorch.org/whl/cpu"
    )


# --- --deep: the child that imports each one ----------------------------------------------------


def test_the_import_child_reports_each_module_and_survives_one_that_crashes(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    write_dist(site, "torch", "2.13.0", files={"torch/__init__.py": NOT_IMPORTABLE})
    (site / "good").mkdir()
    (site / "good" / "__init__.py").write_text("import warnings\nwarnings.warn('fine')\n")
    (site / "broken").mkdir()
    (site / "broken" / "__init__.py").write_text(
        "raise ImportError('/site/broken/_C.so: undefined symbol: _ZN3c1017chatenv_missingEv')\n"
    )
    (site / "crash").mkdir()
    (site / "crash" / "__init__.py").write_text("import os\nos.abort()\n")
    (site / "after").mkdir()
    (site / "after" / "__init__.py").write_text("")
    env = {**os.environ, "PYTHONPATH": str(site)}
    ctx = Context(DoctorOptions(environ=env, cwd=tmp_path, seams=Seams(sys_path=(str(site),))))
    batch = ext.import_all(ctx, ["good", "broken", "crash", "after"], timeout=60)
    assert batch.torch_error is not None and "must be read, never imported" in batch.torch_error
    good, broken, crash, after = (batch.answers[m] for m in ("good", "broken", "crash", "after"))
    assert good.ok and good.warnings == ("fine",)
    assert not broken.ok and broken.error is not None and "undefined symbol" in broken.error
    assert crash.crashed == "killed by signal 6" and not crash.ok
    assert after.ok  # imported by a fresh child after the crash


def _ext(name: str = "flash-attn", module: str = "flash_attn") -> ext.ExtensionFacts:
    return ext.ExtensionFacts(name, name, "2.7.4", module, "source")


STATIC_OK = ext.CheckResult.ok("extensions.flash-attn", "fits")


@pytest.mark.parametrize(
    ("answer", "problem_summary"),
    [
        (
            ext.ImportAnswer(
                "flash_attn",
                error="ImportError: /x/flash_attn_2_cuda.so: undefined symbol: "
                "_ZN3c104cuda9SetDeviceEi",
            ),
            "import flash_attn fails: undefined symbol _ZN3c104cuda9SetDeviceEi: flash-attn was "
            "built against another torch (or CUDA)",
        ),
        (
            ext.ImportAnswer(
                "flash_attn",
                error="ImportError: libcudart.so.12: cannot open shared object file: No such file "
                "or directory",
            ),
            "import flash_attn fails: libcudart.so.12 cannot be found",
        ),
        (
            ext.ImportAnswer(
                "flash_attn", error="RuntimeError: operator torchvision::nms does not exist"
            ),
            "import flash_attn fails: RuntimeError: operator torchvision::nms does not exist: its "
            "compiled operators did not load (a build for another torch or CUDA)",
        ),
        (
            ext.ImportAnswer(
                "flash_attn",
                error="RuntimeError: CUDA error: no kernel image is available for execution on "
                "the device",
            ),
            "import flash_attn fails: no kernel image is available for this GPU: flash-attn was "
            "built without its architecture",
        ),
        (
            ext.ImportAnswer(
                "flash_attn",
                error="ImportError: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not "
                "found (required by /x/_C.abi3.so)",
            ),
            "import flash_attn fails: ImportError: /lib/x86_64-linux-gnu/libc.so.6: version "
            "`GLIBC_2.34' not found (required by /x/_C.abi3.so)",
        ),
        (
            ext.ImportAnswer(
                "flash_attn",
                ok=True,
                warnings=(
                    "WARNING[XFORMERS]: xFormers can't load C++/CUDA extensions. xFormers was "
                    "built for:\n    PyTorch 2.1.0+cu121 with CUDA 1201 (you have 2.1.0+cpu)",
                ),
            ),
            "import flash_attn works, but its compiled part did not load: WARNING[XFORMERS]: "
            "xFormers can't load C++/CUDA extensions. xFormers was built for:",
        ),
        (
            ext.ImportAnswer("flash_attn", timed_out=True),
            "importing flash_attn did not finish within 90s",
        ),
        (
            ext.ImportAnswer("flash_attn", crashed="killed by signal 11"),
            "importing flash_attn killed the process (killed by signal 11)",
        ),
        (
            ext.ImportAnswer("flash_attn", error="ValueError: odd"),
            "import flash_attn fails: ValueError: odd",
        ),
    ],
)
def test_what_the_import_did_becomes_the_verdict(
    answer: ext.ImportAnswer, problem_summary: str
) -> None:
    result = ext.check_import(_ext(), answer, STATIC_OK)
    assert result.id == "extensions.flash-attn.import"
    assert result.summary == problem_summary
    assert result.status in (Status.FAIL, Status.WARN)


def test_a_clean_import_is_ok_and_a_static_fix_is_kept() -> None:
    fine = ext.check_import(
        _ext(), ext.ImportAnswer("flash_attn", ok=True, seconds=1.25), STATIC_OK
    )
    assert (fine.status, fine.summary) == (Status.OK, "import flash_attn works (1.2 s)")
    static = ext.CheckResult.fail("extensions.flash-attn", "x", fix="the static fix")
    failed = ext.check_import(
        _ext(), ext.ImportAnswer("flash_attn", error="ImportError: y"), static
    )
    assert failed.fix == "the static fix" and failed.data["static"] == "fail"


def test_the_fix_never_carries_credentials_from_direct_url(tmp_path: Path) -> None:
    write_extension(
        tmp_path,
        "mamba-ssm",
        "2.2.4",
        requires=["torch"],
        objects={"selective_scan_cuda.cpython-311-x86_64-linux-gnu.so": so("libc10.so")},
        direct_url={
            "url": "https://oauth2:ghp_" + "A1b2C3d4" * 5 + "@github.com/state-spaces/mamba",
            "vcs_info": {"vcs": "git", "commit_id": "0a1b2c3"},
        },
    )
    found = facts(tmp_path, "mamba-ssm")
    assert found.direct_url == "git+https://github.com/state-spaces/mamba@0a1b2c3"
    fix = ext.install_fix(found, torch().build)
    assert "ghp_" not in fix and "oauth2" not in fix
    assert fix.endswith("git+https://github.com/state-spaces/mamba@0a1b2c3")


def test_system_glibc_is_read_without_running_anything() -> None:
    found = ext.system_glibc()
    if sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION"):
        assert found is not None and found >= (2, 17)


def test_an_unknown_package_built_against_torch_is_read_too(tmp_path: Path) -> None:
    write_extension(
        tmp_path,
        "my-kernels",
        "0.1.0",
        requires=["torch", "torchvision>=0.20"],
        objects={"my_kernels/_C.cpython-311-x86_64-linux-gnu.so": so("libc10.so")},
    )
    write_extension(
        tmp_path,
        "pinned-ops",
        "1.0.0",
        requires=["torch==2.12.1; python_version >= '3.8'"],
        objects={"pinned_ops/_C.so": so("libc10.so")},
    )
    installed = scan([str(tmp_path)])
    kinds = {d.name: (m, k) for d, m, k in ext.candidates(installed)}
    assert kinds == {"my-kernels": ("my_kernels", "source"), "pinned-ops": ("pinned_ops", "pin")}
    pinned = verdict(tmp_path, "pinned-ops", torch())
    assert pinned.status is Status.FAIL
    assert pinned.fix == "python -m pip install --upgrade pinned-ops torch==2.13.0"


def test_a_range_on_torch_says_nothing_of_the_torch_it_was_built_for(tmp_path: Path) -> None:
    folder = write_extension(
        tmp_path,
        "apex",
        "0.1",
        requires=["torch>=1.12"],
        objects={"amp_C.cpython-311-x86_64-linux-gnu.so": so("libc10.so", "libtorch.so")},
    )
    write_torch(tmp_path, "2.13.0+cpu", None)
    hour_ago = time.time() - 3600
    os.utime(folder, (hour_ago, hour_ago))
    result = verdict(tmp_path, "apex", torch())
    assert result.status is Status.WARN and "says nothing of which torch" in result.summary
    assert "its metadata requires torch>=1.12" in result.details
