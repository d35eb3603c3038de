"""What setup takes from a project: its requirements as the installer's pins, the torch policy
as a refusal, and its hub models fetched with huggingface_hub's own download (from the test hub
on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

from chatenv.errors import ChatenvError
from chatenv.install.pins import load_pins
from chatenv.install.variant import CPU, TorchChoice
from chatenv.installed import scan
from chatenv.project.file import load
from chatenv.project.provision import also_met, fetch_models, project_pins, torch_refusal
from chatenv.results import Status
from tests.project.conftest import make_project
from tests.sites import write_dist
from tests.smoke.fake_hub import fake_hub

if TYPE_CHECKING:
    from chatenv.project.file import Project

HERE = {k: str(v) for k, v in default_environment().items()}


def project(tmp_path: Path, pyproject: str) -> Project:
    root = make_project(tmp_path / "p", {"pyproject.toml": pyproject})
    return load(root / "pyproject.toml")


def test_the_projects_ranges_replace_chatenvs_pins_for_what_it_declares(tmp_path: Path) -> None:
    found = project(
        tmp_path,
        """
        [project]
        name = "p"
        dependencies = [
            "torch>=2.7,<2.8",
            "transformers[torch]>=4.46",
            "private @ https://example.com/private-1.0-py3-none-any.whl",
            "pywin32; sys_platform == 'win32'",
        ]
        [tool.chatenv.packages]
        also = ["torch!=2.7.0"]
        [tool.chatenv]
        """,
    )
    local = load_pins().pins_for(("local",))
    pins = project_pins(local, found, HERE)
    by_name = {p.name: str(p.spec) for p in pins.pins}
    assert by_name["torch"] == "!=2.7.0,<2.8,>=2.7"  # both of the project's, not chatenv's
    assert by_name["transformers"] == ">=4.46"
    assert by_name["accelerate"] == str(next(p.spec for p in local if p.name == "accelerate"))
    assert "pywin32" not in by_name  # its marker does not hold here
    # as packaging writes them (its spelling of a URL requirement differs between versions)
    assert [Requirement(r) for r in pins.also] == [
        Requirement("transformers[torch]>=4.46"),
        Requirement("private @ https://example.com/private-1.0-py3-none-any.whl"),
    ]
    assert pins.notes == (
        "the project's requirements replace chatenv's pins for torch, transformers",
    )


def test_lines_chatenv_cannot_install_are_said(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"chatenv.toml": "", "requirements.txt": "-e ./lib\n"})
    pins = project_pins((), load(root / "chatenv.toml"), HERE)
    assert pins.notes == ("not installed by chatenv (requirements.txt:1): -e ./lib",)


def test_requirements_passed_as_written_are_met_by_name_and_version(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_dist(site, "transformers", "4.57.1")
    installed = scan([str(site)])
    assert also_met(("transformers[torch]>=4.46",), installed)
    assert not also_met(("transformers[torch]>=5",), installed)
    assert not also_met(("peft",), installed)


def choice(variant: str, warning: str | None = None) -> TorchChoice:
    index = None if variant == CPU else f"https://download.pytorch.org/whl/{variant}"
    return TorchChoice("auto", variant, "2.7", index, ("why",), warning=warning)


def test_the_torch_policy_refuses_a_build_it_rules_out(tmp_path: Path) -> None:
    wants = project(tmp_path / "a", '[tool.chatenv.torch]\nmin_cuda = "12.6"\n')
    assert torch_refusal(choice("cu128"), wants) is None
    refused = torch_refusal(choice("cu118"), wants)
    assert isinstance(refused, ChatenvError)
    assert refused.message == (
        "the project wants a CUDA 12.6+ build of torch (pyproject.toml:1), and this machine "
        "gets cu118: why"
    )
    cpu_only = project(tmp_path / "b", '[tool.chatenv.torch]\nvariant = "cpu"\n')
    refused = torch_refusal(choice("cu128"), cpu_only)
    assert refused is not None and refused.fix == "chatenv setup --torch cpu"
    anything = project(tmp_path / "c", "[tool.chatenv]\n")
    assert torch_refusal(choice(CPU), anything) is None


MODELS = """
[[tool.chatenv.models]]
id = "tiny/gpt2"

[[tool.chatenv.models]]
id = "org/gated"

[[tool.chatenv.models]]
path = "models/local"
"""


def test_setup_fetches_what_is_not_cached_and_says_why_a_gated_model_failed(
    tmp_path: Path, tiny_model: Path
) -> None:
    from huggingface_hub import snapshot_download

    found = project(tmp_path, MODELS)
    cache = tmp_path / "hub"
    with fake_hub() as hub:
        hub.state.add("tiny/gpt2", tiny_model)
        hub.state.add("org/gated", tiny_model, gated=True)

        def fetch(repo_id: str, revision: str | None) -> Path:
            return Path(
                snapshot_download(
                    repo_id, revision=revision, cache_dir=cache, endpoint=hub.endpoint
                )
            )

        results = fetch_models(found, cache, fetch)
        assert [(r.id, r.status) for r in results] == [
            ("project.model.tiny--gpt2", Status.OK),
            ("project.model.org--gated", Status.FAIL),
        ]
        assert results[0].summary.startswith("fetched tiny/gpt2 (")
        assert results[1].summary == (
            "org/gated: fetching it failed: it is gated: accept its licence on the model page, "
            "then set HF_TOKEN"
        )
        # cached now: a second run fetches nothing more of it
        before = len(hub.downloaded())
        again = fetch_models(found, cache, fetch)
        assert [r.id for r in again] == ["project.model.org--gated"]
        assert len(hub.downloaded()) == before


@pytest.mark.parametrize("name", ["RepositoryNotFoundError", "GatedRepoError"])
def test_fetch_reasons_name_what_to_do(name: str) -> None:
    from chatenv.project.provision import _fetch_reason

    error = type(name, (Exception,), {})("401 Client Error")
    assert "HF_TOKEN" in _fetch_reason(error)


@pytest.mark.parametrize(
    ("spec", "series"),
    [("==2.7.1", "2.7"), (">=2.4,<2.14", "2.13"), ("~=2.12.1", "2.12"), ("==1.13.1", None)],
)
def test_a_projects_torch_range_names_the_release_to_install(spec: str, series: str | None) -> None:
    from packaging.specifiers import SpecifierSet

    from chatenv.project.provision import torch_series

    assert torch_series(SpecifierSet(spec)) == series


def test_install_replaces_a_torch_it_would_keep_when_the_policy_rules_it_out(
    tmp_path: Path,
) -> None:
    from chatenv.project.provision import keeps_policy
    from tests.sites import write_torch

    wants = project(tmp_path / "a", '[tool.chatenv.torch]\nmin_cuda = "12.4"\n')
    for version, cuda, kept in [
        ("2.7.1+cu118", "11.8", False),
        ("2.7.1+cu126", "12.6", True),
        ("2.7.1+cpu", None, False),
    ]:
        site = tmp_path / version
        write_torch(site, version, cuda)
        assert keeps_policy(wants, scan([str(site)])) is kept, version
    assert keeps_policy(wants, scan([str(tmp_path / "empty")]))  # nothing to replace
