"""smoke-test refuses what cannot work before the slow part starts, with a fix for the line
typed: `--device cuda` on a machine without a GPU (answered by NVML, before torch is imported),
and a model folder saved without its tokenizer (the real save_pretrained layout of the tiny
GPT-2, its tokenizer files left out)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from chatenv.smoke.hub import TOKENIZER_FILES
from chatenv.system.nvml import ProbeState, probe
from tests.conftest import clean_env, imported_by

if TYPE_CHECKING:
    from pathlib import Path

NO_GPU = probe().state in (ProbeState.NO_LIBRARY, ProbeState.NO_DRIVER, ProbeState.NO_DEVICE)


def _smoke(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatenv", "smoke-test", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=300,
    )


@pytest.mark.skipif(not NO_GPU, reason="this machine has an NVIDIA driver: torch may see a GPU")
def test_device_cuda_without_a_gpu_is_refused_before_torch_is_imported(
    tmp_path: Path, tiny_model: Path
) -> None:
    args = ["smoke-test", "--no-api", "--model", str(tiny_model), "--device", "cuda"]
    loaded, done = imported_by(args, ("torch", "transformers"), clean_env())
    assert loaded == {"torch": False, "transformers": False}
    assert done.returncode == 2
    error, fix = (line.strip() for line in done.stderr.strip().splitlines()[-3:-1])
    assert error == (
        "error: --device cuda: no NVIDIA driver is installed and there is no AMD GPU, so torch "
        "has no CUDA device here"
    )
    # the line typed, with --device cpu: not `chatenv install local`, which changes nothing
    assert fix == f"fix: chatenv smoke-test --no-api --model {tiny_model} --device cpu"


def test_a_model_folder_without_its_tokenizer_is_named_as_such(
    tmp_path: Path, tiny_model: Path
) -> None:
    weights_only = tmp_path / "weights-only"
    shutil.copytree(tiny_model, weights_only)
    for name in (
        *TOKENIZER_FILES,
        "tokenizer_config.json",
        "special_tokens_map.json",
        "merges.txt",
    ):
        (weights_only / name).unlink(missing_ok=True)
    config = json.loads((weights_only / "config.json").read_text())
    config["_name_or_path"] = "openai-community/gpt2"  # what save_pretrained records
    (weights_only / "config.json").write_text(json.dumps(config))
    done = _smoke("--no-api", "--model", str(weights_only), cwd=tmp_path)
    assert done.returncode == 2
    error, fix = (line.strip() for line in done.stderr.strip().splitlines()[-2:])
    assert error.startswith(f"error: --model {weights_only}: the folder has a config.json but no")
    assert fix == (
        'fix: python -c "from transformers import AutoTokenizer; AutoTokenizer.from_pretrained('
        f"'openai-community/gpt2').save_pretrained('{weights_only}')\""
    )
