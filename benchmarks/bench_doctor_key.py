"""What doctor's key check (one GET /models, chatenv.api.probe) costs.

Times `chatenv doctor --json` with a key and OPENAI_BASE_URL at the suite's OpenAI-compatible test
server on 127.0.0.1 (so the network section makes its TCP check and the GET), next to the same
run with --offline (no network section at all), in turns, after one warm-up each. Prints the
median, min and max wall time of each and the difference. The server answers in about a
millisecond: the difference is doctor's own cost (the stdlib HTTP client, the answer's
classification), not a real server's latency.

    python benchmarks/bench_doctor_key.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.openai_server import TEST_KEY, OpenAIServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    chatenv = str(Path(sys.executable).with_name("chatenv"))
    server = OpenAIServer().start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HF_"))}
    env.update(
        OPENAI_API_KEY=TEST_KEY,
        OPENAI_BASE_URL=server.base_url,
        HF_HUB_OFFLINE="1",
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
    )
    commands = {
        "doctor --json (key check)": [chatenv, "doctor", "--json"],
        "doctor --offline --json": [chatenv, "doctor", "--offline", "--json"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    try:
        for turn in range(runs + 1):
            for name, argv in commands.items():
                started = time.perf_counter()
                subprocess.run(argv, env=env, capture_output=True, check=False)
                if turn:  # the first turn warms the caches
                    times[name].append(time.perf_counter() - started)
        requests = sum(1 for r in server.requests if r.path == "/v1/models")
    finally:
        server.close()
    for name, seconds in times.items():
        print(
            f"{name:28} median {statistics.median(seconds):.3f} s "
            f"(min {min(seconds):.3f}, max {max(seconds):.3f}, {runs} runs)"
        )
    keyed, offline = (statistics.median(times[n]) for n in commands)
    print(f"key check and network section: +{keyed - offline:.3f} s; GET /models sent {requests}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
