"""Real installed-package files in a temporary folder: dist-info metadata, and torch's
`torch/version.py`, laid out exactly as pip lays them out in site-packages. Put the folder on a
path list (or PYTHONPATH, or write into a throw-away virtualenv's site-packages) and the code
under test finds them as it finds real installs; pip can uninstall them (RECORD lists every
file)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path


def write_dist(
    site: Path,
    name: str,
    version: str,
    requires: Iterable[str] = (),
    summary: str = "",
    files: dict[str, str] | None = None,
) -> Path:
    """A `<name>-<version>.dist-info` folder with METADATA (and a long description body, as
    real ones have), the INSTALLER file pip writes and a RECORD that lists its files (so pip
    can uninstall it), plus the files themselves."""
    folder = site / f"{canonicalize_name(name).replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if summary:
        lines.append(f"Summary: {summary}")
    lines.extend(f"Requires-Dist: {r}" for r in requires)
    body = "\n".join(lines) + "\n\n# " + name + "\n\nRequires-Dist: not-a-header-in-the-body\n"
    (folder / "METADATA").write_text(body, encoding="utf-8")
    (folder / "INSTALLER").write_text("pip\n")
    record = [f"{folder.name}/METADATA,,", f"{folder.name}/INSTALLER,,", f"{folder.name}/RECORD,,"]
    for rel, text in (files or {}).items():
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        record.append(f"{rel},,")
    (folder / "RECORD").write_text("\n".join(record) + "\n")
    return folder


TORCH_VERSION_PY = """\
from typing import Optional

__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip', 'rocm', 'xpu']
__version__ = {version!r}
debug = False
cuda: Optional[str] = {cuda!r}
git_version = 'cf30153c4c131c8164ee7798e5022d810682e2cb'
hip: Optional[str] = {hip!r}
rocm: Optional[str] = {hip!r}
xpu: Optional[str] = None
"""


NOT_IMPORTABLE = "raise ImportError('this test torch must be read, never imported')\n"


def torch_version_py(version: str, cuda: str | None, hip: str | None = None) -> str:
    """torch/version.py as torch's build writes it."""
    return TORCH_VERSION_PY.format(version=version, cuda=cuda, hip=hip)


def write_torch(
    site: Path,
    version: str = "2.13.0+cu128",
    cuda: str | None = "12.8",
    hip: str | None = None,
    dist_version: str | None = None,
) -> Path:
    """An installed torch: the package folder with version.py (laid out as the real wheel's) and
    its dist-info. Its __init__ raises, so any code that imports it instead of reading it fails."""
    return write_dist(
        site,
        "torch",
        dist_version or version,
        requires=("filelock", "typing-extensions>=4.10.0"),
        files={
            "torch/__init__.py": NOT_IMPORTABLE,
            "torch/version.py": torch_version_py(version, cuda, hip),
        },
    )
