"""The build table itself: every release entry names known variants, the facts the variant
choice relies on hold, and the pins never allow a torch release the table does not know."""

from __future__ import annotations

import pytest

from chatenv import torch_builds as tb
from chatenv.install.pins import load_pins
from chatenv.pep440 import SpecifierSet, Version
from chatenv.system.nvml import CudaVersion


def test_every_release_names_only_known_variants() -> None:
    known = {v.tag for v in tb.VARIANTS}
    for series, variants in tb.RELEASES.items():
        assert set(variants) <= known, series
        assert variants, series


def test_pinned_torch_range_ends_at_a_release_the_table_knows() -> None:
    torch = next(p for p in load_pins().profile("local").pins if p.name == "torch")
    newest = tb.newest_series(torch.spec)
    assert newest == "2.13"  # the release CI tests (tests install torch 2.13.0 only)
    # Raising the cap without adding the new release's variants here would fail this:
    for series in tb.known_series():
        if torch.spec.contains(f"{series}.0"):
            assert series in tb.RELEASES
            # ... and the pins only take releases whose facts are published, not assumed
            assert series not in tb.ASSUMED_ARCHES


def test_torch_2_13_ships_cu126_cu130_cu132() -> None:
    assert [v.tag for v in tb.shipped_variants("2.13")] == ["cu132", "cu130", "cu126"]
    assert tb.shipped_variants("1.13") == ()


def test_torch_2_14_ships_cu126_cu130_cu132_with_2_13s_architectures() -> None:
    """RELEASE.md (pytorch/pytorch#194367, #197555): 2.14 = 12.6 legacy, 13.0, 13.2."""
    assert [v.tag for v in tb.shipped_variants("2.14")] == ["cu132", "cu130", "cu126"]
    assert tb.RELEASES["2.14"] == tb.RELEASES["2.13"]
    assert not tb.build_facts("cu126", "2.14").assumed


def test_torch_2_15_drops_cu126_and_every_pre_turing_kernel() -> None:
    """pytorch/pytorch#190385, pytorch/test-infra#8739: no cu126 from 2.15 on, so no build of
    2.15 has Maxwell, Pascal or Volta kernels; its arch lists are assumed, and say so."""
    assert [v.tag for v in tb.shipped_variants("2.15")] == ["cu132", "cu130"]
    for tag in tb.RELEASES["2.15"]:
        facts = tb.build_facts(tag, "2.15")
        assert not any(tb.has_kernels(facts.arches, cc) for cc in ((5, 2), (6, 1), (7, 0)))
        assert facts.assumed and facts.short == "assumed: torch 2.15's arch lists are not published"


def test_a_release_newer_than_the_table_borrows_the_newest_known_facts_and_says_so() -> None:
    assert tb.newer_than_table("2.16") and tb.newer_than_table("3.0")
    assert not tb.newer_than_table("2.15") and not tb.newer_than_table("2.3")
    facts = tb.build_facts("cu132", "2.16")
    assert facts.arches == tb.RELEASES["2.15"]["cu132"]
    assert facts.assumed and facts.source == "2.15"
    assert facts.note is not None and "newer than chatenv's table" in facts.note
    # a variant the newest release dropped: the newest release that still had it
    assert tb.build_facts("cu126", "2.16").source == "2.14"


def test_a_variant_the_table_does_not_know_gets_its_cuda_majors_driver_rule() -> None:
    cu134 = tb.assumed_variant("cu134")
    assert cu134 is not None and cu134.assumed and str(cu134.cuda) == "13.4"
    assert tb.min_driver(cu134, "linux") == Version("580")
    assert cu134.arches == tb.variant("cu132").arches  # type: ignore[union-attr]
    assert tb.assumed_variant("cu140") is None  # CUDA 14's driver rule is not known
    assert tb.assumed_variant("rocm6.4") is None
    assert tb.assumed_variant("cu130") == tb.variant("cu130")


@pytest.mark.parametrize(
    ("series", "tags"),
    [
        ("2.4", []),  # pytorch/pytorch#134790: no aarch64 CUDA wheels
        ("2.6", ["cu126"]),
        ("2.7", ["cu128"]),  # CUDA_AARCH64_ARCHES = ["12.8-aarch64"]: no cu118, no cu126
        ("2.13", ["cu132", "cu130", "cu126"]),
        ("2.15", ["cu132", "cu130"]),
    ],
)
def test_aarch64_wheels_per_release(series: str, tags: list[str]) -> None:
    assert [v.tag for v in tb.shipped_variants(series, "linux", "aarch64")] == tags


def test_no_cuda_wheels_for_macos_or_windows_on_arm() -> None:
    assert tb.shipped_variants("2.13", "darwin", "arm64") == ()
    assert tb.shipped_variants("2.13", "win32", "ARM64") == ()
    assert [v.tag for v in tb.shipped_variants("2.13", "win32", "AMD64")] == [
        "cu132",
        "cu130",
        "cu126",
    ]


def test_aarch64_2_5_and_2_6_builds_are_sm_90_only() -> None:
    """build_cuda.sh's aarch64 TORCH_CUDA_ARCH_LIST="9.0" (pytorch/pytorch#140844): an A100 on
    a Grace/ARM server has no kernels in them, an H100/GH200 has."""
    assert tb.shipped_arches("cu126", "2.6", "aarch64") == ((9, 0),)
    assert tb.shipped_arches("cu124", "2.5", "aarch64") == ((9, 0),)
    assert not tb.has_kernels(tb.shipped_arches("cu126", "2.6", "aarch64"), (8, 0))
    assert tb.has_kernels(tb.shipped_arches("cu128", "2.7", "aarch64"), (8, 0))


@pytest.mark.parametrize(
    ("driver", "cuda", "ok"),
    [
        ("535.161.08", (13, 0), True),  # cuda-compat 13.0 on R535: forward compatibility
        ("570.86.15", (13, 0), True),  # ... on R570
        ("535.161.08", (12, 2), False),  # the same driver without the compat libraries
        ("575.64.05", (12, 9), False),
    ],
)
def test_forward_compatibility_trusts_the_reported_cuda_version(
    driver: str, cuda: tuple[int, int], ok: bool
) -> None:
    v = tb.variant("cu130")
    assert v is not None
    assert tb.driver_supports(v, driver, CudaVersion(*cuda)) is ok


@pytest.mark.parametrize(
    ("tag", "series", "arch", "present"),
    [
        ("cu126", "2.13", (6, 0), True),  # Pascal only in the 12.6 builds
        ("cu130", "2.13", (6, 0), False),
        ("cu130", "2.13", (7, 0), False),  # CUDA 13 dropped Volta
        ("cu128", "2.10", (7, 0), True),  # 2.8-2.10 restored sm_70 (pytorch#157517)
        ("cu128", "2.7", (7, 0), False),
        ("cu132", "2.13", (12, 0), True),
        ("cu118", "2.7", (3, 7), True),
    ],
)
def test_shipped_architectures(tag: str, series: str, arch: tuple[int, int], present: bool) -> None:
    assert (arch in tb.shipped_arches(tag, series)) is present


def test_variant_arches_are_what_every_release_of_it_has() -> None:
    # Unknown release: only architectures all releases of cu128 shipped (2.7 had no sm_70).
    cu128 = tb.variant("cu128")
    assert cu128 is not None and (7, 0) not in cu128.arches and (12, 0) in cu128.arches
    assert tb.shipped_arches("cu128", None) == cu128.arches


def test_aarch64_arch_lists_follow_the_build_script_filter() -> None:
    assert tb.shipped_arches("cu126", "2.13", "aarch64") == ((8, 0), (9, 0))
    assert (11, 0) in tb.shipped_arches("cu130", "2.13", "aarch64")
    assert (8, 6) not in tb.shipped_arches("cu130", "2.13", "aarch64")


def test_sass_runs_on_newer_minor_of_the_same_major_only() -> None:
    assert tb.has_kernels(((6, 0),), (6, 1))
    assert not tb.has_kernels(((6, 1),), (6, 0))
    assert not tb.has_kernels(((7, 5), (8, 0)), (9, 0))


@pytest.mark.parametrize(
    ("tag", "driver", "cuda", "ok"),
    [
        ("cu118", "450.80.02", (11, 0), True),
        ("cu118", "450.80.01", (11, 0), False),
        ("cu126", "525.60.13", (12, 0), True),
        ("cu126", "525.60.13", (11, 8), False),  # the driver's CUDA major is too old
        ("cu130", "580", (13, 0), True),
        ("cu132", "580.65.06", (13, 0), True),  # 13.0 driver runs 13.2 builds (minor compat)
        ("cu130", "575.64.05", (12, 9), False),
    ],
)
def test_driver_minimums(tag: str, driver: str, cuda: tuple[int, int], ok: bool) -> None:
    v = tb.variant(tag)
    assert v is not None
    assert tb.driver_supports(v, driver, CudaVersion(*cuda)) is ok


def test_windows_minimums_differ_from_linux() -> None:
    v = tb.variant("cu126")
    assert v is not None
    assert tb.min_driver(v, "win32") == Version("528.33")
    assert tb.min_driver(v, "linux") == Version("525.60.13")


def test_driver_versions_are_written_as_nvidia_writes_them() -> None:
    v = tb.variant("cu118")
    assert v is not None
    assert tb.nvidia_version(tb.min_driver(v, "linux")) == "450.80.02"  # not 450.80.2
    assert tb.nvidia_version(Version("580")) == "580"


def test_release_series_and_newest_series_with_a_variant() -> None:
    assert tb.release_series("2.13.0+cu130") == "2.13"
    assert tb.release_series("not a version") is None
    spec = SpecifierSet(">=2.4,<2.14")
    assert tb.newest_series(spec, shipping="cu118") == "2.7"
    assert tb.newest_series(spec, shipping="cu129") == "2.8"
    assert tb.newest_series(SpecifierSet("<2.4")) is None


def test_variant_for_a_torch_cuda_version() -> None:
    found = tb.variant_for_cuda(CudaVersion.parse("13.2"))
    assert found is not None and found.tag == "cu132"
    assert tb.variant_for_cuda(CudaVersion(12, 3)) is None
