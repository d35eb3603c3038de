"""`chatenv init`: a first project file written from this machine, as users run it (the real
console script in projects built in tmp_path), and the starter's choices for machines a test
describes (dist-info folders, NVML answers of real GPUs)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import jsonschema

from chatenv.commands.init import run_init
from chatenv.project.file import load
from chatenv.schemas import schema_text
from chatenv.system.seams import Seams
from tests.conftest import clean_env
from tests.fakes import machines as fake
from tests.project.conftest import make_project
from tests.sites import write_dist, write_torch

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import RunCli

TOKEN = "hf_" + "N0tInTheFileAbCdEfGhIj" * 2
PYPROJECT = """
[project]
name = "bot"  # keep this comment
dependencies = ["openai>=1.40", "transformers>=4.46"]
"""
CODE = """
import os
from openai import OpenAI
from transformers import AutoModelForCausalLM, pipeline

token = os.environ["HF_TOKEN"]
debug = os.getenv("BOT_DEBUG", "0")
rank = os.environ.get("LOCAL_RANK")
model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-3.1-8B-Instruct")
judge = pipeline("text-generation", model="Qwen/Qwen2.5-0.5B-Instruct")
client = OpenAI()
reply = client.chat.completions.create(model="gpt-4.1-nano", messages=[])
"""


def test_init_appends_a_table_the_reader_reads_and_keeps_every_byte_before_it(
    run_cli: RunCli, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "bot", {"pyproject.toml": PYPROJECT, "src/bot.py": CODE})
    before = (root / "pyproject.toml").read_bytes()
    env = clean_env(HOME=str(tmp_path), HF_HOME=str(tmp_path / "hf"), HF_TOKEN=TOKEN)
    done = run_cli("init", "--json", cwd=root / "src", env=env)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    jsonschema.validate(doc, json.loads(schema_text("init")))
    assert doc["path"] == str(root / "pyproject.toml") and doc["dry_run"] is False
    after = (root / "pyproject.toml").read_bytes()
    assert after.startswith(before) and after[len(before) :].decode() == "\n" + doc["text"]
    assert TOKEN not in after.decode() + done.stdout + done.stderr
    project = load(root / "pyproject.toml")
    assert project.unknown == ()
    s = project.settings
    assert s.profiles == ("api", "local")
    assert s.packages.also == ()  # the project declares its packages: nothing restated
    env_needs = {e.name: e for e in s.env}
    assert set(env_needs) == {"HF_TOKEN", "BOT_DEBUG"}  # LOCAL_RANK is the machine's
    assert env_needs["HF_TOKEN"].required and not env_needs["BOT_DEBUG"].required
    assert env_needs["HF_TOKEN"].url == "https://huggingface.co/settings/tokens"
    assert [m.ref for m in s.models] == [
        "meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct",
    ]  # fmt: skip
    assert s.api.model == "gpt-4.1-nano"
    # doctor now judges by it
    again = run_cli("doctor", "--offline", "--json", cwd=root, env=env)
    ids = {r["id"] for r in json.loads(again.stdout)["results"]}
    assert {"project.file", "project.packages", "project.env.HF_TOKEN"} <= ids


def test_a_second_init_refuses_and_dry_run_writes_nothing(run_cli: RunCli, tmp_path: Path) -> None:
    root = make_project(tmp_path / "bot", {"pyproject.toml": PYPROJECT})
    env = clean_env(HOME=str(tmp_path))
    assert run_cli("init", cwd=root, env=env).returncode == 0
    written = (root / "pyproject.toml").read_text()
    again = run_cli("init", cwd=root, env=env)
    assert again.returncode == 1
    assert again.stderr.splitlines()[0] == (
        f"error: {root / 'pyproject.toml'} is this project's project file already"
    )
    dry = run_cli("init", "--dry-run", cwd=root, env=env)
    assert dry.returncode == 0 and dry.stdout.startswith("[tool.chatenv]\n")
    assert (root / "pyproject.toml").read_text() == written


def test_without_declarations_a_chatenv_toml_names_the_installed_stack(
    run_cli: RunCli, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "scripts", {"run.py": "print('hi')\n"})
    env = clean_env(HOME=str(tmp_path))
    done = run_cli("init", cwd=root, env=env)
    assert done.returncode == 0, done.stderr
    project = load(root / "chatenv.toml")
    also = {a.split("~=")[0].split(">=")[0]: a for a in project.settings.packages.also}
    assert also["torch"].startswith("torch~=2.13.")  # held to its minor release
    assert also["transformers"].startswith("transformers>=")
    forced = run_cli("init", "--force", cwd=root, env=env)
    assert forced.returncode == 0
    refused = run_cli("init", cwd=root, env=env)
    assert refused.returncode == 1 and "(--force replaces it)" in refused.stderr


def test_a_cuda_machine_writes_its_torch_and_its_gpus_as_comments(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for name, version in {"openai": "1.99.0", "transformers": "4.57.1"}.items():
        write_dist(site, name, version)
    write_torch(site, "2.13.0+cu130", "13.0")
    root = make_project(tmp_path / "app", {"chatenv.toml": ""})
    (root / "chatenv.toml").unlink()
    report = run_init(
        cwd=root,
        environ={"HOME": str(tmp_path)},
        dry_run=True,
        seams=Seams(nvml=fake.nvml(fake.eight_h100()), sys_path=(str(site),)),
    )
    text = report.data["text"]
    assert 'variant = "cuda"  # this machine: torch 2.13.0+cu130' in text
    assert '# min_cuda = "13.0"' in text
    assert "# this machine: 8 × NVIDIA H100 80GB HBM3; uncomment what the project needs" in text
    assert '# memory_gib = 80\n# compute_capability = "9.0"' in text
    assert not (root / "chatenv.toml").exists()
