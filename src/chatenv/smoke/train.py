"""`--train`: one optimizer step on the loaded model, proof that autograd, the optimizer and
device memory work, not only inference.

The batch is the local stage's own output (prompt + generated tokens), the labels the inputs
(the causal-LM loss transformers computes). The loss is measured before and after the step on the
same batch with dropout off (`model.eval()` during the whole stage, so the numbers compare like
with like); one AdamW step at lr 1e-4, a usual fine-tuning rate, lowers it on a pretrained model
and on the test suite's random tiny one alike. A float16 model is trained in float32: Adam's
second-moment estimate underflows in float16 (the usual answer is float32 master weights).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.results import CheckResult, Status
from chatenv.smoke.common import (
    StepFailed,
    is_out_of_memory,
    mib,
    no_progress,
    one_line,
    peak_memory,
    synchronize,
    trace,
)

if TYPE_CHECKING:
    from chatenv.smoke.common import (
        Progress,
    )
    from chatenv.smoke.local import Generation, Loaded

SECTION = "train"
LEARNING_RATE = 1e-4


@dataclass(frozen=True)
class TrainStep:
    loss_before: float
    loss_after: float
    step_s: float
    batch_tokens: int
    device: str
    dtype: str
    upcast_from: str | None
    peak_memory_bytes: int | None

    @property
    def improved(self) -> bool:
        return self.loss_after < self.loss_before


def train_step(
    loaded: Loaded, generation: Generation, torch: Any, progress: Progress = no_progress
) -> TrainStep:
    """Loss, one AdamW step (timed, with the device synchronised), loss again."""
    model, device = loaded.model, loaded.device
    upcast_from = None
    if loaded.dtype == "float16":
        model.float()
        upcast_from = "float16"
    batch = generation.sequence.to(device)
    if batch.shape[-1] < 2:
        raise StepFailed(f"{SECTION}.step", *problem("smoke.train-single-token").pair())
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)
    model.eval()
    progress("training one step")
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    try:
        before = _loss(model, batch, torch)
        synchronize(torch, device)
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        synchronize(torch, device)
        step_s = time.perf_counter() - started
        after = _loss(model, batch, torch)
    except StepFailed:
        raise
    except Exception as exc:
        raise _failure(exc, device) from None
    finally:
        optimizer.zero_grad(set_to_none=True)
        del optimizer
    return TrainStep(
        loss_before=before,
        loss_after=after,
        step_s=step_s,
        batch_tokens=int(batch.numel()),
        device=device,
        dtype=str(next(model.parameters()).dtype).removeprefix("torch."),
        upcast_from=upcast_from,
        peak_memory_bytes=peak_memory(torch, device),
    )


def _loss(model: Any, batch: Any, torch: Any) -> float:
    with torch.no_grad():
        value = float(model(input_ids=batch, labels=batch).loss)
    if not math.isfinite(value):
        raise StepFailed(
            f"{SECTION}.step", *problem("smoke.train-loss-not-finite").pair(value=value)
        )
    return value


def _failure(exc: BaseException, device: str) -> StepFailed:
    if is_out_of_memory(exc):
        return StepFailed(
            f"{SECTION}.step", *problem("smoke.train-out-of-memory").pair(device=device)
        )
    error = f"{type(exc).__name__}: {one_line(exc)}"
    return StepFailed(
        f"{SECTION}.step",
        *problem("smoke.train-failed").pair(device=device, error=error),
        details=trace(exc),
    )


def result(step: TrainStep) -> CheckResult:
    """ok when the loss fell; a step that did not lower it is a failed check."""
    upcast = f", upcast from {step.upcast_from}" if step.upcast_from else ""
    memory = (
        f", peak GPU memory {mib(step.peak_memory_bytes)}"
        if step.peak_memory_bytes is not None
        else ""
    )
    summary = (
        f"one AdamW step on {step.device} ({step.dtype}{upcast}): loss "
        f"{step.loss_before:.4f} → {step.loss_after:.4f} in {step.step_s * 1000:.0f} ms{memory}"
    )
    data = {
        "optimizer": "AdamW",
        "learning_rate": LEARNING_RATE,
        "loss_before": step.loss_before,
        "loss_after": step.loss_after,
        "step_s": round(step.step_s, 4),
        "batch_tokens": step.batch_tokens,
        "device": step.device,
        "dtype": step.dtype,
        "upcast_from": step.upcast_from,
        "peak_gpu_memory_bytes": step.peak_memory_bytes,
    }
    details = (f"batch: 1 sequence of {step.batch_tokens} tokens, lr {LEARNING_RATE:g}",)
    if step.improved:
        return CheckResult.ok(
            f"{SECTION}.step", summary, section=SECTION, details=details, data=data
        )
    return problem("smoke.train-loss-did-not-fall").check(
        Status.FAIL, f"{SECTION}.step", section=SECTION, details=details, data=data, summary=summary
    )


def run_train(
    loaded: Loaded, generation: Generation, torch: Any, progress: Progress = no_progress
) -> CheckResult:
    try:
        return result(train_step(loaded, generation, torch, progress))
    except StepFailed as exc:
        return CheckResult.fail(
            exc.id, exc.message, section=SECTION, fix=exc.fix, details=exc.details
        )
    finally:
        progress(None)
