"""The key-line locator agrees with tomllib on where each key of a real-looking pyproject.toml
is written."""

from __future__ import annotations

import sys
import textwrap
from typing import Any

from chatenv.project.lines import key_lines, line_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = textwrap.dedent(
    """\
    [build-system]
    requires = ["hatchling"]

    [project]
    name = "demo"  # the [name] here is not a table
    dependencies = [
        "torch==2.7.*",  # a comment with a ] bracket
        'transformers>=4.46',
        "vllm>=0.6; sys_platform == 'linux'",
    ]
    optional-dependencies.train = ["accelerate>=1", "peft"]

    [tool.chatenv]
    profiles = ["local"]
    "quoted key" = 1

    [tool.chatenv.gpus]
    count = 2

    [[tool.chatenv.models]]
    id = "meta-llama/Llama-3.1-8B-Instruct"

    [[tool.chatenv.models]]
    path = "models/tuned"
    params = "1B"

    [tool.chatenv.env]
    HF_TOKEN = { url = "https://huggingface.co/settings/tokens", why = "gated" }
    """
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path tomllib sees (array elements by index)."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            found.append((*prefix, key))
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.append((*prefix, index))
            found += _paths(inner, (*prefix, index))
    return found


def test_every_key_tomllib_reads_has_the_line_it_is_written_on() -> None:
    lines = key_lines(PYPROJECT)
    text = PYPROJECT.splitlines()
    for path in _paths(tomllib.loads(PYPROJECT)):
        line = line_of(lines, path)
        assert line is not None, path
        last = path[-1]
        if isinstance(last, str):
            assert last in text[line - 1], (path, text[line - 1])


def test_elements_of_a_multi_line_array_and_array_tables_get_their_own_lines() -> None:
    lines = key_lines(PYPROJECT)
    assert [lines[("project", "dependencies", i)] for i in range(3)] == [7, 8, 9]
    assert lines[("project", "optional-dependencies", "train", 1)] == 11
    assert lines[("tool", "chatenv", "models", 0, "id")] == 21
    assert lines[("tool", "chatenv", "models", 1, "params")] == 25
    assert lines[("tool", "chatenv", "env", "HF_TOKEN", "why")] == 28
    assert lines[("tool", "chatenv", "quoted key")] == 15


def test_a_path_not_written_falls_back_to_the_nearest_table() -> None:
    lines = key_lines(PYPROJECT)
    assert line_of(lines, ("tool", "chatenv", "gpus", "memory_gib")) == 17
    assert line_of(lines, ("tool", "chatenv", "torch", "variant")) == 13
    assert line_of(lines, ("nothing",)) is None
