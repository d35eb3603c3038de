"""How much does `chatenv smoke-test` add to a bare transformers load + generate?

Runs the local stage (`chatenv smoke-test --no-api --json`) and a bare script doing the same
load + greedy generate (AutoTokenizer / AutoModelForCausalLM.from_pretrained with the same
arguments, the same prompt and --max-new-tokens) on the tiny GPT-2 of the test suite, each in a
fresh interpreter with the same environment, alternating which goes first, several times.
Prints the medians of:

- wall: the whole process, start to exit (what a user waits for),
- cpu: the process's CPU time (user + system), which other load on the machine disturbs far
  less than wall time, and
- work: load + generate as each measures it inside (informative only: chatenv has imported
  huggingface_hub and asked torch for its devices before its load timer starts),

and the ratios chatenv / bare (target: wall and cpu within 5 %). Then, in this one process on
one loaded model, chatenv's `generate` (with its timing streamer) against a bare
`model.generate`, alternating, many times: the per-call overhead without the noise of process
start-up.

    python benchmarks/bench_smoke_local.py [--runs 7] [--model PATH] [--device cpu] [--threads N]

--threads sets OMP_NUM_THREADS for both (on a busy CPU, spinning OpenMP threads make every
timing noisy; 1 thread makes the comparison steadier).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHATENV = Path(sys.executable).with_name("chatenv")
PROMPT = "Hello, I'm a language model,"
TARGET = 1.05

BARE = """
import json, sys, time
started = time.perf_counter()
import torch
import transformers

model_path, device, max_new_tokens, prompt = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
imported = time.perf_counter()
# the Auto classes are imported here (transformers imports them lazily), as in chatenv's load
tokenizer = transformers.AutoTokenizer.from_pretrained(model_path, local_files_only=True)
model = transformers.AutoModelForCausalLM.from_pretrained(
    model_path, local_files_only=True, dtype="auto", device_map=device
)
if device.startswith("cuda"):
    torch.cuda.synchronize(device)
loaded = time.perf_counter()
inputs = tokenizer(prompt, return_tensors="pt").to(device)
generating = time.perf_counter()  # chatenv's generate_s, too, starts after tokenizing
output = model.generate(
    **inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.eos_token_id
)
if device.startswith("cuda"):
    torch.cuda.synchronize(device)
generated = time.perf_counter()
text = tokenizer.decode(output[0, inputs["input_ids"].shape[-1]:], skip_special_tokens=True)
print(json.dumps({"import_s": imported - started, "load_s": loaded - imported,
                  "generate_s": generated - generating, "text": text}))
"""


def _env(hf_home: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HF_", "TRANSFORMERS_"))
    }
    env.update({"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "NO_COLOR": "1"})
    return env


def _timed(
    argv: list[str], env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run to completion; the wall time and the child's CPU time (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, wall, cpu


def run_chatenv(model: Path, device: str, tokens: int, env: dict[str, str]) -> dict[str, float]:
    argv = [str(CHATENV), "smoke-test", "--no-api", "--json", "--model", str(model)]
    argv += ["--device", device, "--max-new-tokens", str(tokens), "--prompt", PROMPT]
    done, wall, cpu = _timed(argv, env)
    if done.returncode != 0:
        sys.exit(f"chatenv failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    results = {r["id"]: r["data"] for r in json.loads(done.stdout)["results"]}
    load = results["local.load"]["load_s"]
    generate = results["local.generate"]["generate_s"]
    return {"wall": wall, "cpu": cpu, "work": load + generate, "load": load, "generate": generate}


def run_bare(model: Path, device: str, tokens: int, env: dict[str, str]) -> dict[str, float]:
    argv = [sys.executable, "-c", BARE, str(model), device, str(tokens), PROMPT]
    done, wall, cpu = _timed(argv, env)
    if done.returncode != 0:
        sys.exit(f"bare script failed ({done.returncode}):\n{done.stderr}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    work = found["load_s"] + found["generate_s"]
    load, generate = found["load_s"], found["generate_s"]
    return {"wall": wall, "cpu": cpu, "work": work, "load": load, "generate": generate}


def in_process(model: Path, device: str, tokens: int, runs: int) -> dict[str, list[float]]:
    """Seconds of chatenv's generate and of a bare model.generate on the same model."""
    from chatenv.smoke import hub
    from chatenv.smoke.device import parse_device
    from chatenv.smoke.local import LocalOptions, generate, import_stack, load

    stack = import_stack()
    options = LocalOptions(
        model=hub.model_ref(str(model)),
        prompt=PROMPT,
        max_new_tokens=tokens,
        device=parse_device(device),
    )
    loaded = load(options, stack, device, lambda _: None, hub.probe)
    tokenizer, lm = loaded.tokenizer, loaded.model

    def bare() -> float:
        inputs = tokenizer(PROMPT, return_tensors="pt").to(device)
        started = time.perf_counter()
        lm.generate(
            **inputs,
            max_new_tokens=tokens,
            do_sample=False,
            pad_token_id=tokenizer.eos_token_id,
        )
        if device.startswith("cuda"):
            stack.torch.cuda.synchronize(device)
        return time.perf_counter() - started

    def ours() -> float:
        return generate(loaded, options, stack.torch).total_s

    for _ in range(3):  # warm-up
        bare()
        ours()
    times: dict[str, list[float]] = {"chatenv": [], "bare": []}
    for i in range(runs):
        pair = [("chatenv", ours), ("bare", bare)]
        for name, call in pair if i % 2 == 0 else reversed(pair):
            times[name].append(call())
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--model", type=Path, help="a model folder (default: build the tiny one)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-new-tokens", type=int, default=20)
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS for both")
    args = parser.parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)

    with tempfile.TemporaryDirectory(prefix="bench-smoke-") as tmp:
        model = args.model
        if model is None:
            sys.path.insert(0, str(REPO))
            from tests.tiny_model import build_tiny_gpt2

            model = build_tiny_gpt2(Path(tmp) / "tiny-gpt2")
        env = _env(Path(tmp) / "hf-home")
        measure = {"chatenv": run_chatenv, "bare": run_bare}
        # one unmeasured run each: the first start pays for cold files in the page cache
        for run in measure.values():
            run(model, args.device, args.max_new_tokens, env)
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in measure}
        for i in range(args.runs):
            order = list(measure) if i % 2 == 0 else list(reversed(measure))
            for name in order:
                samples[name].append(measure[name](model, args.device, args.max_new_tokens, env))
        in_process_runs = args.runs * 6
        generate_times = in_process(model, args.device, args.max_new_tokens, in_process_runs)

    threads = os.environ.get("OMP_NUM_THREADS", "default")
    print(f"model {model}, device {args.device}, {args.max_new_tokens} new tokens, ")
    print(f"OMP_NUM_THREADS {threads}, {args.runs} runs each in a fresh process (medians, s)\n")
    columns = ("wall", "cpu", "work", "load", "generate")
    print(f"{'':10}" + "".join(f"{c:>10}" for c in columns) + "   wall min..max")
    medians = {}
    for name, runs in samples.items():
        medians[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        walls = [r["wall"] for r in runs]
        print(
            f"{name:10}"
            + "".join(f"{medians[name][c]:10.3f}" for c in columns)
            + f"   {min(walls):.2f}..{max(walls):.2f}"
        )
    ratios = {c: medians["chatenv"][c] / medians["bare"][c] for c in ("wall", "cpu", "work")}
    print(f"{'ratio':10}" + "".join(f"{ratios[c]:10.3f}" for c in ratios))
    verdict = "within" if max(ratios["wall"], ratios["cpu"]) <= TARGET else "OVER"
    print(
        f"\nchatenv / bare: wall x{ratios['wall']:.3f}, cpu x{ratios['cpu']:.3f}, "
        f"load+generate x{ratios['work']:.3f} ({verdict} the {TARGET - 1:.0%} target)"
    )
    ours, bare = (statistics.median(generate_times[n]) for n in ("chatenv", "bare"))
    ours_min, bare_min = (min(generate_times[n]) for n in ("chatenv", "bare"))
    print(
        f"in-process generate only ({in_process_runs} runs each): median chatenv "
        f"{ours * 1000:.1f} ms, bare {bare * 1000:.1f} ms, x{ours / bare:.3f}; "
        f"min {ours_min * 1000:.1f} / {bare_min * 1000:.1f} ms, x{ours_min / bare_min:.3f}"
    )


if __name__ == "__main__":
    main()
