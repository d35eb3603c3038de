"""docs/ci.md's recipes are meant to be copied: every YAML block parses (and is a workflow or a
Job of the right shape), the Dockerfile is well-formed and does what the page says, shell blocks
pass `bash -n`, and every `chatenv ...` command line in them is accepted by the real CLI.
examples/merge_reports.py runs on real doctor reports from the console script."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.conftest import REPO, clean_env

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import RunCli

PAGE = REPO / "docs" / "ci.md"
MERGE = REPO / "examples" / "merge_reports.py"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
DOCKER_INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip


def blocks(kind: str) -> list[str]:
    found = [body for lang, body in BLOCK.findall(PAGE.read_text()) if lang == kind]
    assert found, f"no {kind} block in {PAGE}"
    return found


def test_every_yaml_block_parses() -> None:
    for text in blocks("yaml"):
        docs = list(yaml.safe_load_all(text))
        assert docs and all(isinstance(d, dict) for d in docs)


def test_the_github_workflow_has_the_shape_actions_expects() -> None:
    [workflow] = [d for d in map(yaml.safe_load, blocks("yaml")) if "jobs" in d]
    assert workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1 reads `on:` as True
    [job] = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    steps = job["steps"]
    assert all(("run" in s) != ("uses" in s) for s in steps), "each step runs or uses, not both"
    runs = " ".join(s.get("run", "") for s in steps)
    assert "chatenv doctor" in runs and "chatenv install local --torch cpu" in runs
    smoke = next(s for s in steps if "--no-api --model gpt2" in s.get("run", ""))
    assert smoke["env"] == {"HF_HUB_OFFLINE": "1"}  # the model comes from the cache
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    download = next(s for s in steps if s.get("run", "").startswith("hf download gpt2"))
    assert download["if"] == f"steps.{cache['id']}.outputs.cache-hit != 'true'"


def yaml_documents(kind: str, name: str) -> dict[str, Any]:
    [found] = [
        d
        for d in map(yaml.safe_load, blocks("yaml"))
        if d.get("kind") == kind and d["metadata"]["name"] == name
    ]
    return dict(found)


def test_the_kubernetes_job_runs_one_doctor_per_node() -> None:
    job = yaml_documents("Job", "chatenv-doctor")
    assert job["apiVersion"] == "batch/v1"
    pod = job["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True and pod["restartPolicy"] == "Never"
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["topologyKey"] == "kubernetes.io/hostname"
    assert anti[0]["labelSelector"]["matchLabels"] == job["spec"]["template"]["metadata"]["labels"]
    [container] = pod["containers"]
    assert "chatenv doctor --json" in " ".join(container["command"])


def test_the_distributed_job_gives_every_pod_its_node_rank_and_node_0_a_name() -> None:
    job = yaml_documents("Job", "chatenv-dist")
    service = yaml_documents("Service", "chatenv-dist")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"]
    pod = spec["template"]["spec"]
    # pod 0 is <job>-0 under the headless Service its subdomain names
    assert service["spec"]["clusterIP"] == "None"
    assert pod["subdomain"] == service["metadata"]["name"]
    assert service["spec"]["selector"] == {"job-name": job["metadata"]["name"]}
    [container] = pod["containers"]
    command = " ".join(container["command"])
    assert f"--nnodes {spec['completions']} --node-rank $JOB_COMPLETION_INDEX" in command
    assert f"--rdzv-endpoint {job['metadata']['name']}-0.{pod['subdomain']}:29500" in command
    [mount] = container["volumeMounts"]
    [volume] = pod["volumes"]
    assert mount == {"name": volume["name"], "mountPath": "/dev/shm"}
    assert volume["emptyDir"]["medium"] == "Memory"


def test_the_torchrun_recipe_runs_chatenv_as_each_rank() -> None:
    text = re.sub(r"\\\n\s*", " ", "\n".join(blocks("sh")))
    [line] = [line for line in text.splitlines() if line.startswith("torchrun ")]
    assert line.endswith("-m chatenv smoke-test --distributed")
    assert "--rdzv-backend c10d --rdzv-endpoint gpu-node-1:29500" in line


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\s*\\\n\s*", " ", text)
    found = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word, rest.strip()))
    return found


def test_the_dockerfile_installs_with_chatenv_and_checks_health_with_doctor() -> None:
    [text] = blocks("dockerfile")
    found = dockerfile_instructions(text)
    assert found[0][0] == "FROM"
    assert {word for word, _ in found} <= DOCKER_INSTRUCTIONS
    assert any(w == "RUN" and "chatenv install local" in args for w, args in found)
    [(_, health)] = [(w, a) for w, a in found if w == "HEALTHCHECK"]
    assert re.match(r"(--\w+(-\w+)*=\S+ )*CMD chatenv doctor --offline", health), health
    for word, args in found:
        if word == "RUN":
            check_shell(args)


def check_shell(text: str) -> None:
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run([bash, "-n"], input=text, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{done.stderr}\n{text}"


def test_every_shell_block_is_valid_bash() -> None:
    for text in blocks("sh"):
        check_shell(text)


def chatenv_command_lines() -> list[list[str]]:
    """Every `chatenv SUBCOMMAND ...` in the page's code blocks, cut at shell operators."""
    text = "\n".join(body for _, body in BLOCK.findall(PAGE.read_text()))
    text = re.sub(r"\s*\\\n\s*", " ", text)
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    found = []
    command = r"(?<![\w/-])(?:/opt/venv/bin/)?chatenv ([a-z-]+(?:(?!\s\d?>)[^\n;|&>])*)"
    for match in re.finditer(command, text):
        shell = match.group(1).replace("$TORCH", "cpu").replace("$JOB_COMPLETION_INDEX", "0")
        words = shlex.split(shell)
        found.append(words)
    return found


def test_every_chatenv_command_line_in_the_page_is_accepted_by_the_cli() -> None:
    from typer.main import get_command

    from chatenv.cli import app

    commands = get_command(app).commands  # type: ignore[attr-defined]
    lines = chatenv_command_lines()
    assert len(lines) >= 10
    for words in lines:
        name, *args = words
        assert name in commands, words
        commands[name].make_context(name, list(args))  # raises on an unknown option


# -- examples/merge_reports.py ---------------------------------------------------------------


def merge(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MERGE), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def reports(run_cli: RunCli, tmp_path: Path) -> Path:
    """A real report from the console script, plus a synthetic node where one check failed."""
    folder = tmp_path / "reports"
    folder.mkdir()
    done = run_cli("doctor", "--json", "--offline", env=clean_env(HF_HOME=str(tmp_path / "hf")))
    real: dict[str, Any] = json.loads(done.stdout)
    (folder / "this-node.json").write_text(done.stdout)
    broken = json.loads(done.stdout)
    broken["host"] = "gpu-node-7"
    for result in broken["results"]:
        if result["id"] == "torch.build":
            result["status"] = "fail"
    (folder / "gpu-node-7.json").write_text(json.dumps(broken))
    assert real["host"] != "gpu-node-7"
    return folder


def test_merge_shows_the_failing_node_and_exits_1(reports: Path) -> None:
    done = merge(*sorted(reports.glob("*.json")))
    assert done.returncode == 1, done.stderr
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()}
    header = rows["check"]
    node = header.index("gpu-node-7")
    assert rows["torch.build"][node] == "FAIL"
    assert rows["torch.build"][1 - node] == "ok"
    assert rows["(node)"][node] == "FAIL" and rows["(node)"][1 - node] == "ok"
    assert "platform.os" not in rows  # ok everywhere: left out unless --all


def test_merge_all_and_markdown_list_every_check(reports: Path) -> None:
    paths = sorted(reports.glob("*.json"))
    real = json.loads((reports / "this-node.json").read_text())
    table = merge("--all", "--markdown", *paths).stdout.splitlines()
    assert table[0].startswith("| check | ") and table[1].startswith("|---|")
    assert len(table) == 2 + len(real["results"]) + 1


def test_merge_of_healthy_nodes_exits_0_and_a_broken_file_is_one_line(
    reports: Path, tmp_path: Path
) -> None:
    assert merge(reports / "this-node.json").returncode == 0
    junk = tmp_path / "node-9.json"
    junk.write_text("chatenv: command not found\n")
    done = merge(reports / "this-node.json", junk)
    assert done.returncode == 1
    assert done.stderr.strip().startswith(f"merge_reports: {junk}: not a chatenv JSON report")
