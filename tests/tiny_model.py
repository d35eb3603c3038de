"""A tiny GPT-2 for the smoke tests: random weights, a byte-level BPE tokenizer trained on a few
lines, saved with `save_pretrained` as a hub model would be. Loading it exercises the same
transformers code as `gpt2` (GPT2LMHeadModel, GPT2TokenizerFast) in well under a second."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

LINES = [
    "Hello, I'm a language model, and I am very small.",
    "The quick brown fox jumps over the lazy dog.",
    "A smoke test loads a model, generates a few tokens, and times them.",
    "Local generation works end to end on this machine.",
    "One optimizer step on a tiny batch proves that training works too.",
]
EOS = "<|endoftext|>"
#: the commit a hub cache entry made by `put_in_hub_cache` claims to hold
FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def build_tiny_gpt2(folder: Path) -> Path:
    """Write the model and its tokenizer to `folder` (created), and return it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(LINES * 4, trainer)
    # transformers 5 ignores vocab/merges file arguments: wrap the trained object instead
    tokenizer = GPT2TokenizerFast(tokenizer_object=bpe, bos_token=EOS, eos_token=EOS, unk_token=EOS)

    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=256,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = GPT2LMHeadModel(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def put_in_hub_cache(model: Path, hf_home: Path, repo_id: str) -> Path:
    """Lay the model out in `hf_home` as huggingface_hub's cache holds a downloaded repo
    (`hub/models--org--name/{refs/main, snapshots/<commit>/...}`), so loading `repo_id` finds it
    there. Files are copied rather than linked to blobs; huggingface_hub reads both."""
    repo = hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / FAKE_COMMIT
    snapshot.mkdir(parents=True)
    for file in model.iterdir():
        shutil.copy2(file, snapshot / file.name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(FAKE_COMMIT)
    return snapshot
