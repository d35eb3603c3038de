"""The local stage in-process on the tiny GPT-2: loading, generating, the timings' meaning."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from chatenv.results import Status
from chatenv.smoke import hub
from chatenv.smoke.device import DeviceRequest
from chatenv.smoke.local import (
    LocalOptions,
    generate,
    import_stack,
    load,
    load_kwargs,
    run_local,
)

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.keys.mask import Secret

SLOW_PREFILL_S = 1.0


def _options(model: Path, **kw: Any) -> LocalOptions:
    return LocalOptions(model=hub.model_ref(str(model)), **kw)


def _no_probe(repo_id: str, *, timeout: float, token: Secret | None = None) -> hub.HubAnswer:
    raise AssertionError("a local folder must never send the stage to the hub")


def test_tiny_model_loads_and_generates_on_cpu_with_timings(tiny_model: Path) -> None:
    phases: list[str | None] = []
    run = run_local(_options(tiny_model, max_new_tokens=8), phases.append, _no_probe)

    assert [r.status for r in run.results] == [Status.OK, Status.OK]
    load_result, gen_result = run.results
    assert load_result.id == "local.load"
    assert load_result.data["source"] == "folder"
    assert load_result.data["device"] == "cpu"
    assert load_result.data["dtype"] == "float32"
    assert load_result.data["load_s"] > 0
    assert gen_result.id == "local.generate"
    assert 1 <= gen_result.data["new_tokens"] <= 8
    assert 0 < gen_result.data["ttft_s"] <= gen_result.data["generate_s"]
    assert gen_result.data["peak_gpu_memory_bytes"] is None  # not on a GPU
    assert isinstance(gen_result.data["text"], str)
    # the progress display was told each phase, and taken away at the end
    assert phases[0] == "importing torch and transformers"
    assert any(p is not None and p.startswith("generating") for p in phases)
    assert phases[-1] is None


def test_generation_is_greedy_so_two_runs_say_the_same(tiny_model: Path) -> None:
    first = run_local(_options(tiny_model, max_new_tokens=6), probe=_no_probe)
    second = run_local(_options(tiny_model, max_new_tokens=6), probe=_no_probe)
    assert first.generation is not None
    assert second.generation is not None
    assert first.generation.text == second.generation.text


def test_time_to_first_token_is_measured_when_the_first_token_appears(tiny_model: Path) -> None:
    """A slow prefill (the first forward pass) must show in the time to first token and not in
    the decode rate; an average of the total over the tokens would smear it over both."""
    stack = import_stack()
    options = _options(tiny_model, max_new_tokens=10)
    loaded = load(options, stack, "cpu", lambda _: None, _no_probe)
    calls = {"n": 0}

    def slow_prefill(module: Any, args: Any, kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            time.sleep(SLOW_PREFILL_S)

    handle = loaded.model.register_forward_pre_hook(slow_prefill, with_kwargs=True)
    try:
        gen = generate(loaded, options, stack.torch)
    finally:
        handle.remove()

    assert gen.new_tokens == 10
    assert gen.ttft_s >= SLOW_PREFILL_S
    assert gen.tokens_per_s is not None
    decode_s = (gen.new_tokens - 1) / gen.tokens_per_s
    # the nine decode steps did not pay for the slow prefill (total / tokens would say 0.1 s
    # for each token and 0.1 s to the first)
    assert decode_s < SLOW_PREFILL_S / 2
    assert gen.total_s >= gen.ttft_s + decode_s


def test_one_new_token_has_no_decode_rate(tiny_model: Path) -> None:
    run = run_local(_options(tiny_model, max_new_tokens=1), probe=_no_probe)
    assert run.generation is not None
    assert run.generation.new_tokens == 1
    assert run.generation.tokens_per_s is None
    assert "then" not in run.results[1].summary


def test_requested_dtype_reaches_the_weights(tiny_model: Path) -> None:
    run = run_local(_options(tiny_model, max_new_tokens=2, dtype="bfloat16"), probe=_no_probe)
    assert run.results[0].status is Status.OK, run.results[0].summary
    assert run.results[0].data["dtype"] == "bfloat16"


def test_load_arguments_are_the_same_for_every_model_reference() -> None:
    stack = import_stack()
    assert load_kwargs(stack, "cpu", "auto") == {"dtype": "auto", "device_map": "cpu"}
    assert load_kwargs(stack, "cuda:0", "float16") == {
        "dtype": stack.torch.float16,
        "device_map": "cuda:0",
    }


def test_cuda_on_this_cpu_only_torch_fails_the_device_step(tiny_model: Path) -> None:
    stack = import_stack()
    if stack.torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    run = run_local(_options(tiny_model, device=DeviceRequest("cuda")), probe=_no_probe)
    assert len(run.results) == 1
    assert run.results[0].id == "local.device"
    assert run.results[0].status is Status.FAIL
    assert not run.ok


def test_a_folder_without_weights_fails_the_load_step_with_the_folder_fix(
    tiny_model: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (broken / name).write_bytes((tiny_model / name).read_bytes())
    run = run_local(_options(broken), probe=_no_probe)
    assert [r.id for r in run.results] == ["local.load"]
    result = run.results[0]
    assert result.status is Status.FAIL
    assert result.summary.startswith(f"could not load {broken}: ")
    assert result.fix is not None
    assert "config.json, the tokenizer files and the weights" in result.fix
    assert result.details  # the traceback, for --verbose


UNCACHED = "chatenv-tests/never-cached-gpt2"


def test_an_uncached_hub_id_the_hub_cannot_supply_stops_before_torch_is_imported() -> None:
    asked: list[str] = []

    def unreachable(repo_id: str, *, timeout: float, token: Secret | None = None) -> hub.HubAnswer:
        asked.append(repo_id)
        return hub.HubAnswer(hub.HubState.UNREACHABLE, "http://127.0.0.1:9", "connection refused")

    phases: list[str | None] = []
    run = run_local(LocalOptions(model=hub.model_ref(UNCACHED)), phases.append, unreachable)
    assert asked == [UNCACHED]
    assert run.stack is None and run.loaded is None
    assert "importing torch and transformers" not in phases
    assert phases[0] == f"asking {hub.endpoint()} for {UNCACHED}"
    [result] = run.results
    assert (result.id, result.status) == ("local.load", Status.FAIL)
    assert result.summary.startswith(f"{UNCACHED} is not in the Hugging Face cache")
    assert "cannot be reached (connection refused)" in result.summary


def test_the_hub_is_asked_once_when_it_can_supply_the_model() -> None:
    """The answer had before the imports is the one `load` gets: one request, not two."""
    from chatenv.smoke.local import _probe_first

    asked: list[str] = []

    def available(repo_id: str, *, timeout: float, token: Secret | None = None) -> hub.HubAnswer:
        asked.append(repo_id)
        return hub.HubAnswer(hub.HubState.AVAILABLE, "http://127.0.0.1:9")

    again = _probe_first(LocalOptions(model=hub.model_ref(UNCACHED)), lambda _: None, available)
    assert asked == [UNCACHED]
    assert again(UNCACHED, timeout=1).state is hub.HubState.AVAILABLE
    assert asked == [UNCACHED]


def test_only_a_hub_id_without_its_config_in_the_cache_is_surely_not_cached(
    tiny_model: Path, tmp_path: Path
) -> None:
    from tests.tiny_model import put_in_hub_cache

    cache = tmp_path / "hf-home" / "hub"
    assert hub.surely_not_cached("tiny/gpt2", cache)
    put_in_hub_cache(tiny_model, tmp_path / "hf-home", "tiny/gpt2")
    assert not hub.surely_not_cached("tiny/gpt2", cache)
    assert hub.surely_not_cached("tiny/other", cache)


@pytest.mark.parametrize(
    ("state", "implicit_disabled", "expected"),
    [
        (hub.HubState.PENDING, False, "your request for access awaits the authors' review"),
        (hub.HubState.NEEDS_TOKEN, True, "HF_HUB_DISABLE_IMPLICIT_TOKEN keeps the token"),
        (hub.HubState.NEEDS_TOKEN, False, "no Hugging Face token is sent"),
    ],
)
def test_each_refusal_of_a_gated_model_gets_its_own_line_before_torch_is_imported(
    tmp_path: Path, state: hub.HubState, implicit_disabled: bool, expected: str
) -> None:
    from chatenv.keys import hf_token

    env = {"HF_TOKEN": "hf_" + "t0k3nX" * 5 + "abcd"}
    if implicit_disabled:
        env["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1"
    config = hf_token.resolve(env, tmp_path / ".env", tmp_path / "token")
    sent: list[Secret | None] = []

    def refusing(repo_id: str, *, timeout: float, token: Secret | None = None) -> hub.HubAnswer:
        sent.append(token)
        return hub.HubAnswer(state, "http://127.0.0.1:9", "the hub's words")

    options = LocalOptions(model=hub.model_ref(UNCACHED), hf_token=config)
    run = run_local(options, probe=refusing)
    [result] = run.results
    assert (result.id, result.status) == ("local.load", Status.FAIL)
    assert expected in result.summary
    assert result.details == ("the hub said: the hub's words",)
    # the token the download would send: none when HF_HUB_DISABLE_IMPLICIT_TOKEN is set
    assert sent == [None if implicit_disabled else config.token.secret]  # type: ignore[union-attr]
