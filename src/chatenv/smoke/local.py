"""The local stage: load a causal LM and its tokenizer with transformers, generate, time it.

A hub id (`gpt2`) and a local folder go through the same calls with the same arguments
(`AutoTokenizer` / `AutoModelForCausalLM.from_pretrained(name, local_files_only=True, ...)`);
only a hub id whose files are not all cached takes the second, online attempt (see `hub`).

Time to first token is measured where the tokens appear: `generate` hands every new token to a
streamer (already copied to the host, so a GPU has finished computing it), and the streamer
notes the time. Tokens per second is the decode rate after the first token.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatenv.errors import ChatenvError, exception_chain
from chatenv.problems import problem
from chatenv.records import dataclass, field
from chatenv.results import CheckResult
from chatenv.smoke import DEFAULT_MAX_NEW_TOKENS, DEFAULT_PROMPT, hub
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
from chatenv.smoke.device import DeviceRequest, choose_device, observe

if TYPE_CHECKING:
    from collections.abc import Iterator

    from chatenv.keys.hf_token import HfTokenConfig
    from chatenv.keys.mask import Secret
    from chatenv.smoke.common import (
        Progress,
    )

SECTION = "local"


@dataclass(frozen=True)
class LocalOptions:
    model: hub.ModelRef
    prompt: str = DEFAULT_PROMPT
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    device: DeviceRequest = field(default_factory=lambda: DeviceRequest("auto"))
    dtype: str = "auto"
    #: seconds for the hub probe (only when the model is not cached)
    hub_timeout_s: float = 10.0
    #: let huggingface_hub draw download bars (a terminal, and not --json)
    download_bars: bool = False
    #: the Hugging Face token and where it comes from (None: huggingface_hub finds its own)
    hf_token: HfTokenConfig | None = None

    @property
    def token(self) -> Secret | None:
        """The token a download sends: the environment's, the .env file's (as after
        load_dotenv()) or the token file's; none under HF_HUB_DISABLE_IMPLICIT_TOKEN."""
        from chatenv.keys.hf_token import for_download

        return for_download(self.hf_token) if self.hf_token is not None else None


@dataclass(frozen=True)
class Stack:
    """The imported torch and transformers modules."""

    torch: Any
    transformers: Any


@dataclass
class Loaded:
    """A model ready to use, and how it got there."""

    model: Any
    tokenizer: Any
    device: str
    dtype: str
    #: "folder", "cache" or "download"
    source: str
    tokenizer_s: float
    weights_s: float

    @property
    def load_s(self) -> float:
        return self.tokenizer_s + self.weights_s


@dataclass(frozen=True)
class Generation:
    prompt: str
    text: str
    #: prompt and generated token ids, shape [1, n] (the train stage's batch)
    sequence: Any
    prompt_tokens: int
    new_tokens: int
    ttft_s: float
    total_s: float
    #: decode rate after the first token; None when only one token was generated
    tokens_per_s: float | None


@dataclass
class LocalRun:
    """What the local stage found, and the model for the train stage when it got that far."""

    results: list[CheckResult] = field(default_factory=list)
    stack: Stack | None = None
    loaded: Loaded | None = None
    generation: Generation | None = None

    @property
    def ok(self) -> bool:
        return self.generation is not None


# -- the stage -------------------------------------------------------------------------------


def run_local(
    options: LocalOptions,
    progress: Progress = no_progress,
    probe: hub.HubProbe = hub.probe,
) -> LocalRun:
    run = LocalRun()
    try:
        probe = _probe_first(options, progress, probe)
        progress("importing torch and transformers")
        run.stack = import_stack()
        torch = run.stack.torch
        device = _device(options.device, torch)
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats(device)
        with quiet_transformers(run.stack.transformers):
            run.loaded = load(options, run.stack, device, progress, probe)
            run.results.append(_loaded_result(options, run.loaded, run.stack))
            progress(f"generating {options.max_new_tokens} tokens")
            run.generation = generate(run.loaded, options, torch)
        run.results.append(_generated_result(run.generation, run.loaded, torch))
    except StepFailed as exc:
        run.results.append(
            CheckResult.fail(exc.id, exc.message, section=SECTION, fix=exc.fix, details=exc.details)
        )
    finally:
        progress(None)
    return run


def _probe_first(options: LocalOptions, progress: Progress, probe: hub.HubProbe) -> hub.HubProbe:
    """A hub id that is surely not cached needs the hub: ask it before paying seconds for
    importing torch and transformers, and stop there when it cannot supply the model. Returns
    the probe for `load` (the answer already had, when there was one: one request, not two)."""
    ref = options.model
    if ref.is_folder or not _stack_present() or not hub.surely_not_cached(ref.name):
        return probe  # (a missing torch is import_stack's to report: its fix comes first)
    progress(f"asking {hub.endpoint()} for {ref.name}")
    answer = probe(ref.name, timeout=options.hub_timeout_s, token=options.token)
    if answer.state is not hub.HubState.AVAILABLE:
        raise _not_cached(ref.name, answer, options)

    def known(repo_id: str, *, timeout: float, token: Secret | None = None) -> hub.HubAnswer:
        return answer

    return known


def _stack_present() -> bool:
    from importlib.util import find_spec

    return all(find_spec(name) is not None for name in ("torch", "transformers"))


def import_stack() -> Stack:
    """torch, then transformers; a missing or broken one is the `chatenv install local` fix."""
    modules = []
    for name in ("torch", "transformers"):
        try:
            modules.append(__import__(name))
        except ImportError as exc:
            if exc.name == name:
                raise StepFailed(
                    f"{SECTION}.import", *problem("smoke.not-installed").pair(name=name)
                ) from None
            raise StepFailed(
                f"{SECTION}.import",
                *problem("smoke.import-failed").pair(name=name, error=one_line(exc)),
                details=trace(exc),
            ) from None
        except Exception as exc:  # a broken install: a missing shared library, an ABI clash
            error = f"{type(exc).__name__}: {one_line(exc)}"
            raise StepFailed(
                f"{SECTION}.import",
                *problem("smoke.import-broken").pair(name=name, error=error),
                details=trace(exc),
            ) from None
    return Stack(torch=modules[0], transformers=modules[1])


def _device(request: DeviceRequest, torch: Any) -> str:
    try:
        return choose_device(request, observe(torch))
    except ChatenvError as exc:
        raise StepFailed(f"{SECTION}.device", exc.message, fix=exc.fix) from None


@contextmanager
def quiet_transformers(transformers: Any) -> Iterator[None]:
    """transformers' warnings and its per-tensor "Loading weights" bar would break into our
    output: silence them for the stage (`load` turns huggingface_hub's download bars back on
    around a download, when they are wanted)."""
    logging = transformers.utils.logging
    verbosity = logging.get_verbosity()
    bars = logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()


# -- loading ---------------------------------------------------------------------------------


def load_kwargs(stack: Stack, device: str, dtype: str) -> dict[str, Any]:
    """The arguments every model load gets, whatever the model reference is."""
    version = getattr(stack.transformers, "__version__", "0")
    major_minor = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    dtype_name = "dtype" if major_minor >= (4, 56) else "torch_dtype"
    value: Any = dtype if dtype == "auto" else getattr(stack.torch, dtype)
    return {dtype_name: value, "device_map": device}


def load(
    options: LocalOptions,
    stack: Stack,
    device: str,
    progress: Progress,
    probe: hub.HubProbe,
) -> Loaded:
    ref = options.model
    try:
        return _from_pretrained(stack, ref.name, device, options.dtype, True, progress)
    except Exception as exc:
        if ref.is_folder or not isinstance(exc, OSError):
            raise _load_failure(ref, exc, device, options) from None
        # a hub id with files missing from the cache: the hub has to supply them
    answer = probe(ref.name, timeout=options.hub_timeout_s, token=options.token)
    if answer.state is not hub.HubState.AVAILABLE:
        raise _not_cached(ref.name, answer, options)
    progress(None)
    logging = stack.transformers.utils.logging
    if options.download_bars:
        logging.enable_progress_bar()
    try:
        return _from_pretrained(
            stack, ref.name, device, options.dtype, False, progress, options.token
        )
    except Exception as exc:
        raise _load_failure(ref, exc, device, options) from None
    finally:
        logging.disable_progress_bar()


def _from_pretrained(
    stack: Stack,
    name: str,
    device: str,
    dtype: str,
    local_only: bool,
    progress: Progress,
    token: Secret | None = None,
) -> Loaded:
    transformers = stack.transformers
    kwargs = load_kwargs(stack, device, dtype)
    if token is not None:  # the .env file's token, which huggingface_hub alone would not find
        kwargs["token"] = token.reveal()
    if local_only:
        progress(f"loading the tokenizer of {name}")
    started = time.perf_counter()
    # trust_remote_code=False, said explicitly: left unset, transformers *asks* on stdin before
    # running a model's own code (stdout polluted, a 15 s wait); chatenv never waits for input.
    tokenizer = transformers.AutoTokenizer.from_pretrained(
        name,
        local_files_only=local_only,
        trust_remote_code=False,
        **({"token": kwargs["token"]} if "token" in kwargs else {}),
    )
    tokenizer_s = time.perf_counter() - started
    if local_only:
        progress(f"loading the weights of {name}")
    started = time.perf_counter()
    model = transformers.AutoModelForCausalLM.from_pretrained(
        name, local_files_only=local_only, trust_remote_code=False, **kwargs
    )
    synchronize(stack.torch, device)
    weights_s = time.perf_counter() - started
    source = "download" if not local_only else "folder" if _is_dir(name) else "cache"
    return Loaded(
        model=model,
        tokenizer=tokenizer,
        device=device,
        dtype=str(model.dtype).removeprefix("torch."),
        source=source,
        tokenizer_s=tokenizer_s,
        weights_s=weights_s,
    )


def _is_dir(name: str) -> bool:
    return Path(name).expanduser().is_dir()


def _not_cached(name: str, answer: hub.HubAnswer, options: LocalOptions) -> StepFailed:
    where = f"the Hugging Face cache ({hub.cache_dir()})"
    download = hub.download_command(name)
    if answer.state is hub.HubState.OFFLINE:
        return StepFailed(
            f"{SECTION}.load",
            *problem("smoke.offline-not-cached").pair(name=name, where=where, download=download),
        )
    if answer.state is hub.HubState.UNREACHABLE:
        return StepFailed(
            f"{SECTION}.load",
            *problem("smoke.hub-unreachable").pair(
                name=name,
                where=where,
                endpoint=answer.endpoint,
                reason=answer.reason,
                download=download,
            ),
        )
    if answer.state is hub.HubState.NOT_FOUND:
        return StepFailed(
            f"{SECTION}.load",
            *problem("smoke.model-not-found").pair(
                name=name, where=where, endpoint=answer.endpoint
            ),
        )
    return _refused(name, answer, options)


def _refused(name: str, answer: hub.HubAnswer, options: LocalOptions) -> StepFailed:
    """A gated model this download may not read, or a token the hub does not know."""
    details = (f"the hub said: {answer.reason}",) if answer.reason else ()
    config, endpoint = options.hf_token, answer.endpoint
    found = config.token if config is not None else None
    if answer.state is hub.HubState.TOKEN_REJECTED:
        from chatenv.keys.hf_token import replace_command

        if config is None or found is None:  # a token huggingface_hub found and we did not
            masked, where, store = "(not shown)", "huggingface_hub", "chatenv configure-key --hf"
        else:
            masked, where, store = found.masked, config.where(found), replace_command(found)
        return StepFailed(
            f"{SECTION}.load",
            *problem("smoke.hf-token-rejected").pair(
                endpoint=endpoint, masked=masked, where=where, store=store
            ),
            details=details,
        )
    if answer.state is hub.HubState.NEEDS_TOKEN and found and config and config.implicit_disabled:
        return StepFailed(
            f"{SECTION}.load",
            *problem("smoke.gated-token-not-sent").pair(name=name),
            details=details,
        )
    if answer.state is hub.HubState.DENIED:
        masked = found.masked if found is not None else "(not shown)"
        pair = problem("smoke.gated-denied").pair(name=name, endpoint=endpoint, masked=masked)
    elif answer.state is hub.HubState.PENDING:
        pair = problem("smoke.gated-pending").pair(name=name, endpoint=endpoint)
    else:
        pair = problem("smoke.gated-needs-token").pair(name=name, endpoint=endpoint)
    return StepFailed(f"{SECTION}.load", *pair, details=details)


def _is_gated(exc: BaseException) -> bool:
    return any(type(e).__name__ == "GatedRepoError" for e in exception_chain(exc))


def _load_failure(
    ref: hub.ModelRef, exc: BaseException, device: str, options: LocalOptions
) -> StepFailed:
    refused = None if ref.is_folder else hub.refused_by_hub(exc, hub.endpoint())
    if refused is not None and refused.state is not hub.HubState.NOT_FOUND:
        return _refused(ref.name, refused, options)
    if _is_gated(exc):
        answer = hub.HubAnswer(hub.HubState.NEEDS_TOKEN, hub.endpoint())
        return _refused(ref.name, answer, options)
    if "trust_remote_code" in str(exc):
        return StepFailed(
            f"{SECTION}.load",
            *problem("smoke.remote-code").pair(name=ref.name),
            details=trace(exc),
        )
    if is_out_of_memory(exc):
        return StepFailed(
            f"{SECTION}.load",
            *problem("smoke.load-out-of-memory").pair(name=ref.name, device=device),
        )
    error = f"{type(exc).__name__}: {one_line(exc)}"
    if ref.is_folder:
        return StepFailed(
            f"{SECTION}.load",
            *problem("smoke.folder-load-failed").pair(name=ref.name, error=error),
            details=trace(exc),
        )
    return StepFailed(
        f"{SECTION}.load",
        *problem("smoke.load-failed").pair(name=ref.name, error=error),
        details=trace(exc),
    )


# -- generating ------------------------------------------------------------------------------


class TokenClock:
    """A `generate` streamer that notes when each new token reaches the host.

    `generate` calls `put` once with the prompt, then once per decoding step with that step's
    token (moved to the CPU, so the device has finished it), then `end`."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.prompt_seen = False
        self.token_times: list[float] = []

    def put(self, value: Any) -> None:
        now = time.perf_counter()
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        self.token_times.append(now)

    def end(self) -> None:
        pass


def generate(loaded: Loaded, options: LocalOptions, torch: Any) -> Generation:
    tokenizer, model = loaded.tokenizer, loaded.model
    try:
        inputs = tokenizer(options.prompt, return_tensors="pt").to(loaded.device)
        prompt_tokens = int(inputs["input_ids"].shape[-1])
        pad = tokenizer.pad_token_id
        clock = TokenClock()
        output = model.generate(
            **inputs,
            max_new_tokens=options.max_new_tokens,
            do_sample=False,
            pad_token_id=pad if pad is not None else tokenizer.eos_token_id,
            streamer=clock,
        )
        synchronize(torch, loaded.device)
        finished = time.perf_counter()
    except Exception as exc:
        raise _generate_failure(exc, loaded) from None
    new_ids = output[0, prompt_tokens:]
    times = clock.token_times
    if not times:
        raise StepFailed(f"{SECTION}.generate", *problem("smoke.no-token").pair())
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else None
    return Generation(
        prompt=options.prompt,
        text=tokenizer.decode(new_ids, skip_special_tokens=True),
        sequence=output[:1].detach(),
        prompt_tokens=prompt_tokens,
        new_tokens=len(times),
        ttft_s=times[0] - clock.started,
        total_s=finished - clock.started,
        tokens_per_s=rate,
    )


def _generate_failure(exc: BaseException, loaded: Loaded) -> StepFailed:
    if is_out_of_memory(exc):
        return StepFailed(
            f"{SECTION}.generate",
            *problem("smoke.generate-out-of-memory").pair(device=loaded.device),
        )
    error = f"{type(exc).__name__}: {one_line(exc)}"
    return StepFailed(
        f"{SECTION}.generate",
        *problem("smoke.generate-failed").pair(device=loaded.device, error=error),
        details=trace(exc),
    )


# -- results ---------------------------------------------------------------------------------


_SOURCES = {"folder": "from the folder", "cache": "from the Hugging Face cache", "download": ""}


def _loaded_result(options: LocalOptions, loaded: Loaded, stack: Stack) -> CheckResult:
    source = _SOURCES[loaded.source] or f"downloaded from {hub.endpoint()}"
    return CheckResult.ok(
        f"{SECTION}.load",
        f"loaded {options.model.name} {source} in {loaded.load_s:.2f}s "
        f"on {loaded.device} ({loaded.dtype})",
        section=SECTION,
        details=(
            f"torch {stack.torch.__version__}, transformers {stack.transformers.__version__}",
            f"tokenizer {loaded.tokenizer_s:.3f}s, weights {loaded.weights_s:.3f}s",
        ),
        data={
            "model": options.model.name,
            "source": loaded.source,
            "device": loaded.device,
            "dtype": loaded.dtype,
            "load_s": round(loaded.load_s, 4),
            "tokenizer_s": round(loaded.tokenizer_s, 4),
            "weights_s": round(loaded.weights_s, 4),
            "torch": str(stack.torch.__version__),
            "transformers": str(stack.transformers.__version__),
        },
    )


def _generated_result(gen: Generation, loaded: Loaded, torch: Any) -> CheckResult:
    peak = peak_memory(torch, loaded.device)
    rate = f", then {gen.tokens_per_s:.1f} tokens/s" if gen.tokens_per_s is not None else ""
    memory = f", peak GPU memory {mib(peak)}" if peak is not None else ""
    plural = "s" if gen.new_tokens != 1 else ""
    return CheckResult.ok(
        f"{SECTION}.generate",
        f"generated {gen.new_tokens} token{plural}: first after {gen.ttft_s * 1000:.0f} ms"
        f"{rate}{memory}",
        section=SECTION,
        details=(f"{gen.prompt_tokens} prompt tokens, {gen.total_s:.3f}s in all",),
        data={
            "prompt": gen.prompt,
            "text": gen.text,
            "prompt_tokens": gen.prompt_tokens,
            "new_tokens": gen.new_tokens,
            "ttft_s": round(gen.ttft_s, 4),
            "generate_s": round(gen.total_s, 4),
            "tokens_per_s": round(gen.tokens_per_s, 2) if gen.tokens_per_s is not None else None,
            "peak_gpu_memory_bytes": peak,
        },
    )
