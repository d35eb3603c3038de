"""The scan for OpenAI v0 API code: what it finds (with the line and the v1 replacement), what it
leaves alone (v1 code, environments, build output), and its bounds."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

import pytest

from chatenv.project.openai_v0 import REMOVED, V1_CALLS, find_uses, scan
from tests.project.conftest import make_project

if TYPE_CHECKING:
    from pathlib import Path

V0_TUTORIAL = """
import os
import openai

openai.api_key = os.getenv("OPENAI_API_KEY")
openai.api_base = "https://example.openai.azure.com/"

response = openai.Completion.create(
    engine="text-davinci-003",
    prompt="Say hello",
    max_tokens=5,
)
chat = openai.ChatCompletion.create(model="gpt-3.5-turbo-0301", messages=[])
try:
    openai.Embedding.create(input="x", engine="text-embedding-ada-002")
except openai.error.RateLimitError:
    pass
"""

V1_CODE = """
import openai
from openai import OpenAI

openai.api_key = "works with v1's module client"
client = OpenAI()
reply = client.chat.completions.create(model="gpt-4.1-nano", messages=[])
openai.chat.completions.create(model="gpt-4o-mini", messages=[])
"""


def uses(source: str) -> list[tuple[int, str, str]]:
    from pathlib import Path

    return [(u.line, u.found, u.v1) for u in find_uses(ast.parse(source), Path("app.py"))]


def test_a_tutorial_s_v0_code_is_found_line_by_line_with_its_v1_equivalent() -> None:
    assert uses(V0_TUTORIAL) == [
        (5, "openai.api_key = ...", "OpenAI(api_key=...) or the OPENAI_API_KEY variable"),
        (6, "openai.api_base = ...", "OpenAI(base_url=...) or the OPENAI_BASE_URL variable"),
        (8, "openai.Completion.create(engine=...)",
         "client = OpenAI(); client.completions.create(model=..., prompt=...) "
         "(model= instead of engine=)"),
        (9, "'text-davinci-003'", "retired model: gpt-3.5-turbo-instruct (completions endpoint)"),
        (13, "'gpt-3.5-turbo-0301'", "retired model: gpt-3.5-turbo, or today gpt-4.1-nano"),
        (13, "openai.ChatCompletion.create(...)",
         "client = OpenAI(); client.chat.completions.create(model=..., messages=[...])"),
        (15, "openai.Embedding.create(engine=...)",
         "client = OpenAI(); client.embeddings.create(model=..., input=...) "
         "(model= instead of engine=)"),
        (16, "openai.error.RateLimitError", "openai.RateLimitError (openai.error is gone in v1)"),
    ]  # fmt: skip


def test_v1_code_is_left_alone() -> None:
    assert uses(V1_CODE) == []


def test_aliases_and_from_imports_are_followed() -> None:
    source = (
        "import openai as oa\nfrom openai import ChatCompletion as CC\n"
        "oa.Image.create(prompt='x')\nCC.acreate(model='gpt-4o', messages=[])\n"
    )
    assert uses(source) == [
        (2, "from openai import ChatCompletion",
         "from openai import OpenAI; client = OpenAI(); client.chat.completions"),
        (3, "oa.Image.create(...)", "client = OpenAI(); client.images.generate(prompt=...)"),
        (4, "CC.acreate(...)",
         "await AsyncOpenAI().chat.completions.create(model=..., messages=[...])"),
    ]  # fmt: skip


def test_every_v1_call_it_suggests_exists_on_the_installed_client() -> None:
    from openai import OpenAI

    client = OpenAI(api_key="sk-test-not-used", base_url="http://127.0.0.1:9")
    for call in V1_CALLS.values():
        target: object = client
        for part in re.match(r"client\.([\w.]+)\(", call).group(1).split("."):  # type: ignore[union-attr]
            target = getattr(target, part)
        assert callable(target), call


def test_the_removed_names_are_the_ones_openai_itself_removed() -> None:
    from openai.lib import _old_api

    assert set(_old_api.SYMBOLS) == REMOVED


def test_the_scan_reads_the_project_not_its_environments(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "demo",
        {
            "src/app.py": V0_TUTORIAL,
            "src/clean.py": V1_CODE,
            "src/other.py": "print('no mention of the client here')\n",
            "src/broken.py": "import openai\ndef (:\n",
            ".venv/lib/python3.12/site-packages/old/x.py": V0_TUTORIAL,
            "node_modules/pkg/x.py": V0_TUTORIAL,
            "envs/py310/pyvenv.cfg": "home = /usr/bin\n",
            "envs/py310/lib/x.py": V0_TUTORIAL,
            "build/lib/app.py": V0_TUTORIAL,
        },
    )
    found = scan(root)
    assert {u.path.relative_to(root).as_posix() for u in found.uses} == {"src/app.py"}
    assert (found.files, found.skipped, found.truncated) == (2, 1, False)  # app, clean; broken


def test_the_scan_is_bounded(tmp_path: Path) -> None:
    files = {f"pkg/m{i:02}.py": "import openai\nopenai.Completion.create()\n" for i in range(12)}
    files["pkg/huge.py"] = "import openai\n" + "x = 1\n" * 200_000
    root = make_project(tmp_path / "demo", files)
    capped = scan(root, max_files=5)
    assert capped.truncated and capped.files + capped.skipped == 5  # huge.py sorts first
    sized = scan(root, max_bytes=100_000)
    assert sized.skipped == 1 and sized.files == 12


@pytest.mark.parametrize("name", ["text-davinci-002", "code-davinci-002", "text-curie-001"])
def test_retired_model_names_are_found_anywhere_as_strings(name: str) -> None:
    assert [u[1] for u in uses(f"MODEL = {name!r}\n")] == [repr(name)]
