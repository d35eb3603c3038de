"""A real LiteLLM proxy on 127.0.0.1 for the test suite (the `litellm_proxy` fixture).

LiteLLM's proxy is installed from PyPI into a virtualenv of its own (with uv, from the test
extra), not into the suite's: `litellm[proxy]` pins huggingface-hub below 2 and rich below 14,
which would change the environment every other test runs in. The version is pinned: the shapes
the tests expect were recorded from this release (and 1.107.0 was a compromised release).

The config it is started with: models that answer with `mock_response` (no provider is called,
nothing leaves the machine), one with a budget so small one call spends it, one whose
`mock_timeout` makes LiteLLM time it out, a master key, no database, no retries.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

LITELLM = "litellm[proxy]==1.108.7"
#: seconds the proxy may take to start (it imports a great deal: ~11 s on 2 idle cores)
START_TIMEOUT_S = 120.0
CHAT_MODEL = "mock-gpt"
BUDGET_MODEL = "mock-budget"
TIMEOUT_MODEL = "mock-timeout"
REPLY = "Hello from the LiteLLM proxy."

CONFIG = """\
model_list:
  - model_name: {chat}
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: not-used-mock-response
      mock_response: "{reply}"
  - model_name: {budget}
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: not-used-mock-response
      mock_response: "Spent."
      max_budget: 0.000001
      budget_duration: 1d
  - model_name: {timeout}
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: not-used-mock-response
      mock_timeout: true
      timeout: 0.5
general_settings:
  master_key: {master_key}
litellm_settings:
  num_retries: 0
router_settings:
  num_retries: 0
"""


class CannotInstall(Exception):
    """litellm[proxy] cannot be installed here (no uv, no package index)."""


@dataclass
class LiteLLMProxy:
    base_url: str
    master_key: str
    log: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


def install(venv: Path) -> Path:
    """The `litellm` command of a fresh virtualenv with LITELLM in it."""
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(uv).exists() and shutil.which(uv) is None:
        raise CannotInstall("uv is not installed")
    for argv in (
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), LITELLM],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
            raise CannotInstall(lines[-1])
    return venv / "bin" / "litellm"


def start(litellm: Path, folder: Path) -> LiteLLMProxy:
    master_key = "sk-chatenv-master-" + secrets.token_hex(12)
    config = folder / "config.yaml"
    config.write_text(
        CONFIG.format(
            chat=CHAT_MODEL,
            budget=BUDGET_MODEL,
            timeout=TIMEOUT_MODEL,
            reply=REPLY,
            master_key=master_key,
        ),
        encoding="utf-8",
    )
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and not k.startswith(("OPENAI_", "LITELLM_"))
    }
    # the model prices ship in the package: no fetch of the remote cost map at start-up
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    log = folder / "litellm.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(litellm), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
        )
    proxy = LiteLLMProxy(f"http://127.0.0.1:{port}/v1", master_key, log, process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/liveliness", timeout=2):
                return proxy
        except (urllib.error.URLError, OSError):
            time.sleep(0.25)
    proxy.stop()
    tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:]
    raise RuntimeError("the LiteLLM proxy did not start:\n" + "\n".join(tail))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
