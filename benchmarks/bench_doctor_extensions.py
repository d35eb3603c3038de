"""What doctor's extensions and loading sections add to a run, measured in-process.

Whole-process timings (bench_doctor.py) on a shared 2-core machine move by tens of ms from run
to run, more than these sections cost; this measures their two costs directly:

- import: the two section modules (and the ELF, ld.so and extension-table modules they bring)
  imported after the rest of doctor, in a fresh interpreter each time;
- collect: each section's `collect` on this environment, its shared observations (the installed
  distributions, torch's build) already made, as the runner shares them;
- the same `collect` on a large made-up environment: 30 compiled packages of 8 shared objects
  each beside a CUDA torch with its nvidia-* wheels and an LD_LIBRARY_PATH folder, to show how
  the cost grows (linearly, with the shared objects read).

    python benchmarks/bench_doctor_extensions.py [--runs 15]

Target: the two sections add at most 5 ms (import + collect) to a doctor run on a typical
virtualenv with torch. Judged on the fastest of the runs, as `timeit` advises: on a shared
machine the other runs measure the other processes too (the medians are printed beside it).
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 5.0
REPO = Path(__file__).resolve().parents[1]

_IMPORT_PROBE = """
import importlib, time
for name in ("chatenv.cli.doctor_fast", "chatenv.doctor.runner", "chatenv.doctor.context",
             "chatenv.installed", "chatenv.problems", "chatenv.output", "chatenv.doctor.platform",
             "chatenv.doctor.python_env", "chatenv.doctor.packages", "chatenv.doctor.gpu",
             "chatenv.doctor.torch_build", "chatenv.doctor.deep", "chatenv.doctor.frameworks",
             "chatenv.doctor.disk", "chatenv.doctor.openai_config",
             "chatenv.doctor.dotenv_hygiene", "chatenv.doctor.network"):
    importlib.import_module(name)
started = time.perf_counter()
import chatenv.doctor.extensions, chatenv.doctor.loading
print(time.perf_counter() - started)
"""


def import_ms(runs: int) -> list[float]:
    return [
        1000
        * float(
            subprocess.run(
                [sys.executable, "-c", _IMPORT_PROBE], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]


def collect_ms(runs: int, **options: object) -> dict[str, list[float]]:
    from chatenv.doctor import extensions, loading
    from chatenv.doctor.context import Context, DoctorOptions

    times: dict[str, list[float]] = {"extensions": [], "loading": []}
    for _ in range(runs + 1):  # the first run warms the file cache
        ctx = Context(DoctorOptions(**options))  # type: ignore[arg-type]
        _ = ctx.installed, ctx.torch
        for name, section in (("extensions", extensions), ("loading", loading)):
            started = time.perf_counter()
            section.collect(ctx)
            times[name].append(1000 * (time.perf_counter() - started))
    return {name: found[1:] for name, found in times.items()}


def large_environment(root: Path) -> dict[str, object]:
    """30 compiled packages of 8 shared objects, a CUDA torch, a cuDNN on LD_LIBRARY_PATH."""
    sys.path.insert(0, str(REPO))
    from tests.ext_sites import write_cuda_torch, write_extension
    from tests.system.test_ld_search import make_lib

    from chatenv import extension_builds
    from chatenv.system.seams import Seams

    site = root / "site-packages"
    write_cuda_torch(site)
    names = [k.name for k in extension_builds.KNOWN][:30]
    for name in names:
        module = name.replace("-", "_")
        objects = {
            f"{module}/_C{i}.so": {"needed": ["libc10.so", "libcudart.so.13", "libc.so.6"]}
            for i in range(8)
        }
        write_extension(site, name, "1.0.0", requires=["torch==2.14.1"], objects=objects)
    toolkit = root / "cuda" / "lib64"
    make_lib(toolkit, "libcudnn.so.9.1.0", "libcudnn.so.9")
    return {
        "environ": {"LD_LIBRARY_PATH": str(toolkit)},
        "cwd": root,
        "seams": Seams(sys_path=(str(site),)),
    }


def show(name: str, values: list[float]) -> tuple[float, float]:
    median = statistics.median(values)
    print(f"  {name:<28} median {median:6.2f} ms   min {min(values):6.2f} ms")
    return min(values), median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    import chatenv

    compileall.compile_dir(str(Path(chatenv.__file__).parent), quiet=1)

    print(f"this environment ({sys.prefix}), {args.runs} runs:")
    fastest, median = show("import (both sections)", import_ms(args.runs))
    for name, values in collect_ms(args.runs).items():
        more = show(f"collect: {name}", values)
        fastest, median = fastest + more[0], median + more[1]
    with tempfile.TemporaryDirectory() as tmp:
        options = large_environment(Path(tmp))
        print("a large environment (30 packages x 8 shared objects, a CUDA torch):")
        for name, values in collect_ms(args.runs, **options).items():
            show(f"collect: {name}", values)
    met = fastest <= TARGET_MS
    print(f"\nadded to a doctor run here: {fastest:.2f} ms at best, {median:.2f} ms median "
          f"(target <= {TARGET_MS:g} ms): {'met' if met else 'MISSED'}")  # fmt: skip
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
