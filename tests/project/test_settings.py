"""The project file's keys: what each takes, and one line naming the file, the line and the key
for a value it does not."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from chatenv.project.file import find, load
from chatenv.project.settings import ProjectFileError, parse_params
from chatenv.system.nvml import CudaVersion
from tests.project.conftest import make_project

if TYPE_CHECKING:
    from pathlib import Path

FULL = """
[project]
name = "demo"
dependencies = ["openai>=1.40"]

[tool.chatenv]
profiles = ["api", "local"]

[tool.chatenv.packages]
extras = ["train"]
groups = ["dev"]
also = ["vllm>=0.6"]

[tool.chatenv.torch]
min_cuda = "12.4"

[tool.chatenv.gpus]
count = 2
memory_gib = 40
compute_capability = "8.0"

[tool.chatenv.env]
HF_TOKEN = { url = "https://huggingface.co/settings/tokens", why = "gated weights" }
OPENAI_BASE_URL = { required = false }
WANDB_API_KEY = "https://wandb.ai/authorize"

[[tool.chatenv.models]]
id = "meta-llama/Llama-3.1-8B-Instruct"
params = "8.03B"
dtype = "bf16"
overhead = 0.3
gpus = 2

[[tool.chatenv.models]]
path = "models/tuned"

[tool.chatenv.api]
model = "gpt-4.1-nano"
base_url = "http://127.0.0.1:8000/v1"

[tool.chatenv.smoke]
model = "sshleifer/tiny-gpt2"
"""


def test_every_key_is_read_into_typed_settings(tmp_path: Path) -> None:
    root = make_project(tmp_path / "demo", {"pyproject.toml": FULL})
    project = load(root / "pyproject.toml")
    s = project.settings
    assert project.profiles == ("api", "local") and project.name == "demo"
    assert (s.packages.extras, s.packages.groups, s.packages.also) == (
        ("train",), ("dev",), ("vllm>=0.6",),
    )  # fmt: skip
    assert (s.torch.variant, s.torch.min_cuda) == ("cuda", CudaVersion(12, 4))
    assert (s.gpus.count, s.gpus.memory_gib, s.gpus.compute_capability) == (2, 40.0, (8, 0))
    env = {e.name: e for e in s.env}
    assert env["HF_TOKEN"].why == "gated weights" and env["HF_TOKEN"].secret
    assert not env["OPENAI_BASE_URL"].required and not env["OPENAI_BASE_URL"].secret
    assert env["WANDB_API_KEY"].url == "https://wandb.ai/authorize"
    llama, tuned = s.models
    assert (llama.params, llama.dtype, llama.overhead, llama.gpus) == (
        8_030_000_000,
        "bf16",
        0.3,
        2,
    )
    assert llama.slug == "meta-llama--Llama-3.1-8B-Instruct"
    assert tuned.folder == root / "models" / "tuned" and tuned.overhead == 0.2
    assert (s.api.model, s.api.base_url, s.smoke_model) == (
        "gpt-4.1-nano", "http://127.0.0.1:8000/v1", "sshleifer/tiny-gpt2",
    )  # fmt: skip
    assert project.at("gpus", "count").line == 17


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            '[tool.chatenv]\nprofiles = ["apu"]\n',
            "pyproject.toml:2: [tool.chatenv] profiles must be one of api, local, all, not 'apu'",
        ),
        (
            "[tool.chatenv.gpus]\ncount = 1.5\n",
            "pyproject.toml:2: [tool.chatenv.gpus] count must be a whole number of at least 0, "
            "not 1.5",
        ),
        (
            '[tool.chatenv.torch]\nvariant = "cpu"\nmin_cuda = "12.4"\n',
            'pyproject.toml:3: [tool.chatenv.torch] min_cuda cannot go with variant = "cpu"',
        ),
        (
            '[tool.chatenv.torch]\nmin_cuda = "twelve"\n',
            "pyproject.toml:2: [tool.chatenv.torch] min_cuda must be a CUDA version such as "
            "\"12.4\", not 'twelve'",
        ),
        (
            '[[tool.chatenv.models]]\nparams = "8B"\n',
            "pyproject.toml:1: [tool.chatenv.models] item 1 needs exactly one of id (a hub model) "
            "and path (a folder)",
        ),
        (
            '[[tool.chatenv.models]]\nid = "a/b/c"\n',
            "pyproject.toml:2: [tool.chatenv.models] id 'a/b/c' is not a hub id (org/name); a "
            "folder is path",
        ),
        (
            '[tool.chatenv.env]\n"HF-TOKEN" = "x"\n',
            "pyproject.toml:2: [tool.chatenv.env] HF-TOKEN is not an environment variable name",
        ),
        (
            '[tool.chatenv.packages]\nalso = ["torch>>2"]\n',
            "pyproject.toml:2: [tool.chatenv.packages.also] item 1 'torch>>2' is not a "
            "requirement: ",  # then packaging's own words, which differ between its versions
        ),
        (
            '[tool.chatenv.api]\nbase_url = "localhost:8000"\n',
            "pyproject.toml:2: [tool.chatenv.api] base_url 'localhost:8000' is not an http(s) URL",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_file_line_and_key(
    tmp_path: Path, table: str, message: str
) -> None:
    root = make_project(tmp_path / "p", {"pyproject.toml": table})
    with pytest.raises(ProjectFileError) as caught:
        load(root / "pyproject.toml")
    if message.endswith(": "):
        assert caught.value.message.startswith(message)
    else:
        assert caught.value.message == message
    assert caught.value.line == int(message.split(":")[1])


def test_a_file_that_is_not_toml_names_its_line(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"chatenv.toml": 'profiles = ["api"\n[gpus]\n'})
    with pytest.raises(ProjectFileError) as caught:
        load(root / "chatenv.toml")
    assert caught.value.message.startswith("chatenv.toml:2: not valid TOML: ")
    assert caught.value.line == 2


def test_unknown_keys_are_kept_with_their_line_and_a_suggestion(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p",
        {
            "pyproject.toml": '[tool.chatenv]\nprofile = ["api"]\n\n'
            "[tool.chatenv.gpus]\nmemory_gb = 4\n"
        },
    )
    unknown = load(root / "pyproject.toml").unknown
    assert [(u.key, u.line, u.hint) for u in unknown] == [
        ("[tool.chatenv] profile", 2, " (did you mean profiles?)"),
        ("[tool.chatenv.gpus] memory_gb", 5, " (did you mean memory_gib?)"),
    ]


@pytest.mark.parametrize(
    ("given", "count"),
    [("8B", 8_000_000_000), ("8.03b", 8_030_000_000), ("350M", 350_000_000), (1.5e9, 1_500_000_000),
     (124439808, 124439808), ("7_000_000", 7_000_000), ("lots", None), (True, None), (0, None)],
)  # fmt: skip
def test_parameter_counts_as_people_write_them(given: object, count: int | None) -> None:
    assert parse_params(given) == count


def test_profiles_follow_the_requirements_when_the_file_does_not_name_them(tmp_path: Path) -> None:
    def profiles(deps: str) -> tuple[str, ...]:
        root = make_project(
            tmp_path / deps.replace('"', "").replace(",", "_") or tmp_path / "none",
            {"pyproject.toml": f"[project]\nname='x'\ndependencies=[{deps}]\n[tool.chatenv]\n"},
        )
        return load(root / "pyproject.toml").profiles

    assert profiles('"openai>=1"') == ("api",)
    assert profiles('"transformers", "openai"') == ("api", "local")
    assert profiles('"requests"') == ("all",)


def test_the_nearest_project_file_is_found_upward_no_higher_than_the_root(tmp_path: Path) -> None:
    outer = make_project(tmp_path / "outer", {"chatenv.toml": 'profiles = ["api"]\n'})
    inner = make_project(outer / "apps" / "inner", {"pyproject.toml": "[project]\nname='i'\n"})
    deep = inner / "src" / "pkg"
    deep.mkdir(parents=True)
    # inner's pyproject.toml has no [tool.chatenv] and is the project root: no project file,
    # and the outer project's chatenv.toml is not this project's
    assert find(deep, home=tmp_path) is None
    (inner / "pyproject.toml").write_text("[project]\nname='i'\n[tool.chatenv]\n")
    assert find(deep, home=tmp_path) == inner / "pyproject.toml"
    (inner / "chatenv.toml").write_text("")
    assert find(deep, home=tmp_path) == inner / "chatenv.toml"  # beside it, chatenv.toml wins
    assert find(outer / "apps", home=tmp_path) == outer / "chatenv.toml"


def test_the_worked_example_of_the_docs_is_a_project_file_chatenv_reads(tmp_path: Path) -> None:
    from tests.conftest import REPO

    page = (REPO / "docs" / "project-file.md").read_text(encoding="utf-8")
    example = page.split("```toml\n", 1)[1].split("```", 1)[0]
    root = make_project(tmp_path / "team-bot", {"pyproject.toml": example})
    project = load(root / "pyproject.toml")
    assert project.unknown == ()
    assert project.profiles == ("api", "local")
    assert len(project.declarations.requirements) == 8
    assert [m.ref for m in project.settings.models] == ["meta-llama/Llama-3.1-8B-Instruct"]
    # the lines the page's output names
    assert project.at("torch", "min_cuda").line == 26
    assert project.at("gpus").line == 28
