"""doctor on a project: projects built in tmp_path, judged by their project file, with the
packages, GPUs and environment a test hands in (real dist-info folders, NVML answers of real
GPUs through the real pynvml over tests/fakes/libnvidia_ml.py), and the real `chatenv doctor`
for what users and CI see."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

from chatenv.doctor.context import Context, DoctorOptions, Seams
from chatenv.doctor.runner import run_sections
from chatenv.doctor.sections import SECTIONS
from chatenv.results import Status
from tests.conftest import clean_env
from tests.fakes import machines as fake
from tests.install.conftest import uv_path
from tests.install.packages import make_wheel
from tests.project.conftest import make_project
from tests.sites import write_dist, write_torch

if TYPE_CHECKING:
    from chatenv.results import CheckResult
    from tests.conftest import RunCli

HF_TOKEN = "hf_" + "Tok3nValueAbCdEfGhIjKlMn" * 2
BASE = {
    "typer": "0.29.2",
    "rich": "15.0.0",
    "packaging": "26.4",
    "python-dotenv": "1.2.4",
    "nvidia-ml-py": "13.615.71",
}


def site_with(tmp_path: Path, torch: tuple[str, str | None] | None = None, **dists: str) -> Path:
    """A site-packages folder holding chatenv's base, the given distributions and a torch
    build ((version, cuda))."""
    site = tmp_path / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    for name, version in {**BASE, **dists}.items():
        write_dist(site, name, version)
    if torch is not None:
        write_torch(site, torch[0], torch[1])
        write_dist(site, "filelock", "3.16.1")  # what torch requires
        write_dist(site, "typing-extensions", "4.12.2")
    return site


def doctor(
    root: Path,
    site: Path,
    *,
    nvml: fake.Machine | None = None,
    sections: tuple[str, ...] = ("packages", "project"),
    **environ: str,
) -> dict[str, CheckResult]:
    """The chosen sections of doctor, run in `root` on the machine the arguments describe."""
    env = {"HOME": str(root.parent), "HF_HOME": str(root.parent / "hf"), "PATH": "", **environ}
    options = DoctorOptions(
        env_file=Path(".env"),
        offline=True,
        environ=env,
        cwd=root,
        seams=Seams(nvml=fake.nvml(nvml or fake.cpu_box()), sys_path=(str(site),)),
    )
    chosen = tuple(s for s in SECTIONS if s.name in sections)
    return {r.id: r for r in run_sections(chosen, Context(options))}


PYPROJECT_TORCH_27 = """
[project]
name = "team-app"
dependencies = [
    "torch==2.7.*",
    "transformers>=4.46",
]

[tool.chatenv]
profiles = ["local"]
"""


# -- packages: the project's requirements, not chatenv's pins ----------------------------------


def test_a_torch_outside_chatenvs_pin_is_fine_when_it_is_the_projects(tmp_path: Path) -> None:
    site = site_with(tmp_path, ("2.3.1+cu121", "12.1"), transformers="4.57.1")
    elsewhere = tmp_path / "no-project"
    elsewhere.mkdir()
    (elsewhere / ".git").mkdir()
    # without a project file chatenv's pins judge torch 2.7, and fail it
    alone = doctor(elsewhere, site)
    assert alone["packages.pin.torch"].status is Status.FAIL
    assert alone["project.none"].status is Status.SKIP

    pyproject = PYPROJECT_TORCH_27.replace("torch==2.7.*", "torch>=2.3,<2.4")
    root = make_project(tmp_path / "team-app", {"pyproject.toml": pyproject})
    found = doctor(root, site)
    assert not [r.id for r in found.values() if r.section == "packages" and r.status is Status.FAIL]
    assert "packages.pin.torch" not in found
    # the local profile's packages the project does not declare are still chatenv's to judge
    local = found["packages.local"]
    assert local.status is Status.WARN
    assert [p["name"] for p in local.data["packages"]] == [
        "tokenizers",
        "safetensors",
        "accelerate",
    ]
    assert found["project.packages"].status is Status.OK
    assert found["project.packages"].summary == (
        "the project's 2 requirements are met (pyproject.toml)"
    )


def test_a_torch_the_project_does_not_allow_fails_at_its_line(tmp_path: Path) -> None:
    site = site_with(tmp_path, ("2.13.0+cpu", None), transformers="4.57.1")
    root = make_project(tmp_path / "team-app", {"pyproject.toml": PYPROJECT_TORCH_27})
    result = doctor(root, site)["project.packages"]
    assert result.status is Status.FAIL
    assert result.summary == (
        "1 of the project's 2 requirements are not met: torch 2.13.0+cpu is installed; the "
        "project wants torch==2.7.* (pyproject.toml:4)"
    )
    assert result.fix == "python -m pip install 'torch==2.7.*'"
    assert result.data["locations"] == [
        {
            "path": str(root / "pyproject.toml"),
            "line": 4,
            "message": result.summary.split(": ", 1)[1],
        }
    ]


def test_a_requirements_txt_project(tmp_path: Path) -> None:
    site = site_with(tmp_path, None, openai="1.99.0")
    root = make_project(
        tmp_path / "bot",
        {
            "chatenv.toml": 'profiles = ["api"]\n',
            "requirements.txt": "openai>=1.40\n# served with\nfastapi>=0.110\n",
        },
    )
    found = doctor(root, site)
    result = found["project.packages"]
    assert result.status is Status.FAIL
    assert result.summary.startswith(
        "1 of the project's 2 requirements are not met: fastapi is not installed; the project "
        "wants fastapi>=0.110 (requirements.txt:3)"
    )
    assert result.fix == "python -m pip install -r requirements.txt"
    assert found["project.file"].summary == (
        "project file: chatenv.toml; 2 requirements from requirements.txt"
    )
    assert found["packages.api"].status is Status.OK


@pytest.mark.skipif(uv_path() is None, reason="uv is a test dependency")
def test_a_uv_lock_project_says_which_installed_versions_differ_from_the_lock(
    tmp_path: Path,
) -> None:
    links = tmp_path / "links"
    make_wheel(links, "alpha", "1.2.0", ["beta>=2"])
    make_wheel(links, "beta", "2.1.0")
    root = make_project(
        tmp_path / "locked",
        {
            "pyproject.toml": """
            [project]
            name = "locked"
            version = "0.1.0"
            requires-python = ">=3.10"
            dependencies = ["alpha>=1"]

            [tool.chatenv]
            profiles = ["api"]
            """
        },
    )
    done = subprocess.run(
        [str(uv_path()), "lock", "--offline", "--no-index", "--find-links", str(links),
         "--python", sys.executable],
        cwd=root, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_NO_CONFIG": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    site = site_with(tmp_path, None, alpha="1.2.0", beta="2.0.1", openai="1.99.0")
    found = doctor(root, site)
    assert found["project.packages"].status is Status.OK  # alpha>=1 holds
    lock = found["project.lock.uv.lock"]
    assert lock.status is Status.WARN
    assert lock.summary == (
        "1 of the 2 packages uv.lock fixes differ here: beta 2.0.1 (locked: 2.1.0)"
    )
    assert lock.fix == "uv sync --inexact --active"


# -- torch, GPUs, environment variables, models -------------------------------------------------


def test_a_cpu_torch_when_the_project_wants_cuda_12_4(tmp_path: Path) -> None:
    site = site_with(tmp_path, ("2.7.1+cpu", None), transformers="4.57.1")
    root = make_project(
        tmp_path / "app",
        {"pyproject.toml": PYPROJECT_TORCH_27 + '\n[tool.chatenv.torch]\nmin_cuda = "12.4"\n'},
    )
    result = doctor(root, site, nvml=fake.one_h100())["project.torch"]
    assert result.status is Status.FAIL
    assert result.summary == (
        "torch 2.7.1+cpu (CPU-only): the project wants a CUDA 12.4+ build of torch "
        "(pyproject.toml:12)"
    )
    # 2.7 ships cu118, cu126 and cu128; driver 550 (CUDA 12.4) runs the 12.x builds through
    # minor version compatibility
    assert result.fix == (
        "python -m pip install --force-reinstall 'torch==2.7.*' "
        "--index-url https://download.pytorch.org/whl/cu128"
    )
    ok = doctor(root, site_with(tmp_path / "cuda", ("2.7.1+cu126", "12.6")), nvml=fake.one_h100())
    assert ok["project.torch"].status is Status.OK


def test_gpus_fewer_or_smaller_than_the_project_needs(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "app",
        {"chatenv.toml": '[gpus]\ncount = 2\nmemory_gib = 70\ncompute_capability = "8.0"\n'},
    )
    site = site_with(tmp_path)
    one = doctor(root, site, nvml=fake.one_h100())["project.gpus"]
    assert one.status is Status.FAIL
    assert one.summary == (
        "the project needs 2 GPUs, 70 GiB each, compute capability 8.0+ (chatenv.toml:1); "
        "1 of 1 GPUs here qualify"
    )
    assert one.fix is None
    eight = doctor(root, site, nvml=fake.eight_h100())["project.gpus"]
    assert eight.status is Status.OK and eight.summary.startswith("8 GPUs meet")


def test_a_missing_hf_token_fails_and_a_set_one_is_shown_masked(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "app",
        {
            "chatenv.toml": """
            [env]
            HF_TOKEN = { url = "https://huggingface.co/settings/tokens", why = "Llama is gated" }
            WANDB_API_KEY = { required = false }
            """
        },
    )
    site = site_with(tmp_path)
    found = doctor(root, site)
    token = found["project.env.HF_TOKEN"]
    assert (token.status, token.summary) == (Status.FAIL, "HF_TOKEN is not set: Llama is gated")
    assert token.fix == (
        "chatenv setup  # asks for HF_TOKEN and saves it in .env; get it at "
        "https://huggingface.co/settings/tokens"
    )
    assert token.data["locations"][0]["line"] == 2
    assert found["project.env.WANDB_API_KEY"].status is Status.WARN

    (root / ".env").write_text(f"HF_TOKEN={HF_TOKEN}\n")
    again = doctor(root, site)["project.env.HF_TOKEN"]
    assert again.status is Status.OK
    assert again.summary == f"HF_TOKEN is set (.env): hf_…{HF_TOKEN[-4:]}"
    assert HF_TOKEN not in json.dumps(again.to_json())


MODELS = """
[gpus]
count = 1

[[models]]
id = "meta-llama/Llama-3.1-70B-Instruct"
params = "70.6B"

[[models]]
id = "meta-llama/Llama-3.1-8B-Instruct"
params = "8.03B"
"""


def test_a_model_that_does_not_fit_the_free_gpu_memory(tmp_path: Path) -> None:
    root = make_project(tmp_path / "app", {"chatenv.toml": MODELS})
    found = doctor(root, site_with(tmp_path), nvml=fake.one_h100())
    big = found["project.model.meta-llama--Llama-3.1-70B-Instruct.fit"]
    assert big.status is Status.FAIL
    assert big.summary == (
        "meta-llama/Llama-3.1-70B-Instruct does not fit: about 157.8 GiB for 70.60 B "
        "parameters, bfloat16; 79.0 GiB free on GPU 0"
    )
    assert big.details[0] == (
        "70.60 B parameters × 2 bytes (bfloat16) = 131.5 GiB of weights, + 20% overhead = 157.8 GiB"
    )
    assert big.data["locations"][0]["line"] == 4
    small = found["project.model.meta-llama--Llama-3.1-8B-Instruct.fit"]
    assert small.status is Status.OK
    assert small.summary == (
        "meta-llama/Llama-3.1-8B-Instruct fits: about 17.9 GiB, 79.0 GiB free on GPU 0"
    )
    # not cached: a warning with the command that fetches it
    cache = found["project.model.meta-llama--Llama-3.1-8B-Instruct"]
    assert cache.status is Status.WARN
    # `hf download ...` when the hf CLI is on PATH, else huggingface_hub's snapshot_download
    assert "meta-llama/Llama-3.1-8B-Instruct" in (cache.fix or "")


def test_split_across_two_gpus_the_big_model_fits(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "app", {"chatenv.toml": MODELS.replace("count = 1", "count = 3")}
    )
    found = doctor(root, site_with(tmp_path), nvml=fake.eight_h100())
    big = found["project.model.meta-llama--Llama-3.1-70B-Instruct.fit"]
    assert big.status is Status.OK
    assert big.summary.endswith("228.0 GiB free on GPUs 7, 6, 5")


def test_a_cached_model_is_found_and_sized_from_its_own_files(
    tmp_path: Path, tiny_model: Path
) -> None:
    from tests.tiny_model import put_in_hub_cache

    root = make_project(tmp_path / "app", {"chatenv.toml": '[[models]]\nid = "tiny/gpt2"\n'})
    put_in_hub_cache(tiny_model, tmp_path / "hf", "tiny/gpt2")
    found = doctor(root, site_with(tmp_path))
    assert found["project.model.tiny--gpt2"].status is Status.OK
    assert found["project.model.tiny--gpt2"].summary.startswith("tiny/gpt2: cached (")
    fit = found["project.model.tiny--gpt2.fit"]
    assert fit.status is Status.OK and "float32" in fit.details[0]


# -- the real command: the project section in JSON, annotations on the file's lines ------------


V0_APP = """
import openai

openai.api_key = "sk-not-a-real-key"
response = openai.Completion.create(engine="text-davinci-003", prompt="hi")
"""


def _run(run_cli: RunCli, root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "doctor", "--offline", "--json",
        cwd=root, env=clean_env(HOME=str(root.parent), HF_HOME=str(root.parent / "hf"), **env),
    )  # fmt: skip


def _schema() -> dict[str, Any]:
    from chatenv.schemas import schema_text

    return dict(json.loads(schema_text("doctor")))


def test_v0_calls_in_the_projects_code_are_annotated_on_their_lines(
    run_cli: RunCli, tmp_path: Path
) -> None:
    root = make_project(
        tmp_path / "app",
        {"pyproject.toml": "[project]\nname='app'\n[tool.chatenv]\n", "src/app.py": V0_APP},
    )
    summary = tmp_path / "summary.md"
    done = _run(
        run_cli, root, GITHUB_ACTIONS="true", GITHUB_WORKSPACE=str(root),
        GITHUB_STEP_SUMMARY=str(summary),
    )  # fmt: skip
    doc = json.loads(done.stdout)
    jsonschema.validate(doc, _schema())
    v0 = next(r for r in doc["results"] if r["id"] == "project.openai-v0")
    assert v0["status"] == "warn" and v0["section"] == "project"
    assert v0["summary"] == (
        "3 uses of the OpenAI v0 API in 1 file: src/app.py:4: "
        "openai.Completion.create(engine=...) → client = OpenAI(); "
        "client.completions.create(model=..., prompt=...) (model= instead of engine=)"
    )
    lines = [line for line in done.stderr.splitlines() if "project.openai-v0" in line]
    assert lines[0].startswith(
        "::warning file=src/app.py,line=3,title=chatenv doctor%3A project.openai-v0::"
        "openai.api_key = ...: v0 API; in v1: OpenAI(api_key=...)"
    )
    assert [line.split(",title=")[0] for line in lines] == [
        "::warning file=src/app.py,line=3",
        "::warning file=src/app.py,line=4",
        "::warning file=src/app.py,line=4",
    ]
    assert "sk-not-a-real-key" not in done.stdout + done.stderr


def test_a_broken_project_file_is_one_failure_at_its_line_and_no_traceback(
    run_cli: RunCli, tmp_path: Path
) -> None:
    root = make_project(
        tmp_path / "app",
        {"pyproject.toml": '[project]\nname = "app"\n\n[tool.chatenv.gpus]\ncount = "two"\n'},
    )
    done = _run(run_cli, root, GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(tmp_path / "s"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    doc = json.loads(done.stdout)
    project = [r for r in doc["results"] if r["section"] == "project"]
    assert [(r["id"], r["status"]) for r in project] == [("project.file", "fail")]
    assert project[0]["summary"] == (
        "pyproject.toml:5: [tool.chatenv.gpus] count must be a whole number of at least 0, "
        "not 'two'"
    )
    assert any(
        line.startswith("::error file=pyproject.toml,line=5,title=chatenv doctor%3A project.file")
        for line in done.stderr.splitlines()
    )


def test_the_text_report_has_one_section_for_the_project(run_cli: RunCli, tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "app",
        {
            "chatenv.toml": '[env]\nHF_TOKEN = "https://huggingface.co/settings/tokens"\n',
            "requirements.txt": "rich>=13\n",
        },
    )
    done = run_cli(
        "doctor", "--offline", cwd=root,
        env=clean_env(HOME=str(tmp_path), HF_HOME=str(tmp_path / "hf"), HF_TOKEN=HF_TOKEN),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout
    section = done.stdout.split("The project (its project file)\n", 1)[1]
    assert "✓ project file: chatenv.toml; 1 requirement from requirements.txt" in section
    assert f"✓ HF_TOKEN is set (the environment): hf_…{HF_TOKEN[-4:]}" in section
    assert HF_TOKEN not in done.stdout + done.stderr
