"""Where a project's model is and how big it is, read from real files: a model saved with
transformers' save_pretrained, and the Hugging Face cache as huggingface_hub itself fills it
(snapshot_download from the test hub on 127.0.0.1); and the fit estimate's arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatenv.project.fit import GIB, Estimate, fit_on_gpus
from chatenv.project.models import observe, read_params, snapshot
from chatenv.project.settings import ModelNeed
from chatenv.system.nvml import GpuInfo
from tests.smoke.fake_hub import COMMIT, fake_hub


def torch_count(folder: Path) -> int:
    from transformers import AutoModelForCausalLM

    return int(AutoModelForCausalLM.from_pretrained(folder).num_parameters())


def test_the_safetensors_headers_give_the_count_transformers_gives(tiny_model: Path) -> None:
    params, dtype = read_params(sorted(tiny_model.glob("*.safetensors")))
    assert params == torch_count(tiny_model)
    assert dtype == "float32"


def test_a_model_folder_is_described_from_its_files(tiny_model: Path) -> None:
    need = ModelNeed(ref="models/tiny", folder=tiny_model)
    files = observe(need, Path("/nonexistent-cache"))
    assert files.present and files.complete and files.folder == tiny_model
    total = sum(p.stat().st_size for p in tiny_model.iterdir() if p.is_file())
    assert files.size_bytes == total
    missing = observe(ModelNeed(ref="models/gone", folder=tiny_model / "gone"), Path("/x"))
    assert not missing.present


@pytest.fixture
def hub_cache(tiny_model: Path, tmp_path: Path) -> Path:
    """The cache huggingface_hub writes when it downloads tiny/gpt2 (blobs, symlinked
    snapshots, refs/main)."""
    from huggingface_hub import snapshot_download

    cache = tmp_path / "hub"
    with fake_hub() as hub:
        hub.state.add("tiny/gpt2", tiny_model)
        snapshot_download("tiny/gpt2", cache_dir=cache, endpoint=hub.endpoint)
    return cache


def test_a_downloaded_model_is_found_in_the_cache_huggingface_hub_wrote(
    hub_cache: Path, tiny_model: Path
) -> None:
    files = observe(ModelNeed(ref="tiny/gpt2"), hub_cache)
    assert files.present and files.complete
    assert files.folder == hub_cache / "models--tiny--gpt2" / "snapshots" / COMMIT
    assert any(p.is_symlink() for p in files.folder.iterdir())  # the size follows the links
    assert files.size_bytes == sum(p.stat().st_size for p in tiny_model.iterdir() if p.is_file())
    assert files.params == torch_count(tiny_model)
    assert snapshot(hub_cache, "tiny/gpt2", COMMIT) == files.folder
    assert snapshot(hub_cache, "tiny/gpt2", "v2") is None  # a branch not cached


def test_a_model_not_cached_or_cached_in_part(hub_cache: Path) -> None:
    assert not observe(ModelNeed(ref="other/model"), hub_cache).present
    folder = hub_cache / "models--tiny--gpt2" / "snapshots" / COMMIT
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    files = observe(ModelNeed(ref="tiny/gpt2"), hub_cache)
    assert files.present and not files.complete and files.params is None


def test_the_estimate_is_parameters_times_bytes_plus_the_overhead() -> None:
    llama = Estimate(8_030_261_248, "bfloat16", 0.2)
    assert llama.weights_bytes == 16_060_522_496
    assert llama.total_bytes == int(16_060_522_496 * 1.2)
    assert llama.describe() == (
        "8.03 B parameters × 2 bytes (bfloat16) = 15.0 GiB of weights, + 20% overhead = 17.9 GiB"
    )
    assert Estimate(70_000_000_000, "int4", 0.1).weights_bytes == 35_000_000_000
    assert Estimate(124_439_808, "float32", 0.0).describe().startswith("124 M parameters × 4 bytes")


def gpu(index: int, free_gib: float) -> GpuInfo:
    return GpuInfo(index=index, memory_total=80 * GIB, memory_free=int(free_gib * GIB))


def test_the_fit_counts_the_gpus_with_the_most_free_memory() -> None:
    seventy = Estimate(70_000_000_000, "bfloat16", 0.2)  # 156.5 GiB
    gpus = [gpu(0, 10), gpu(1, 79), gpu(2, 79.5), gpu(3, 60)]
    one = fit_on_gpus(seventy, gpus, 1)
    assert (one.gpus, one.fits) == ((2,), False)
    two = fit_on_gpus(seventy, gpus, 2)
    assert (two.gpus, two.fits) == ((2, 1), True)
    assert two.describe() == "158.5 GiB free on GPUs 2, 1"
    short = fit_on_gpus(seventy, gpus[:1], 2)
    assert not short.fits
    assert short.describe() == "10.0 GiB free on GPU 0 (only 1 of the 2 GPUs it is split across)"
