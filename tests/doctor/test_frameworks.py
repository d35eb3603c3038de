from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.doctor.frameworks import check_frameworks
from chatenv.installed import scan
from chatenv.results import Status
from tests.sites import write_dist

if TYPE_CHECKING:
    from pathlib import Path


def test_tensorflow_and_jax_versions_are_reported_from_metadata(tmp_path: Path) -> None:
    write_dist(tmp_path, "tensorflow", "2.20.0")
    write_dist(tmp_path, "jax", "0.7.2")
    write_dist(tmp_path, "jaxlib", "0.7.2")
    write_dist(tmp_path, "jax-cuda12-plugin", "0.7.2")
    results = {r.id: r for r in check_frameworks(scan([str(tmp_path)]))}
    assert results["frameworks.tensorflow"].summary == "TensorFlow 2.20.0 (tensorflow)"
    jax = results["frameworks.jax"]
    assert jax.summary == "JAX 0.7.2 (jax) with jax-cuda12-plugin 0.7.2"
    assert jax.details == ("jaxlib 0.7.2",)
    assert all(r.status is Status.OK for r in results.values())


def test_tensorflow_cpu_counts_as_tensorflow(tmp_path: Path) -> None:
    write_dist(tmp_path, "tensorflow-cpu", "2.18.1")
    (result,) = check_frameworks(scan([str(tmp_path)]))
    assert result.summary == "TensorFlow 2.18.1 (tensorflow-cpu)"


def test_neither_installed_is_one_skip(tmp_path: Path) -> None:
    write_dist(tmp_path, "rich", "15.0.0")
    (result,) = check_frameworks(scan([str(tmp_path)]))
    assert result.status is Status.SKIP
