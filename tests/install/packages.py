"""Real distributions for offline installer runs: tiny wheels, and sdists whose build fails or
hangs (pip builds them with an in-tree backend, so no network is needed).

Served to pip as a find-links directory with the index switched off (`offline_pip_env`), they
make real pip runs that are fast, deterministic and independent of PyPI.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path


def _escaped(name: str) -> str:
    return canonicalize_name(name).replace("-", "_")


def _metadata(name: str, version: str, requires: Iterable[str]) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    return "\n".join(lines) + "\n"


def make_wheel(directory: Path, name: str, version: str, requires: Iterable[str] = ()) -> Path:
    """A pure-Python wheel with one module, as a build backend would write it."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{_escaped(name)}-{version}"
    path = directory / f"{stem}-py3-none-any.whl"
    files = {
        f"{_escaped(name)}/__init__.py": f'__version__ = "{version}"\n',
        f"{stem}.dist-info/METADATA": _metadata(name, version, requires),
        f"{stem}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: chatenv-tests\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    with zipfile.ZipFile(path, "w") as zf:
        for arcname, text in files.items():
            data = text.encode()
            zf.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{arcname},sha256={digest},{len(data)}")
        record.append(f"{stem}.dist-info/RECORD,,")
        zf.writestr(f"{stem}.dist-info/RECORD", "\n".join(record) + "\n")
    return path


_BACKEND = """
import os, pathlib, sys, time

META = {meta!r}
DIST_INFO = {dist_info!r}
MODE = {mode!r}


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    target = pathlib.Path(metadata_directory) / DIST_INFO
    target.mkdir()
    (target / "METADATA").write_text(META)
    return DIST_INFO


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    marker = os.environ.get("CHATENV_TEST_BUILD_MARKER")
    if marker:
        pathlib.Path(marker).write_text("building")
    if MODE == "hang":
        parent = os.getppid()
        for _ in range(1200):  # until interrupted, or until pip is gone
            time.sleep(0.05)
            if os.getppid() != parent:
                break
    print("chatenv-test: this build fails on purpose (compiler exploded)", file=sys.stderr)
    raise RuntimeError("chatenv-test build failure")
"""


def make_sdist(directory: Path, name: str, version: str, *, mode: str) -> Path:
    """An sdist whose metadata is instant but whose wheel build fails (`mode="fail"`) or hangs
    until interrupted (`mode="hang"`)."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{_escaped(name)}-{version}"
    meta = _metadata(name, version, ())
    files = {
        "PKG-INFO": meta,
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\n'
        'backend-path = ["."]\n',
        "backend.py": _BACKEND.format(meta=meta, dist_info=f"{stem}.dist-info", mode=mode),
    }
    path = directory / f"{stem}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for rel, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{stem}/{rel}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def offline_pip_env(env: dict[str, str], find_links: Path) -> dict[str, str]:
    """pip sees only `find_links`: no config files, no index, no other find-links."""
    out = dict(env)
    out.update(
        PIP_CONFIG_FILE="/dev/null",
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(find_links),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return out
