"""`chatenv smoke-test`'s local stage and --train, through the real entry point in a subprocess.

Every run is offline: HF_HOME is a fresh folder, and the hub is either HF_HUB_OFFLINE, a closed
port, or the fake hub on 127.0.0.1 (tests/smoke/fake_hub.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import clean_env
from tests.openai_server import closed_port
from tests.smoke.fake_hub import fake_hub
from tests.tiny_model import put_in_hub_cache

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import RunCli

pytestmark = pytest.mark.slow

LOCAL_ONLY = ("smoke-test", "--no-api")


def _env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    return clean_env(HF_HOME=str(tmp_path / "hf-home"), **overrides)


def _json(stdout: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(stdout)
    return document


def _result(document: dict[str, Any], id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in document["results"] if r["id"] == id)
    return found


def test_local_stage_and_train_on_the_tiny_model_report_json_and_exit_0(
    run_cli: RunCli, tiny_model: Path, tmp_path: Path
) -> None:
    done = run_cli(*LOCAL_ONLY, "--model", str(tiny_model), "--train", "--json", env=_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""  # no progress, no transformers warnings when not a terminal
    document = _json(done.stdout)
    assert document["schema"] == 1
    assert document["command"] == "smoke-test"
    assert document["stages"] == {"local": "ok", "train": "ok"}
    assert [r["id"] for r in document["results"]] == ["local.load", "local.generate", "train.step"]

    load = _result(document, "local.load")["data"]
    assert (load["device"], load["dtype"], load["source"]) == ("cpu", "float32", "folder")
    assert load["load_s"] > 0
    generate = _result(document, "local.generate")["data"]
    assert generate["new_tokens"] == 20
    assert 0 < generate["ttft_s"] < generate["generate_s"]
    assert generate["tokens_per_s"] > 0
    assert generate["prompt"] == "Hello, I'm a language model,"
    train = _result(document, "train.step")["data"]
    assert train["loss_after"] < train["loss_before"]
    assert train["step_s"] > 0


# --device cuda on this (driverless) machine is refused before torch is imported:
# tests/smoke/test_fixes_fit.py. A CPU-only torch on a machine with a GPU keeps its own line
# (smoke.cpu-only-torch), tested through the device seam in tests/smoke/test_device.py.


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--device", "gpu"), "--device 'gpu' is not a device"),
        (("--device", "cuda:x"), "is not a device"),
        (("--max-new-tokens", "0"), "Invalid value for '--max-new-tokens'"),
        (("--model", "./no-such-folder"), "--model ./no-such-folder: no such folder"),
        (("--model", "not a model"), "neither a folder nor a Hugging Face model id"),
        (("--prompt", "  "), "--prompt is empty"),
        (("--dtype", "float8"), "Invalid value for '--dtype'"),
        (("--no-local", "--train"), "--train needs the local stage"),
    ],
)
def test_bad_options_are_usage_errors_with_exit_2(
    run_cli: RunCli, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    done = run_cli(*LOCAL_ONLY, *args, env=_env(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_no_stage_at_all_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    done = run_cli("smoke-test", "--no-local", "--no-api", env=_env(tmp_path))
    assert done.returncode == 2
    assert "nothing to test" in done.stderr


def test_uncached_model_with_hf_hub_offline_says_so_and_how_to_fix_it(
    run_cli: RunCli, tmp_path: Path
) -> None:
    done = run_cli(*LOCAL_ONLY, "--model", "gpt2", env=_env(tmp_path, HF_HUB_OFFLINE="1"))
    assert done.returncode == 1
    cache = tmp_path / "hf-home" / "hub"
    assert (
        f"✗ gpt2 is not in the Hugging Face cache ({cache}) and HF_HUB_OFFLINE is set, "
        "so it cannot be downloaded" in done.stdout
    )
    assert "download it once with HF_HUB_OFFLINE unset: " in done.stdout
    assert "download gpt2" in done.stdout
    assert "or pass a local folder: --model PATH" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_uncached_model_with_an_unreachable_hub_fails_fast_with_the_fix(
    run_cli: RunCli, tmp_path: Path
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    done = run_cli(
        *LOCAL_ONLY,
        "--model",
        "openai-community/gpt2",
        "--timeout",
        "3",
        "--json",
        env=_env(tmp_path, HF_ENDPOINT=endpoint),
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    result = _result(_json(done.stdout), "local.load")
    assert result["status"] == "fail"
    assert result["summary"].endswith(
        f"and the hub at {endpoint} cannot be reached (connection refused)"
    )
    assert "download openai-community/gpt2" in result["fix"]
    assert elapsed < 30  # no minute of huggingface_hub retries


def test_cached_model_loads_from_the_cache_while_the_hub_is_unreachable(
    run_cli: RunCli, tiny_model: Path, tmp_path: Path
) -> None:
    """transformers alone would retry the hub for each file (minutes); the smoke test loads
    what the cache holds without asking the hub."""
    put_in_hub_cache(tiny_model, tmp_path / "hf-home", "tiny/gpt2")
    endpoint = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    done = run_cli(
        *LOCAL_ONLY,
        "--model",
        "tiny/gpt2",
        "--json",
        env=_env(tmp_path, HF_ENDPOINT=endpoint),
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _result(_json(done.stdout), "local.load")["data"]["source"] == "cache"
    assert time.monotonic() - started < 30


def test_first_run_downloads_from_the_hub_and_the_next_needs_no_hub(
    run_cli: RunCli, tiny_model: Path, tmp_path: Path
) -> None:
    with fake_hub() as hub:
        hub.state.add("tiny/gpt2", tiny_model)
        first = run_cli(
            *LOCAL_ONLY,
            "--model",
            "tiny/gpt2",
            "--json",
            env=_env(tmp_path, HF_ENDPOINT=hub.endpoint),
        )
        assert first.returncode == 0, first.stdout + first.stderr
        load = _result(_json(first.stdout), "local.load")
        assert load["data"]["source"] == "download"
        assert load["summary"].startswith(f"loaded tiny/gpt2 downloaded from {hub.endpoint} in ")
        assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(hub.downloaded())

    second = run_cli(
        *LOCAL_ONLY, "--model", "tiny/gpt2", "--json", env=_env(tmp_path, HF_HUB_OFFLINE="1")
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert _result(_json(second.stdout), "local.load")["data"]["source"] == "cache"


def test_a_model_the_hub_does_not_have_is_told_apart_from_no_network(
    run_cli: RunCli, tmp_path: Path
) -> None:
    with fake_hub() as hub:
        done = run_cli(
            *LOCAL_ONLY, "--model", "nobody/nothing", env=_env(tmp_path, HF_ENDPOINT=hub.endpoint)
        )
    assert done.returncode == 1
    assert f"{hub.endpoint} has no model named nobody/nothing" in done.stdout
    assert "check the spelling" in done.stdout


TOKEN = "hf_" + "cL1t0k" * 5 + "MnOp"
OTHER = "hf_" + "bOb0k3" * 5 + "QrSt"
REVOKED = "hf_" + "rEv0k3" * 5 + "UvWx"


def test_a_gated_model_without_a_token_asks_for_access_and_the_token(
    run_cli: RunCli, tiny_model: Path, tmp_path: Path
) -> None:
    with fake_hub() as hub:
        hub.state.add("org/gated", tiny_model, gated=True)
        done = run_cli(
            *LOCAL_ONLY, "--model", "org/gated", env=_env(tmp_path, HF_ENDPOINT=hub.endpoint)
        )
    assert done.returncode == 1, done.stdout
    assert "✗ org/gated is a gated model and no Hugging Face token is sent" in done.stdout
    assert (
        f"request access at {hub.endpoint}/org/gated, then set the token: "
        "chatenv configure-key --hf"
    ) in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_gated_model_downloads_with_the_token_configure_key_put_in_the_env_file(
    run_cli: RunCli, tiny_model: Path, tmp_path: Path
) -> None:
    """HF_TOKEN only in .env (not in the environment): smoke-test sends it, as user code does
    after load_dotenv(), to the access check and with every file."""
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY=sk-unused\nHF_TOKEN={TOKEN}\n")
    with fake_hub() as hub:
        hub.state.add("org/gated", tiny_model, gated=True)
        hub.state.add_user(TOKEN, "alice")
        hub.state.grant("org/gated", "alice")
        done = run_cli(
            *LOCAL_ONLY,
            "--model",
            "org/gated",
            "--json",
            env=_env(tmp_path, HF_ENDPOINT=hub.endpoint),
        )
        # (transformers lists the file tree without the token it was given: public on the hub)
        tokens = {
            token
            for (_, path), token in zip(hub.state.requests, hub.state.tokens, strict=True)
            if "/resolve/" in path or path.endswith("/auth-check")
        }
    assert done.returncode == 0, done.stdout + done.stderr
    assert _result(_json(done.stdout), "local.load")["data"]["source"] == "download"
    assert tokens == {TOKEN}
    assert TOKEN not in done.stdout + done.stderr


def test_a_gated_model_the_tokens_account_may_not_read_says_so(
    run_cli: RunCli, tiny_model: Path, tmp_path: Path
) -> None:
    with fake_hub() as hub:
        hub.state.add("org/gated", tiny_model, gated=True)
        hub.state.add_user(OTHER, "bob")
        done = run_cli(
            *LOCAL_ONLY,
            "--model",
            "org/gated",
            "-v",
            env=_env(tmp_path, HF_ENDPOINT=hub.endpoint, HF_TOKEN=OTHER),
        )
    assert done.returncode == 1, done.stdout
    assert (
        "✗ org/gated is a gated model and the account of the token hf_…QrSt is not on its "
        "authorized list"
    ) in done.stdout
    assert f"request access at {hub.endpoint}/org/gated, signed in as the token's account" in (
        done.stdout
    )
    assert "you are not in the authorized list" in done.stdout  # the hub's words, under -v
    assert OTHER not in done.stdout + done.stderr


def test_a_revoked_token_is_named_even_for_a_public_model(
    run_cli: RunCli, tiny_model: Path, tmp_path: Path
) -> None:
    with fake_hub() as hub:
        hub.state.add("tiny/gpt2", tiny_model)
        done = run_cli(
            *LOCAL_ONLY,
            "--model",
            "tiny/gpt2",
            env=_env(tmp_path, HF_ENDPOINT=hub.endpoint, HF_TOKEN=REVOKED),
        )
    assert done.returncode == 1, done.stdout
    assert (
        f"✗ the hub at {hub.endpoint} refused the Hugging Face token hf_…UvWx from HF_TOKEN in "
        "the environment"
    ) in done.stdout
    assert (
        f"create a new token at {hub.endpoint}/settings/tokens, then: unset HF_TOKEN && "
        "chatenv configure-key --hf"
    ) in done.stdout
    assert REVOKED not in done.stdout + done.stderr


def _blocking(tmp_path: Path, module: str) -> Path:
    """A sitecustomize that makes `import <module>` fail as if it were not installed."""
    site = tmp_path / f"no-{module}"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import importlib.abc, sys\n"
        "class _Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r} or name.startswith({module + '.'!r}):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _Block())\n"
    )
    return site


@pytest.mark.parametrize("module", ["torch", "transformers"])
def test_missing_torch_or_transformers_gives_the_install_fix(
    run_cli: RunCli, tiny_model: Path, tmp_path: Path, module: str
) -> None:
    site = _blocking(tmp_path, module)
    done = run_cli(
        *LOCAL_ONLY, "--model", str(tiny_model), env=_env(tmp_path, PYTHONPATH=str(site))
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"  ✗ {module} is not installed" in done.stdout
    assert "      fix: chatenv install local" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_the_blocker_really_blocks(tmp_path: Path) -> None:
    """The missing-module test above means something only if the import really fails."""
    import subprocess

    site = _blocking(tmp_path, "torch")
    done = subprocess.run(
        [sys.executable, "-c", "import torch"],
        env=clean_env(PYTHONPATH=str(site)),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 1
    assert "No module named 'torch'" in done.stderr


def test_smoke_test_help_imports_no_heavy_module() -> None:
    from tests.test_cli import HEAVY, _modules_after

    assert _modules_after(["smoke-test", "--help"]) == dict.fromkeys(HEAVY, False)


def _run_with_stderr_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal (as in a shell) and stdout on a pipe."""
    import os
    import pty
    import subprocess

    from tests.conftest import CHATENV

    leader, follower = pty.openpty()
    with subprocess.Popen(
        [str(CHATENV), *args], stdout=subprocess.PIPE, stderr=follower, env=env, text=True
    ) as process:
        os.close(follower)
        terminal = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            terminal += chunk
        stdout = process.stdout.read() if process.stdout else ""
        code = process.wait(timeout=120)
    os.close(leader)
    return code, stdout, terminal.decode("utf-8", errors="replace")


def test_on_a_terminal_progress_goes_to_stderr_and_the_report_shows_marks_timings_and_text(
    tiny_model: Path, tmp_path: Path
) -> None:
    env = _env(tmp_path)
    env.pop("NO_COLOR")
    args = [*LOCAL_ONLY, "--model", str(tiny_model), "--prompt", "The quick brown fox"]
    code, stdout, terminal = _run_with_stderr_on_a_terminal([*args, "--max-new-tokens", "5"], env)
    assert code == 0, stdout + terminal
    assert "loading the weights of" in terminal
    assert "generating 5 tokens" in terminal
    lines = stdout.splitlines()
    assert lines[0] == "Local generation"
    assert lines[1].startswith(f"  ✓ loaded {tiny_model} from the folder in ")
    assert lines[1].endswith(" on cpu (float32)")
    assert lines[2].startswith("  ✓ generated 5 tokens: first after ")
    assert "tokens/s" in lines[2]
    assert lines[3].startswith("      “The quick brown fox")
    assert lines[-1] == "2 ok, 0 warnings, 0 failed, 0 skipped"

    code, stdout, terminal = _run_with_stderr_on_a_terminal([*args, "--json"], env)
    assert code == 0
    assert terminal == ""  # --json: no progress, even on a terminal
    assert json.loads(stdout)["ok"] is True


@pytest.mark.parametrize("hub_env", ["offline", "closed-port"])
def test_an_uncached_model_the_hub_cannot_supply_fails_before_importing_torch(
    hub_env: str, tmp_path: Path
) -> None:
    """Saying "not cached, hub unreachable" needs no torch: it comes in about a second, not
    after the seconds an import of torch and transformers takes."""
    if hub_env == "offline":
        env = _env(tmp_path, HF_HUB_OFFLINE="1")
    else:
        env = _env(tmp_path, HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    probe = (
        "import sys, json, io, contextlib\n"
        "sys.argv = ['chatenv', 'smoke-test', '--no-api', '--model', 'gpt2', '--json']\n"
        "from chatenv.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as exc:\n"
        "        code = exc.code\n"
        "doc = json.loads(out.getvalue())\n"
        "print(json.dumps({'code': code, 'torch': 'torch' in sys.modules,\n"
        "    'transformers': 'transformers' in sys.modules, 'results': doc['results']}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert (seen["code"], seen["torch"], seen["transformers"]) == (1, False, False)
    [load] = seen["results"]
    assert (load["id"], load["status"]) == ("local.load", "fail")
    assert "gpt2 is not in the Hugging Face cache" in load["summary"]
