"""What a project file costs `chatenv doctor`: the project section's time, and the whole run's,
on projects built for real in a temporary folder at three sizes:

- small: a pyproject.toml with 10 dependencies and a [tool.chatenv] table (env, a model);
- large: 200 dependencies, a requirements.txt of 300 lines, a uv.lock of 1,000 packages, and
  2,000 Python files (one in ten mentions openai, one in fifty makes a v0 call);
- huge: the same with 10,000 Python files (the scan stops at its cap of 5,000) and a uv.lock
  of 5,000 packages.

Prints, per size, the median wall time of `chatenv doctor --offline --json` (three runs), the
project section's own time (from the JSON `sections`), and the same run in a folder without a
project file, for the difference.

    python benchmarks/bench_project.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHATENV = Path(sys.executable).with_name("chatenv")
SIZES = {
    "small": {"deps": 10, "requirements": 0, "lock": 0, "files": 0},
    "large": {"deps": 200, "requirements": 300, "lock": 1_000, "files": 2_000},
    "huge": {"deps": 200, "requirements": 300, "lock": 5_000, "files": 10_000},
}
V0 = 'import openai\nopenai.Completion.create(engine="text-davinci-003", prompt="x")\n'
V1 = "from openai import OpenAI\nclient = OpenAI()\n"
PLAIN = "def f(x):\n    return x * 2\n" * 20


def build(root: Path, deps: int, requirements: int, lock: int, files: int) -> Path:
    root.mkdir(parents=True)
    (root / ".git").mkdir()
    names = [f"bench-dep-{i}" for i in range(deps)]
    dependencies = "".join(f'    "{n}>=1.0",\n' for n in names)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "bench"\nversion = "0.1.0"\ndependencies = [\n{dependencies}]\n\n'
        '[tool.chatenv]\nprofiles = ["api"]\n\n[tool.chatenv.env]\n'
        'HF_TOKEN = "https://huggingface.co/settings/tokens"\n\n'
        '[[tool.chatenv.models]]\nid = "meta-llama/Llama-3.1-8B-Instruct"\nparams = "8B"\n'
    )
    if requirements:
        lines = "".join(
            f"bench-req-{i}>=0.{i % 9}  # pinned for a reason\n" for i in range(requirements)
        )
        (root / "requirements.txt").write_text(lines)
    if lock:
        parts = ['version = 1\nrevision = 2\nrequires-python = ">=3.10"\n']
        root_deps = "".join(f'    {{ name = "bench-lock-{i}" }},\n' for i in range(lock))
        parts.append(
            '\n[[package]]\nname = "bench"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
            f"dependencies = [\n{root_deps}]\n"
        )
        for i in range(lock):
            parts.append(
                f'\n[[package]]\nname = "bench-lock-{i}"\nversion = "1.{i % 5}.0"\n'
                'source = { registry = "https://pypi.org/simple" }\n'
                f'wheels = [{{ url = "https://files.example/bench_lock_{i}-1.0-py3-none-any.whl", '
                'hash = "sha256:00", size = 1000 }]\n'
            )
        (root / "uv.lock").write_text("".join(parts))
    for i in range(files):
        folder = root / "src" / f"pkg{i // 100}"
        folder.mkdir(parents=True, exist_ok=True)
        text = V0 if i % 50 == 0 else V1 if i % 10 == 0 else PLAIN
        (folder / f"mod{i}.py").write_text(text)
    return root


def run(folder: Path, home: Path) -> tuple[float, float | None]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HF_"))},
        "HOME": str(home),
        "HF_HOME": str(home / "hf"),
    }
    started = time.perf_counter()
    done = subprocess.run(
        [str(CHATENV), "doctor", "--offline", "--json"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    doc = json.loads(done.stdout)
    section = next((s["elapsed_s"] for s in doc["sections"] if s["name"] == "project"), None)
    return wall, section


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chatenv-bench-project-") as tmp:
        home = Path(tmp)
        bare = home / "no-project"
        bare.mkdir()
        (bare / ".git").mkdir()
        walls = [run(bare, home)[0] for _ in range(args.runs)]
        print(f"{'no project file':<16} doctor {statistics.median(walls):.2f} s")
        for name, size in SIZES.items():
            folder = build(home / name, **size)
            found = [run(folder, home) for _ in range(args.runs)]
            wall = statistics.median(w for w, _ in found)
            # sections run at once: the project section's own time is from the common start
            section = statistics.median(s for _, s in found if s is not None)
            print(f"{name:<16} doctor {wall:.2f} s, project section done at {section:.2f} s")


if __name__ == "__main__":
    main()
