"""`--train`: one optimizer step on the tiny GPT-2, in-process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv import records
from chatenv.results import Status
from chatenv.smoke import hub
from chatenv.smoke.local import LocalOptions, run_local
from chatenv.smoke.train import TrainStep, result, run_train

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.smoke.local import LocalRun


def _local(model: Path, **kw: object) -> LocalRun:
    run = run_local(LocalOptions(model=hub.model_ref(str(model)), **kw))  # type: ignore[arg-type]
    assert run.ok, [r.summary for r in run.results]
    return run


def test_one_step_lowers_the_loss_on_the_same_batch(tiny_model: Path) -> None:
    run = _local(tiny_model, max_new_tokens=8)
    assert run.loaded and run.generation and run.stack
    weights_before = run.loaded.model.lm_head.weight.detach().clone()

    found = run_train(run.loaded, run.generation, run.stack.torch)

    assert found.status is Status.OK, found.summary
    assert found.id == "train.step"
    assert found.data["loss_after"] < found.data["loss_before"]
    assert found.data["step_s"] > 0
    assert found.data["batch_tokens"] == run.generation.sequence.shape[-1]
    assert "→" in found.summary
    # the step really changed the weights (the loss did not fall by accident)
    assert not run.stack.torch.equal(weights_before, run.loaded.model.lm_head.weight)


def test_a_float16_model_is_trained_in_float32(tiny_model: Path) -> None:
    run = _local(tiny_model, max_new_tokens=4, dtype="float16")
    assert run.loaded and run.generation and run.stack
    assert run.loaded.dtype == "float16"
    found = run_train(run.loaded, run.generation, run.stack.torch)
    assert found.status is Status.OK, found.summary
    assert found.data["dtype"] == "float32"
    assert found.data["upcast_from"] == "float16"


def _step(before: float, after: float) -> TrainStep:
    return TrainStep(before, after, 0.01, 24, "cpu", "float32", None, None)


def test_a_step_that_does_not_lower_the_loss_is_a_failed_check() -> None:
    found = result(_step(5.0, 5.0))
    assert found.status is Status.FAIL
    assert found.summary.endswith("the loss did not fall")
    assert found.fix


def test_a_step_that_lowers_the_loss_is_ok() -> None:
    assert result(_step(5.0, 4.9)).status is Status.OK


def test_a_batch_of_one_token_cannot_train(tiny_model: Path) -> None:
    run = _local(tiny_model, max_new_tokens=1)
    assert run.loaded and run.generation and run.stack
    one_token = records.replace(run.generation, sequence=run.generation.sequence[:, :1])
    found = run_train(run.loaded, one_token, run.stack.torch)
    assert found.status is Status.FAIL
    assert "single token" in found.summary
