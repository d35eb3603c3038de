"""Where the project is: the folder a developer's code runs from may be deep inside it
(`project/src/app`), but its `.env` and its `pyproject.toml` sit at the top.

python-dotenv's `load_dotenv()` finds a `.env` by walking up from the current folder
(`find_dotenv(usecwd=True)`; from the calling file's folder otherwise). chatenv walks up the same
way, but stops at the project root: the nearest folder holding a project marker (`.git`,
`pyproject.toml`, `setup.py`, `setup.cfg`) or, without one, the home folder. A `.env` above the
project (in the home folder, say) is not the project's; reading it would report someone else's
key as this project's.
"""

from __future__ import annotations

from pathlib import Path

from chatenv.records import dataclass

#: what marks the top folder of a project
MARKERS = (".git", "pyproject.toml", "setup.py", "setup.cfg")


@dataclass(frozen=True)
class Found:
    """The nearest file of a name at or above a folder, within the project."""

    #: the file, or None when no folder up to the root holds one
    path: Path | None
    #: the project's top folder (where the search stopped)
    root: Path
    #: where the search started
    start: Path


def project_root(start: Path, home: Path | None = None) -> Path:
    """The nearest folder at or above `start` that holds a project marker; without one, the
    home folder if `start` is inside it, else `start` itself."""
    start = start.absolute()
    home = (home or Path.home()).absolute()
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in MARKERS):
            return folder
        if folder == home:
            break
    return start if not start.is_relative_to(home) or start == home else home


def find_upward(name: str, start: Path, home: Path | None = None) -> Found:
    """The nearest `name` (a file, or anything but a folder) at or above `start`, no higher
    than the project root."""
    start = start.absolute()
    root = project_root(start, home)
    for folder in (start, *start.parents):
        candidate = folder / name
        if (candidate.exists() or candidate.is_symlink()) and not candidate.is_dir():
            return Found(candidate, root, start)
        if folder == root:
            break
    return Found(None, root, start)
