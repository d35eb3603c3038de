"""Finding the project's files from a folder inside it, as python-dotenv's search upward does,
stopping at the project root (real folders in tmp_path)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.system.project import find_upward, project_root

if TYPE_CHECKING:
    from pathlib import Path


def _project(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    project = home / "code" / "project"
    (project / "src" / "app").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    return home, project


def test_a_dotenv_at_the_project_root_is_found_from_a_subfolder(tmp_path: Path) -> None:
    home, project = _project(tmp_path)
    (project / ".env").write_text("OPENAI_BASE_URL=http://localhost:8000/v1\n")
    found = find_upward(".env", project / "src" / "app", home)
    assert found.path == project / ".env" and found.root == project


def test_the_nearest_one_wins(tmp_path: Path) -> None:
    home, project = _project(tmp_path)
    (project / ".env").write_text("A=1\n")
    (project / "src" / ".env").write_text("A=2\n")
    assert find_upward(".env", project / "src" / "app", home).path == project / "src" / ".env"


def test_a_dotenv_above_the_project_root_is_not_the_projects(tmp_path: Path) -> None:
    home, project = _project(tmp_path)
    (home / "code" / ".env").write_text("OPENAI_API_KEY=someone-elses\n")
    found = find_upward(".env", project / "src" / "app", home)
    assert found.path is None and found.root == project


def test_without_a_marker_the_search_stops_at_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    deep = home / "scratch" / "x"
    deep.mkdir(parents=True)
    (tmp_path / ".env").write_text("A=1\n")  # above home: never read
    (home / ".env").write_text("A=2\n")
    assert project_root(deep, home) == home
    assert find_upward(".env", deep, home).path == home / ".env"


def test_a_folder_named_like_the_file_is_skipped_and_a_dangling_link_is_found(
    tmp_path: Path,
) -> None:
    home, project = _project(tmp_path)
    (project / "src" / ".env").mkdir()
    (project / ".env").symlink_to(project / "missing.env")
    assert find_upward(".env", project / "src" / "app", home).path == project / ".env"
