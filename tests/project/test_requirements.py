"""What a project declares, read where it declares it: pyproject.toml's dependencies, extras and
groups, requirements files as pip reads them, and `also`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.project.file import load
from tests.project.conftest import make_project

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.project.requirements import Declared


def rows(declared: tuple[Declared, ...]) -> list[tuple[str, str, int | None, str]]:
    return [(d.text, d.path.name, d.line, d.origin) for d in declared]


def test_dependencies_the_chosen_extras_and_groups_with_their_lines(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "demo",
        {
            "pyproject.toml": """
            [project]
            name = "Demo"
            dependencies = [
                "torch==2.7.*",
                "transformers>=4.46",
            ]

            [project.optional-dependencies]
            train = ["accelerate>=1.0"]
            serve = ["vllm>=0.6"]
            all = ["demo[train,serve]"]

            [dependency-groups]
            test = ["pytest>=8"]
            dev = ["ruff", {include-group = "test"}]

            [tool.chatenv.packages]
            extras = ["all"]
            groups = ["dev"]
            also = ["rich>=13"]
            """
        },
    )
    project = load(root / "pyproject.toml")
    assert rows(project.declarations.requirements) == [
        ("torch==2.7.*", "pyproject.toml", 4, "dependencies"),
        ("transformers>=4.46", "pyproject.toml", 5, "dependencies"),
        # demo[train,serve]: the extras in name order (a requirement's extras are a set)
        ("vllm>=0.6", "pyproject.toml", 10, "extra serve"),
        ("accelerate>=1.0", "pyproject.toml", 9, "extra train"),
        ("ruff", "pyproject.toml", 15, "group dev"),
        ("pytest>=8", "pyproject.toml", 14, "group test"),
        ("rich>=13", "pyproject.toml", 20, "also"),
    ]
    assert project.declarations.notes == ()


def test_extras_nobody_asked_for_are_not_required_and_missing_ones_are_said(
    tmp_path: Path,
) -> None:
    root = make_project(
        tmp_path / "demo",
        {
            "pyproject.toml": """
            [project]
            name = "demo"
            dependencies = ["openai>=1.40"]
            optional-dependencies = { gpu = ["vllm"] }

            [tool.chatenv.packages]
            extras = ["cuda"]
            """
        },
    )
    project = load(root / "pyproject.toml")
    assert [d.text for d in project.declarations.requirements] == ["openai>=1.40"]
    assert project.declarations.notes == (
        "pyproject.toml has no extra 'cuda' ([project.optional-dependencies])",
    )


def test_requirements_files_as_pip_reads_them(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "demo",
        {
            "chatenv.toml": "",
            "requirements.txt": """
            # the project's packages
            --index-url https://download.pytorch.org/whl/cu126
            --extra-index-url https://pypi.org/simple
            torch==2.7.1  # the CUDA build
            transformers>=4.46 \\
                --hash=sha256:0123456789abcdef
            -r requirements-serve.txt
            -c constraints.txt
            -e ./libs/tokenizer
            ./wheels/private-1.0-py3-none-any.whl
            accelerate @ https://example.com/accelerate-1.0-py3-none-any.whl
            """,
            "requirements-serve.txt": "vllm>=0.6; sys_platform == 'linux'\n-r requirements.txt\n",
            "requirements-dev.txt": "pytest\n",
            "constraints.txt": "numpy<2\n",
        },
    )
    project = load(root / "chatenv.toml")
    found = project.declarations
    assert rows(found.requirements) == [
        ("torch==2.7.1", "requirements.txt", 4, "requirements.txt"),
        ("transformers>=4.46", "requirements.txt", 5, "requirements.txt"),
        ("vllm>=0.6; sys_platform == 'linux'", "requirements-serve.txt", 1,
         "requirements-serve.txt"),
        ("-e ./libs/tokenizer", "requirements.txt", 9, "requirements.txt"),
        ("./wheels/private-1.0-py3-none-any.whl", "requirements.txt", 10, "requirements.txt"),
        ("accelerate @ https://example.com/accelerate-1.0-py3-none-any.whl", "requirements.txt",
         11, "requirements.txt"),
        ("pytest", "requirements-dev.txt", 1, "requirements-dev.txt"),
    ]  # fmt: skip
    by_text = {d.text: d for d in found.requirements}
    assert by_text["-e ./libs/tokenizer"].requirement is None  # kept, not judged
    assert by_text["./wheels/private-1.0-py3-none-any.whl"].requirement is None
    assert by_text["accelerate @ https://example.com/accelerate-1.0-py3-none-any.whl"].name == (
        "accelerate"
    )
    assert found.index_options == (
        "--index-url https://download.pytorch.org/whl/cu126",
        "--extra-index-url https://pypi.org/simple",
    )
    # requirements.txt first, then the others; each file once, however often -r names it
    assert [p.name for p in found.files] == [
        "requirements.txt", "requirements-serve.txt", "requirements-dev.txt",
    ]  # fmt: skip


def test_named_requirements_files_only_and_a_missing_one_is_said(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "demo",
        {
            "chatenv.toml": '[packages]\nrequirements = ["requirements.txt", "gpu.txt"]\n',
            "requirements.txt": "numpy\n",
            "requirements-dev.txt": "pytest\n",
        },
    )
    found = load(root / "chatenv.toml").declarations
    assert [d.text for d in found.requirements] == ["numpy"]
    assert found.notes == ("gpu.txt is named in the project file but does not exist",)


def test_an_include_outside_the_project_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.txt").write_text("secret-package\n")
    root = make_project(
        tmp_path / "demo", {"chatenv.toml": "", "requirements.txt": "-r ../elsewhere.txt\nrich\n"}
    )
    found = load(root / "chatenv.toml").declarations
    assert [d.text for d in found.requirements] == ["rich"]
    assert found.notes == ("requirements.txt:1: -r ../elsewhere.txt is outside the project",)


def test_sources_limits_what_is_read(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "demo",
        {
            "pyproject.toml": """
            [project]
            name = "demo"
            dependencies = ["openai"]
            [tool.chatenv.packages]
            sources = ["requirements"]
            """,
            "requirements.txt": "rich\n",
        },
    )
    assert [d.text for d in load(root / "pyproject.toml").declarations.requirements] == ["rich"]
