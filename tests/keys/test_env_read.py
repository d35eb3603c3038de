"""Reading a .env file as python-dotenv does, in linear time: the same values as
`dotenv.dotenv_values` on generated files (interpolation, defaults, redefinitions, the process
environment, quoting, unparsable lines), including a 30,000-line chain of references."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dotenv import dotenv_values
from hypothesis import given, settings
from hypothesis import strategies as st

from chatenv.keys.config import dotenv_values_linear, read_env_file

if TYPE_CHECKING:
    from pathlib import Path

NAMES = ["A", "B", "C", "HOME_X", "CHATENV_TEST_FROM_ENV"]
os.environ.setdefault("CHATENV_TEST_FROM_ENV", "from-the-environment")

_value_part = st.one_of(
    st.sampled_from(["plain", "with space", "a#b", " #c", "x=y", "$", "${", "}", "\\$"]),
    st.builds(lambda n: "${" + n + "}", st.sampled_from(NAMES)),
    st.builds(
        lambda n, d: "${" + n + ":-" + d + "}", st.sampled_from(NAMES), st.text("xyz", max_size=3)
    ),
    st.text("ab $\\'\"", max_size=4),
)
_value = st.lists(_value_part, max_size=4).map("".join)


def _line(name: str, value: str, quote: str, export: bool) -> str:
    prefix = "export " if export else ""
    if quote == "'":
        value = value.replace("'", "")
    elif quote == '"':
        value = value.replace('"', "").replace("\\", "")
    return f"{prefix}{name}={quote}{value}{quote}"


_lines = st.lists(
    st.one_of(
        st.builds(
            _line, st.sampled_from(NAMES), _value, st.sampled_from(["", "'", '"']), st.booleans()
        ),
        st.sampled_from(["# a comment", "", "NOVALUE", "not a binding !", "  B = spaced  "]),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(_lines, st.sampled_from(["\n", "\r\n"]))
def test_the_linear_reader_gives_what_python_dotenv_gives(
    tmp_path_factory: object, lines: list[str], newline: str
) -> None:
    folder = tmp_path_factory.mktemp("env")  # type: ignore[attr-defined]
    path = folder / ".env"
    path.write_bytes(newline.join(lines).encode("utf-8"))
    expected = {k: v for k, v in dotenv_values(path, encoding="utf-8").items() if v is not None}
    assert read_env_file(path) == expected


def test_a_later_definition_does_not_change_an_earlier_reference() -> None:
    values = dotenv_values_linear("A=1\nB=${A}\nA=2\nC=${A}\n")
    assert values == {"A": "2", "B": "1", "C": "2"}


def test_a_long_chain_of_references_resolves_through_every_line(tmp_path: Path) -> None:
    # 30,000 lines each naming the one before (python-dotenv itself takes ~14 s of CPU on this;
    # benchmarks/bench_doctor_scaling.py prints the time chatenv takes)
    path = tmp_path / ".env"
    path.write_text("".join(f"VAR_{i}=${{VAR_{i - 1}:-x}}y\n" for i in range(30_000)))
    values = read_env_file(path)
    assert len(values) == 30_000
    assert values["VAR_2"] == "xyyy" and values["VAR_29999"] == "x" + "y" * 30_000
