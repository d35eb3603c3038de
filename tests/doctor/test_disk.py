"""The disk section: where models go, how much room there is, the cache, offline mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chatenv.doctor.disk import GIB, check_disk, observe
from chatenv.results import Status
from chatenv.system.hf_cache import cache_size, hub_cache, is_offline


@pytest.mark.parametrize(
    ("environ", "expected", "source"),
    [
        ({}, "home/.cache/huggingface/hub", "default"),
        ({"XDG_CACHE_HOME": "/xdg"}, "/xdg/huggingface/hub", "XDG_CACHE_HOME"),
        ({"HF_HOME": "/data/hf", "XDG_CACHE_HOME": "/xdg"}, "/data/hf/hub", "HF_HOME"),
        (
            {"HUGGINGFACE_HUB_CACHE": "/legacy", "HF_HOME": "/data/hf"},
            "/legacy",
            "HUGGINGFACE_HUB_CACHE",
        ),
        (
            {"HF_HUB_CACHE": "~/models", "HUGGINGFACE_HUB_CACHE": "/legacy"},
            "home/models",
            "HF_HUB_CACHE",
        ),
        ({"HF_HOME": "$SCRATCH/hf", "SCRATCH": "/scratch/me"}, "/scratch/me/hf/hub", "HF_HOME"),
    ],
)
def test_model_cache_is_found_as_huggingface_hub_finds_it(
    tmp_path: Path, environ: dict[str, str], expected: str, source: str
) -> None:
    home = tmp_path / "home"
    path, got_source = hub_cache(environ, home)
    want = tmp_path / expected if expected.startswith("home") else Path(expected)
    assert (path, got_source) == (want, source)


@pytest.mark.parametrize(
    ("environ", "offline"),
    [
        ({}, False),
        ({"HF_HUB_OFFLINE": "1"}, True),
        ({"HF_HUB_OFFLINE": "yes"}, True),
        ({"TRANSFORMERS_OFFLINE": "1"}, True),
        (
            {"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "1"},
            False,
        ),  # as huggingface_hub reads it
    ],
)
def test_offline_mode_is_read_like_huggingface_hub(environ: dict[str, str], offline: bool) -> None:
    assert is_offline(environ) is offline


def _hub(tmp_path: Path) -> Path:
    """A hub cache laid out as huggingface_hub writes it: blobs, and snapshots of symlinks."""
    model = tmp_path / "hf/hub/models--openai-community--gpt2"
    (model / "blobs").mkdir(parents=True)
    (model / "blobs" / "abc123").write_bytes(b"x" * 5000)
    snapshot = model / "snapshots" / "main"
    snapshot.mkdir(parents=True)
    (snapshot / "model.safetensors").symlink_to(model / "blobs" / "abc123")
    return tmp_path / "hf/hub"


def test_cache_size_counts_each_blob_once_and_the_models(tmp_path: Path) -> None:
    size = cache_size(_hub(tmp_path))
    assert (size.bytes, size.models, size.complete) == (5000, 1, True)


def test_cache_size_stops_at_its_cap_and_says_so(tmp_path: Path) -> None:
    hub = _hub(tmp_path)
    for i in range(50):
        (hub / f"file{i}").write_bytes(b"y")
    size = cache_size(hub, entry_cap=10)
    assert size.complete is False


def test_space_and_cache_are_reported_for_the_configured_folder(tmp_path: Path) -> None:
    hub = _hub(tmp_path)
    facts = observe({"HF_HUB_CACHE": str(hub)}, tmp_path, usage=lambda p: (500 * GIB, 0, 200 * GIB))
    results = {r.id: r for r in check_disk(facts)}
    assert results["disk.space"].status is Status.OK
    assert (
        results["disk.space"].summary == f"200.0 GiB free for models in {hub} (from HF_HUB_CACHE)"
    )
    assert results["disk.cache"].summary == "model cache holds 1 model, 0.0 GiB"


def test_low_space_warns_and_almost_none_fails(tmp_path: Path) -> None:
    low = observe({"HF_HOME": str(tmp_path)}, tmp_path, usage=lambda p: (100 * GIB, 0, 5 * GIB))
    assert check_disk(low)[0].status is Status.WARN
    none = observe({"HF_HOME": str(tmp_path)}, tmp_path, usage=lambda p: (100 * GIB, 0, GIB // 4))
    space = check_disk(none)[0]
    assert space.status is Status.FAIL and space.fix is not None and "HF_HOME" in space.fix


def test_space_is_measured_where_the_cache_will_be_created(tmp_path: Path) -> None:
    seen = []
    facts = observe(
        {"HF_HOME": str(tmp_path / "not" / "yet")},
        tmp_path,
        usage=lambda p: seen.append(p) or (100 * GIB, 0, 50 * GIB),  # type: ignore[func-returns-value]
    )
    assert seen == [tmp_path] and facts.measured_at == tmp_path
    assert check_disk(facts)[1].summary == "model cache is empty (not created yet)"


@pytest.mark.skipif(
    os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root can write anywhere"
)
def test_unwritable_cache_warns(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    facts = observe(
        {"HF_HOME": str(locked / "hf")}, tmp_path, usage=lambda p: (100 * GIB, 0, 50 * GIB)
    )
    assert check_disk(facts)[0].status is Status.WARN


def test_offline_with_an_empty_cache_warns(tmp_path: Path) -> None:
    facts = observe(
        {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"},
        tmp_path,
        usage=lambda p: (100 * GIB, 0, 50 * GIB),
    )
    offline = {r.id: r for r in check_disk(facts)}["disk.offline"]
    assert offline.status is Status.WARN and "HF_HUB_OFFLINE=1" in offline.summary


def test_offline_with_cached_models_is_ok(tmp_path: Path) -> None:
    hub = _hub(tmp_path)
    facts = observe({"HF_HUB_CACHE": str(hub), "TRANSFORMERS_OFFLINE": "1"}, tmp_path)
    offline = {r.id: r for r in check_disk(facts)}["disk.offline"]
    assert offline.status is Status.OK and "only the cached models" in offline.summary


def test_transformers_cache_is_ignored_today_and_says_so(tmp_path: Path) -> None:
    facts = observe({"TRANSFORMERS_CACHE": "/old/cache"}, tmp_path)
    legacy = {r.id: r for r in check_disk(facts)}["disk.legacy.TRANSFORMERS_CACHE"]
    assert (
        legacy.status is Status.WARN
        and legacy.fix == 'export HF_HUB_CACHE="$TRANSFORMERS_CACHE"; unset TRANSFORMERS_CACHE'
    )
