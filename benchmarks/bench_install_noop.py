"""How long a no-op `chatenv install` takes (target: under 1 s), end to end as a user runs it.

A no-op must not start any installer: it reads the target's metadata and torch/version.py,
sees that every pin is satisfied and the torch build is the right one, and stops.

Scenarios:
- api-venv: `chatenv install api --python <fresh venv>` where the venv holds openai and
  python-dotenv (written as dist-info metadata, which is all a no-op reads);
- local-here: `chatenv install local` against the environment this script runs in (real torch,
  transformers, ...; skipped when they are not installed there);
- all-here: `chatenv install all` against the same environment.

Usage: python benchmarks/bench_install_noop.py [--runs 15]
Prints the median, min and max wall time of each scenario (the `chatenv` console script in a
subprocess, as a user would start it), and the in-process time of the planning step alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHATENV = Path(sys.executable).with_name("chatenv")
TARGET_S = 1.0


def _write_dist(site: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> None:
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (dist / "METADATA").write_text("\n".join(lines) + "\n")


def _api_venv(root: Path) -> Path:
    base = getattr(sys, "_base_executable", None) or sys.executable
    venv = root / "venv"
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python3*/site-packages"))
    _write_dist(site, "openai", "1.99.0", ("httpx>=0.23",))
    _write_dist(site, "httpx", "0.28.1")
    _write_dist(site, "python-dotenv", "1.2.2")
    return venv


def _time(args: list[str], runs: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode != 0 or "Nothing to do" not in done.stdout:
            raise SystemExit(f"not a no-op: {' '.join(args)}\n{done.stdout}\n{done.stderr}")
    return times


def _in_process(profile: str, python: str | None, runs: int) -> list[float]:
    from chatenv.install.command import InstallOptions, prepare

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        prepared = prepare(InstallOptions(profiles=(profile,), python=python))
        times.append(time.perf_counter() - started)
        assert prepared.plan.nothing_to_do
    return times


def _report(name: str, times: list[float]) -> str:
    median = statistics.median(times)
    verdict = "ok" if median < TARGET_S else f"SLOWER than the {TARGET_S:.0f} s target"
    return (
        f"{name:<28} median {median * 1000:7.1f} ms   min {min(times) * 1000:7.1f} ms   "
        f"max {max(times) * 1000:7.1f} ms   ({len(times)} runs, {verdict})"
    )


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    # No uv on PATH and an installer that cannot exist: a no-op must need neither.
    env = dict(os.environ, PATH=os.defpath, NO_COLOR="1")
    lines = []
    with tempfile.TemporaryDirectory(prefix="chatenv-bench-") as tmp:
        venv = _api_venv(Path(tmp))
        cmd = [str(CHATENV), "install", "api", "--python", str(venv), "--installer", "uv"]
        lines.append(_report("cli: api-venv", _time(cmd, args.runs, env)))
        lines.append(_report("prepare(): api-venv", _in_process("api", str(venv), args.runs)))
    if _has("torch") and _has("transformers") and _has("openai"):
        for profile in ("local", "all"):
            cmd = [str(CHATENV), "install", profile, "--installer", "uv"]
            lines.append(_report(f"cli: {profile}-here", _time(cmd, args.runs, env)))
        lines.append(_report("prepare(): all-here", _in_process("all", None, args.runs)))
    else:
        lines.append("local-here, all-here: skipped (torch, transformers or openai not installed)")
    print(f"chatenv install no-op ({sys.platform}, Python {sys.version.split()[0]})")
    for line in lines:
        print("  " + line)


if __name__ == "__main__":
    main()
