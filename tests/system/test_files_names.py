"""names_like lists a folder's names as `Path.glob` would (without compiling fnmatch's
expressions): command_owner and the project readers use it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from chatenv.system.files import names_like

if TYPE_CHECKING:
    from pathlib import Path

NAMES = [
    "chatenv-0.2.15.dist-info",
    "chatenv_cli-0.1.0.dist-info",
    "chatenv-.dist-info",
    "chatenv.dist-info",
    "chatenv-1.0.dist-info.bak",
    "xchatenv-1.0.dist-info",
    "python3.11",
    "python3",
    "python2.7",
    ".python3.hidden",
    "requirements.txt",
    "requirements-dev.txt",
    "requirements.txt.orig",
]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("chatenv-", ".dist-info"),
        ("chatenv_cli-", ".dist-info"),
        ("python3", ""),
        ("requirements", ".txt"),
    ],
)
def test_named_is_glob(tmp_path: Path, start: str, end: str) -> None:
    for name in NAMES:
        (tmp_path / name).mkdir()
    globbed = [p.name for p in sorted(tmp_path.glob(f"{start}*{end}"))]
    assert names_like(tmp_path, start, end) == globbed
    assert globbed  # the case is not empty


def test_a_missing_folder_has_no_names(tmp_path: Path) -> None:
    assert names_like(tmp_path / "absent", "python3", "") == []
