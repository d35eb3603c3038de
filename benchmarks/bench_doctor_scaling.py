"""Does `chatenv doctor` stay fast, and give the same verdicts, on a bigger machine and a busier
one? Runs `chatenv doctor --offline --json` at 1x, 10x and 100x of three inputs that grow on
real machines, each built for real in a temporary folder:

- installed distributions: dummy `*.dist-info` folders (METADATA with a version and a few
  `Requires-Dist` lines between them) on PYTHONPATH, 60 / 600 / 6,000 of them, on top of this
  environment's own;
- the Hugging Face cache: a hub layout (`models--org--name/blobs`, `snapshots/<rev>/` symlinks
  into blobs, `refs/main`), 10 / 100 / 1,000 models of 4 files each;
- the `.env` file: 300 / 3,000 / 30,000 lines, every tenth one interpolating an earlier one
  (python-dotenv's own interpolation is quadratic in this).

Prints each run's wall time and each section's time, then whether every check's status at 10x
and 100x is the status it had at 1x (the verdicts must not depend on the size or the load).
`--load N` starts N busy processes first (a loaded 2-core machine: load 6 is `--load 6`).

    python benchmarks/bench_doctor_scaling.py [--load 6] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCALES = (1, 10, 100)


def make_site(root: Path, count: int) -> Path:
    site = root / "site"
    site.mkdir()
    for i in range(count):
        info = site / f"bench_pkg_{i}-1.{i % 7}.0.dist-info"
        info.mkdir()
        requires = "".join(f"Requires-Dist: bench-pkg-{j}>=1.0\n" for j in (i - 1, i - 2) if j >= 0)
        extras = "Provides-Extra: dev\nRequires-Dist: pytest>=8; extra == 'dev'\n"
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: bench-pkg-{i}\nVersion: 1.{i % 7}.0\n"
            f"{requires}{extras}\nA long description.\n"
        )
    return site


def make_hub(root: Path, models: int) -> Path:
    hub = root / "hf" / "hub"
    for m in range(models):
        repo = hub / f"models--bench--model-{m}"
        blobs = repo / "blobs"
        snapshot = repo / "snapshots" / "0123456789abcdef"
        blobs.mkdir(parents=True)
        snapshot.mkdir(parents=True)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text("0123456789abcdef")
        for f, name in enumerate(("config.json", "model.safetensors", "tokenizer.json", "vocab")):
            blob = blobs / f"{m:04d}{f:04d}"
            blob.write_bytes(b"x" * (1000 * (f + 1)))
            (snapshot / name).symlink_to(blob)
    return hub.parent


def make_env(root: Path, lines: int) -> Path:
    path = root / ".env"
    body = [
        f"VAR_{i}=${{VAR_{i - 10}}}-{i}" if i % 10 == 0 and i >= 10 else f"VAR_{i}=value-{i}"
        for i in range(lines)
    ]
    path.write_text("\n".join(["OPENAI_API_KEY=sk-proj-" + "A" * 40, *body]) + "\n")
    return path


def busy() -> None:  # pragma: no cover - runs in a child
    while True:
        pass


def run_doctor(chatenv: str, env: dict[str, str], env_file: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(
        [chatenv, "doctor", "--offline", "--json", "--env-file", str(env_file)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    took = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"doctor exited {done.returncode}: {done.stderr.strip()}")
    return took, json.loads(done.stdout)


def verdicts(doc: dict) -> dict[str, str]:
    return {r["id"]: r["status"] for r in doc["results"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=0, help="busy processes to start first")
    parser.add_argument("--runs", type=int, default=3, help="runs at each scale (median shown)")
    args = parser.parse_args()
    chatenv = str(Path(sys.executable).parent / "chatenv")
    workers = [multiprocessing.Process(target=busy, daemon=True) for _ in range(args.load)]
    for w in workers:
        w.start()
    print(f"{os.cpu_count()} CPUs, {args.load} busy processes, {args.runs} runs per scale")
    baseline: dict[str, str] | None = None
    same = True
    try:
        for scale in SCALES:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                site = make_site(root, 60 * scale)
                hf_home = make_hub(root, 10 * scale)
                env_file = make_env(root, 300 * scale)
                env = {
                    **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HF_"))},
                    "PYTHONPATH": str(site),
                    "HF_HOME": str(hf_home),
                    "NO_COLOR": "1",
                }
                runs = [run_doctor(chatenv, env, env_file) for _ in range(args.runs)]
            took = statistics.median(t for t, _ in runs)
            doc = runs[-1][1]
            sections = {s["name"]: s["elapsed_s"] for s in doc["sections"]}
            slowest = sorted(sections.items(), key=lambda kv: -(kv[1] or 0))[:3]
            found = verdicts(doc)
            counts = next(r for r in doc["results"] if r["id"] == "packages.requirements")
            print(
                f"{scale:>3}x: {60 * scale:>5} extra distributions, {10 * scale:>4} models, "
                f"{300 * scale:>5} .env lines: doctor {took:.3f} s "
                f"(slowest: {', '.join(f'{n} {s:.3f}s' for n, s in slowest)}); "
                f"{counts['summary']}"
            )
            if baseline is None:
                baseline = found
                continue
            changed = {k: (baseline.get(k), v) for k, v in found.items() if baseline.get(k) != v}
            if changed:
                same = False
                print(f"     verdicts that changed from 1x: {changed}")
    finally:
        for w in workers:
            w.terminate()
    print("every verdict at 10x and 100x is the one at 1x" if same else "VERDICTS CHANGED")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
