"""The ROCm build table and the gfx names: KFD's encoding, HSA_OVERRIDE_GFX_VERSION, the
architectures an installed wheel's own files carry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv import rocm_builds as rb
from tests.machines import amd as machines

if TYPE_CHECKING:
    from pathlib import Path


def test_kfd_target_versions_are_gfx_names() -> None:
    assert rb.gfx_from_target_version(90402) == "gfx942"
    assert rb.gfx_from_target_version(90010) == "gfx90a"  # the stepping is a hex digit
    assert rb.gfx_from_target_version(110000) == "gfx1100"
    assert rb.gfx_from_target_version(100301) == "gfx1031"
    assert rb.gfx_from_target_version(0) is None  # a CPU node


def test_hsa_override_values_are_gfx_names() -> None:
    assert rb.gfx_from_override("10.3.0") == "gfx1030"
    assert rb.gfx_from_override("11.0.0") == "gfx1100"
    assert rb.gfx_from_override("9.0.10") == "gfx90a"
    assert rb.gfx_from_override("gfx1030") is None


def test_the_override_for_a_card_is_its_familys_shipped_sibling() -> None:
    arches = rb.ARCHES["rocm6.2"]
    assert rb.override_for("gfx1031", arches) == "10.3.0"
    assert rb.override_for("gfx1103", arches) == "11.0.0"  # a Radeon 780M runs gfx1100's
    assert rb.override_for("gfx1201", arches) is None  # RDNA 4: no sibling before ROCm 6.4
    assert rb.override_for("gfx1201", rb.ARCHES["rocm6.4"]) == "12.0.0"


def test_an_installed_wheels_arch_list_is_read_from_its_rocblas_files(tmp_path: Path) -> None:
    machines.write_torch_rocm(tmp_path, arches=("gfx90a", "gfx942", "gfx1100"))
    assert rb.arches_from_files(tmp_path / "torch") == ("gfx90a", "gfx942", "gfx1100")


def test_a_torch_without_rocblas_files_has_no_readable_arch_list(tmp_path: Path) -> None:
    machines.write_torch_rocm(tmp_path, arches=None)
    assert rb.arches_from_files(tmp_path / "torch") is None


def test_every_release_ships_variants_the_table_knows_and_newest_first() -> None:
    for series, tags in rb.RELEASES.items():
        assert tags and all(t in rb.ARCHES for t in tags), series
        assert list(tags) == sorted(tags, key=lambda t: list(rb.ARCHES).index(t))
    assert rb.shipped("2.13") == ("rocm7.2",)
    assert rb.index_url("rocm7.2") == "https://download.pytorch.org/whl/rocm7.2"
    assert rb.variant_of("2.5.1+rocm6.2") == "rocm6.2" and rb.variant_of("2.13.0+cpu") is None
