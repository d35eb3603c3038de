"""The labels, tags and release rules of chatenv.extension_builds, on names real wheels carry
(each case says where it was seen)."""

from __future__ import annotations

import pytest

from chatenv import extension_builds as eb
from chatenv.installed import TorchBuild
from chatenv.system.nvml import CudaVersion


@pytest.mark.parametrize(
    ("version", "cuda", "torch", "cpu", "rocm", "abi"),
    [
        # flash-attn's GitHub release wheels (setup.py get_wheel_url)
        ("2.7.4.post1+cu12torch2.6cxx11abiFALSE", "12", "2.6", False, None, False),
        ("2.8.3+cu12torch2.8cxx11abiTRUE", "12", "2.8", False, None, True),
        ("2.7.4+rocm62torch2.6cxx11abiTRUE", None, "2.6", False, "62", True),
        # PyTorch's index (torchvision/version.py of the PyPI wheel says +cu130)
        ("0.28.0+cu130", "13.0", None, False, None, None),
        ("0.28.0+cpu", None, None, True, None, None),
        ("2.5.1+rocm6.2", None, None, False, "6.2", None),
        # PyG's wheels (data.pyg.org)
        ("2.1.2+pt25cu124", "12.4", "2.5", False, None, None),
        ("0.4.0+pt210cu128", "12.8", "2.10", False, None, None),
    ],
)
def test_labels_say_what_the_build_was_made_for(
    version: str, cuda: str | None, torch: str | None, cpu: bool, rocm: str | None, abi: bool | None
) -> None:
    label = eb.parse_label(version)
    assert label is not None and label.says_something
    assert (label.cuda, label.torch, label.cpu, label.rocm, label.cxx11abi) == (
        cuda,
        torch,
        cpu,
        rocm,
        abi,
    )


def test_no_label_is_none() -> None:
    assert eb.parse_label("0.28.0") is None


def test_the_version_in_a_wheel_url() -> None:
    url = (
        "https://github.com/Dao-AILab/flash-attention/releases/download/v2.7.4.post1/"
        "flash_attn-2.7.4.post1+cu12torch2.6cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"
    )
    assert eb.wheel_file_version(url) == "2.7.4.post1+cu12torch2.6cxx11abiFALSE"
    assert eb.wheel_file_version("file:///home/me/flash-attention") is None


@pytest.mark.parametrize(
    ("tags", "glibc"),
    [
        (["cp311-cp311-manylinux_2_28_x86_64"], (2, 28)),
        # a compressed tag set: the wheel installs where either fits
        (["cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"], (2, 17)),
        (["cp38-abi3-manylinux1_x86_64", "cp38-abi3-manylinux_2_31_x86_64"], (2, 5)),
        (["cp311-cp311-linux_x86_64"], None),  # built here: no promise
        (["cp311-cp311-musllinux_1_2_x86_64"], None),
    ],
)
def test_wheel_tags_promise_the_oldest_glibc_of_any_tag(
    tags: list[str], glibc: tuple[int, int] | None
) -> None:
    found = eb.tag_glibc(tags)
    assert (found[0] if found else None) == glibc


def test_system_glibc_text() -> None:
    assert eb.parse_glibc("glibc 2.36") == (2, 36)
    assert eb.glibc_text((2, 5)) == "2.5"


@pytest.mark.parametrize(
    ("soname", "major", "cuda", "bundled"),
    [
        ("libcudart.so.12", 12, True, False),
        ("libcublasLt.so.13", 13, True, False),
        ("libcudart.faf08d9a.so.13", 13, True, True),  # torchvision.libs in the PyPI wheel
        ("libnvrtc.so.12", 12, True, False),
        ("libcudnn.so.9", None, True, False),  # cuDNN's own number, not CUDA's
        ("libnccl.so.2", None, True, False),
        ("libtorch_cuda.so", None, True, False),
        ("libc10.so", None, False, False),
        ("libpng16.1c0b398e.so.16", None, False, True),
    ],
)
def test_cuda_libraries_and_their_majors(
    soname: str, major: int | None, cuda: bool, bundled: bool
) -> None:
    assert eb.runtime_major(soname) == major
    assert eb.is_cuda_library(soname) is cuda
    assert eb.is_bundled(soname) is bundled


def test_torchvision_and_torchaudio_releases_for_a_torch() -> None:
    assert eb.matching_version("torchvision", "2.13.0") == "0.28.0"  # its metadata pins 2.13.0
    assert eb.matching_version("torchvision", "2.5.1") == "0.20.1"
    assert eb.matching_version("torchaudio", "2.5.1+cu124") == "2.5.1"
    assert eb.matching_version("torchvision", "2.0.1") is None  # 0.15.2: no rule before 2.1
    assert eb.matching_version("xformers", "2.13.0") is None


def _build(version: str, cuda: str | None = None, hip: str | None = None) -> TorchBuild:
    return TorchBuild(version, CudaVersion.parse(cuda) if cuda else None, hip)


def test_pytorch_index_and_pyg_page_follow_torchs_variant() -> None:
    assert eb.pytorch_index(_build("2.13.0+cpu")) == "https://download.pytorch.org/whl/cpu"
    assert eb.pytorch_index(_build("2.13.0", "13.0")) == "https://download.pytorch.org/whl/cu130"
    assert eb.pytorch_index(_build("2.5.1+rocm6.2", hip="6.2.41133")) == (
        "https://download.pytorch.org/whl/rocm6.2"
    )
    assert eb.pyg_page(_build("2.5.1+cu124", "12.4")) == (
        "https://data.pyg.org/whl/torch-2.5.0+cu124.html"
    )


def test_bitsandbytes_picks_as_its_cextension_does() -> None:
    files = [
        "bitsandbytes/libbitsandbytes_cpu.so",
        "bitsandbytes/libbitsandbytes_cuda118.so",
        "bitsandbytes/libbitsandbytes_cuda126.so",
        "bitsandbytes/libbitsandbytes_cuda128.so",
    ]
    shipped = eb.bnb_versions(files)
    assert sorted(shipped) == [(11, 8), (12, 6), (12, 8)]
    assert eb.bnb_pick(shipped, (12, 8), "0.45.0") == (12, 8)
    assert eb.bnb_pick(shipped, (12, 9), "0.50.1") == (12, 8)  # newest lower minor
    assert eb.bnb_pick(shipped, (12, 1), "0.50.1") == (12, 6)  # else the oldest higher one
    assert eb.bnb_pick(shipped, (12, 9), "0.45.0") is None  # before 0.50: the exact one only
    assert eb.bnb_pick(shipped, (13, 0), "0.50.1") is None  # never another major
    assert eb.bnb_versions(["bitsandbytes/libbitsandbytes_rocm72.so"], "rocm") == {
        (7, 2): "bitsandbytes/libbitsandbytes_rocm72.so"
    }


def test_names_that_say_cuda() -> None:
    assert eb.maybe_cuda_linked("cupy-cuda12x") and eb.maybe_cuda_linked("onnxruntime-gpu")
    assert eb.maybe_cuda_linked("jax-cuda12-plugin")
    assert not eb.maybe_cuda_linked("nvidia-cudnn-cu12") and not eb.maybe_cuda_linked("rich")
