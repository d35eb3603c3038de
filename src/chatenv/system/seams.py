"""Where chatenv touches the machine beyond `environ` and plain files: subprocesses, NVML, the
PATH, sockets, the installed distributions, the filesystem root /proc, /sys, /dev and /etc are
read from, and what `platform` says about the OS. doctor and install take the same `Seams`;
None means the real thing, and tests hand in a recording runner, NVML over a stand-in library,
a path list of fake installs, a tree in tmp or a Mac's `platform` answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from chatenv.records import dataclass

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from chatenv.system.amd import AmdProbe
    from chatenv.system.connect import Connector
    from chatenv.system.host import Uname
    from chatenv.system.nvml import GpuProbe, NvmlLibrary
    from chatenv.system.proc import LineRunner, ProcResult, Runner


def _run(
    args: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ProcResult:
    """`chatenv.system.proc.run`, imported (with subprocess) when a program is first run: most
    doctor runs start none."""
    from chatenv.system import proc

    return proc.run(args, timeout=timeout, env=env, cwd=cwd)


@dataclass(frozen=True)
class Seams:
    #: the NVML library (None: libnvidia-ml through pynvml)
    nvml: NvmlLibrary | None = None
    #: runs a program to completion (None: `chatenv.system.proc.run`)
    run: Runner | None = None
    #: runs a program and streams its output lines (None: `chatenv.system.proc.stream`)
    stream: LineRunner | None = None
    #: finds a program on PATH (None: `shutil.which`)
    which: Callable[[str], str | None] | None = None
    #: opens sockets for the reachability checks (None: real sockets)
    connector: Connector | None = None
    #: where installed distributions are looked up (None: this interpreter's sys.path)
    sys_path: tuple[str, ...] | None = None
    #: the filesystem root that /proc, /sys, /dev, /usr/lib and /etc are read from
    root: Path = Path("/")
    #: GETs a URL's text (the PyTorch index's simple pages); raises OSError when it cannot
    #: (None: urllib, honouring the proxy variables as pip does)
    fetch: Callable[[str], str] | None = None
    #: what `platform` says about the OS (None: ask `platform`)
    uname: Uname | None = None
    #: the environment install reads its settings from (None: os.environ)
    env: Mapping[str, str] | None = None

    def environ(self) -> Mapping[str, str]:
        if self.env is not None:
            return self.env
        import os

        return os.environ

    def runner(self) -> Runner:
        return self.run if self.run is not None else _run

    def line_runner(self) -> LineRunner:
        if self.stream is not None:
            return self.stream
        from chatenv.system import proc

        return proc.stream

    def find(self, name: str) -> str | None:
        if self.which is not None:
            return self.which(name)
        import shutil

        return shutil.which(name)

    def get_text(self, url: str) -> str:
        return (self.fetch or http_get)(url)

    def sockets(self) -> Connector:
        if self.connector is not None:
            return self.connector
        from chatenv.system.connect import SocketConnector

        return SocketConnector()

    def os_name(self) -> Uname:
        if self.uname is not None:
            return self.uname
        from chatenv.system.host import this_uname

        return this_uname()

    def probe_amd(self, environ: Mapping[str, str] | None = None) -> AmdProbe:
        """AMD GPUs, from the amdgpu driver's files under `root` (Linux only: elsewhere there
        are none)."""
        from chatenv.system import amd

        if self.os_name().system != "Linux":
            return amd.AmdProbe()
        return amd.probe(self.root, environ)

    def probe_gpus(self) -> GpuProbe:
        """What NVML says about the driver and every GPU (never raises)."""
        from chatenv.system.nvml import probe

        return probe(self.nvml)


def http_get(url: str, timeout: float = 10.0) -> str:
    """The real fetch: urllib, which honours HTTPS_PROXY / NO_PROXY as pip does."""
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "text/html"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return str(response.read().decode("utf-8", errors="replace"))
