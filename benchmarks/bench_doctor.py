"""How fast is `chatenv doctor`, next to the floor under it and to `python -m
torch.utils.collect_env`?

Times whole processes, as a user meets them: `chatenv doctor --offline --json`, the floor
(benchmarks/doctor_floor.py: only what any doctor must do: start Python, read every
distribution's metadata, try to load NVML, measure the disk, print JSON; and, for comparison,
the floor that also checks version ranges with packaging, and the floor reading metadata
through importlib.metadata), `chatenv --help` and
torch's own environment report, run in turns (so machine noise hits all alike), several times
each after one warm-up run. Prints the median, min and max wall time, the median peak RSS of
each (from `os.wait4`, per child), doctor's ratio to the floor, and how many times faster
doctor is than collect_env.

    python benchmarks/bench_doctor.py [--runs 7] [--no-collect-env]

Targets (on a 2-core CPU machine with torch installed): doctor within 1.3x of the floor issue
13 set (interpreter, base imports, every distribution's metadata through importlib.metadata,
an NVML load attempt, disk usage, JSON out: `doctor_floor.py --importlib`, ~0.105 s there), at
least 10x faster than collect_env and under 70 MB peak RSS; `chatenv --help` at most 0.25 s.
The two lower floors (metadata read by hand, with or without packaging's range checks) have no
target: they show how far a script that checks nothing can go, and doctor's ratio to each is
printed beside it.

A wheel install compiles chatenv's bytecode; an editable install under PYTHONDONTWRITEBYTECODE
never does. So that the figures are a user's, this script compiles chatenv's package once
(into its __pycache__ folders, which git ignores) before measuring.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

TARGET_RATIO = 10.0
TARGET_FLOOR_RATIO = 1.3
FLOOR = Path(__file__).with_name("doctor_floor.py")
TARGET_RSS_MB = 70.0
TARGET_HELP_S = 0.25


@dataclass
class Measured:
    name: str
    argv: list[str]
    seconds: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def median_rss(self) -> float:
        return statistics.median(self.rss_mb) if self.rss_mb else float("nan")


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB, and exit code of one run of a whole process."""
    started = time.perf_counter()
    child = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in kilobytes on Linux, bytes on macOS
    rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return elapsed, rss, child.returncode


def compile_chatenv() -> Path:
    import chatenv

    package = Path(chatenv.__file__).parent
    compileall.compile_dir(str(package), quiet=1)
    return package


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="measured runs of each command")
    parser.add_argument(
        "--no-collect-env", action="store_true", help="skip torch's collect_env (no torch here)"
    )
    args = parser.parse_args()

    bindir = Path(sys.executable).parent
    chatenv = str(bindir / ("chatenv.exe" if os.name == "nt" else "chatenv"))
    env = {**os.environ, "NO_COLOR": "1"}
    package = compile_chatenv()
    commands = [
        Measured("chatenv doctor --offline --json", [chatenv, "doctor", "--offline", "--json"]),
        Measured("chatenv --help", [chatenv, "--help"]),
        Measured("the floor (doctor_floor.py)", [sys.executable, str(FLOOR)]),
        Measured("the floor --packaging", [sys.executable, str(FLOOR), "--packaging"]),
        Measured("the floor --importlib", [sys.executable, str(FLOOR), "--importlib"]),
    ]
    if not args.no_collect_env:
        commands.append(
            Measured(
                "python -m torch.utils.collect_env",
                [sys.executable, "-m", "torch.utils.collect_env"],
            )
        )

    print(f"python {sys.version.split()[0]} at {sys.executable}", file=sys.stderr)
    print(f"chatenv bytecode compiled in {package}", file=sys.stderr)
    print(f"{os.cpu_count()} CPUs; {args.runs} runs each after one warm-up", file=sys.stderr)
    for command in commands:  # warm-up: file cache, bytecode
        run_once(command.argv, env)
    for _ in range(args.runs):
        for command in commands:
            seconds, rss, code = run_once(command.argv, env)
            command.seconds.append(seconds)
            command.rss_mb.append(rss)
            if code not in (0, 1):  # doctor exits 1 when a check fails: still a full run
                command.failures.append(f"exit {code}")

    width = max(len(c.name) for c in commands)
    print(f"{'command':<{width}}  {'median':>8}  {'min':>8}  {'max':>8}  {'peak RSS':>9}")
    for c in commands:
        print(
            f"{c.name:<{width}}  {c.median_s:7.3f}s  {min(c.seconds):7.3f}s  "
            f"{max(c.seconds):7.3f}s  {c.median_rss:6.1f} MB"
            + (f"  ({', '.join(sorted(set(c.failures)))})" if c.failures else "")
        )

    doctor, help_, issue_floor = commands[0], commands[1], commands[4]
    ok = True
    print()
    over = doctor.median_s / issue_floor.median_s
    met = over <= TARGET_FLOOR_RATIO
    ok &= met
    print(f"doctor takes {over:.2f}x {issue_floor.name}, the floor issue 13 set "
          f"(target <= {TARGET_FLOOR_RATIO:g}x): {'met' if met else 'MISSED'}")  # fmt: skip
    for lower, does in (
        (commands[3], "reads metadata by hand, checks version ranges with packaging"),
        (commands[2], "reads metadata by hand, checks nothing"),
    ):
        print(f"  and {doctor.median_s / lower.median_s:.2f}x {lower.name} (no target: {does})")
    if len(commands) > 5:
        ratio = commands[5].median_s / doctor.median_s
        met = ratio >= TARGET_RATIO
        ok &= met
        print(f"doctor is {ratio:.1f}x faster than collect_env (target >= {TARGET_RATIO:g}x): "
              f"{'met' if met else 'MISSED'}")  # fmt: skip
    met = doctor.median_rss < TARGET_RSS_MB
    ok &= met
    print(f"doctor peak RSS {doctor.median_rss:.1f} MB (target < {TARGET_RSS_MB:g} MB): "
          f"{'met' if met else 'MISSED'}")  # fmt: skip
    met = help_.median_s <= TARGET_HELP_S
    ok &= met
    print(f"--help {help_.median_s:.3f} s (target <= {TARGET_HELP_S:g} s): "
          f"{'met' if met else 'MISSED'}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
