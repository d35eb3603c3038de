"""Real installed-package files in a temporary folder: dist-info metadata, and torch's
`torch/version.py`, laid out exactly as pip lays them out in site-packages. Put the folder on a
path list (or PYTHONPATH) and the code under test finds them as it finds real installs."""

from __future__ import annotations

from pathlib import Path

from packaging.utils import canonicalize_name


def write_dist(
    site: Path, name: str, version: str, requires: tuple[str, ...] = (), summary: str = ""
) -> Path:
    """A `<name>-<version>.dist-info` folder with METADATA (and a long description body, as
    real ones have) and the INSTALLER/RECORD files pip writes."""
    folder = site / f"{canonicalize_name(name).replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if summary:
        lines.append(f"Summary: {summary}")
    lines.extend(f"Requires-Dist: {r}" for r in requires)
    body = "\n".join(lines) + "\n\n# " + name + "\n\nRequires-Dist: not-a-header-in-the-body\n"
    (folder / "METADATA").write_text(body, encoding="utf-8")
    (folder / "INSTALLER").write_text("pip\n")
    (folder / "RECORD").write_text("")
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


def write_torch(
    site: Path,
    version: str = "2.13.0+cu128",
    cuda: str | None = "12.8",
    hip: str | None = None,
    dist_version: str | None = None,
) -> Path:
    """An installed torch: the package folder with version.py (laid out as the real wheel's) and
    its dist-info. Its __init__ raises, so any code that imports it instead of reading it fails."""
    package = site / "torch"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(
        "raise ImportError('this test torch must be read, never imported')\n"
    )
    (package / "version.py").write_text(
        TORCH_VERSION_PY.format(version=version, cuda=cuda, hip=hip)
    )
    write_dist(
        site, "torch", dist_version or version, requires=("filelock", "typing-extensions>=4.10.0")
    )
    return package / "version.py"
