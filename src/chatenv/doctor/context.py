"""What one doctor run shares: the options, the seams, and the observations more than one
section reads (the installed distributions, the torch build, the NVIDIA and AMD GPUs, the
OpenAI settings, the Hugging Face token, the kind of machine, a Mac's chip, the project file),
each made once, typed, by whichever section asks first.

A section is `collect(ctx: Context) -> list[CheckResult]`. It imports this module and the
`chatenv.system` seams, never another section and never the runner (tests/test_layering.py
keeps that rule), so a reader can open one section and know everything it depends on.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from chatenv.records import dataclass, field
from chatenv.system.seams import Seams

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from chatenv.installed import Installed, TorchBuild
    from chatenv.keys.config import EnvFileChoice, OpenAIConfig
    from chatenv.keys.hf_token import HfTokenConfig
    from chatenv.project.file import Lookup
    from chatenv.system.amd import AmdProbe
    from chatenv.system.apple import AppleFacts
    from chatenv.system.host import PlatformFacts
    from chatenv.system.nvml import GpuProbe

__all__ = ["Context", "DoctorOptions", "Seams"]

T = TypeVar("T")


@dataclass(frozen=True)
class DoctorOptions:
    env_file: Path = Path(".env")
    offline: bool = False
    deep: bool = False
    strict: bool = False
    #: --model: the model whose hub access to check (None: the smoke test's default)
    model: str | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=Path.cwd)
    seams: Seams = field(default_factory=Seams)
    #: how env_file was chosen (given, found upward, or where a new one goes); None: given
    env_choice: EnvFileChoice | None = None

    @property
    def env_path(self) -> Path:
        """The .env file, relative paths taken from `cwd`."""
        return self.env_file if self.env_file.is_absolute() else self.cwd / self.env_file


def current_section() -> str:
    """The section the calling thread runs (the runner names its threads `doctor-<section>`)."""
    return threading.current_thread().name.removeprefix("doctor-")


class Once(Generic[T]):
    """A value made on first use, once, by whichever section asks first; the others wait for
    it, and while they wait the maker's signs of life count as theirs (`Context.alive_at`)."""

    def __init__(self, make: Callable[[], T], waiting: dict[str, str]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._maker: str | None = None
        self._value: T | None = None
        self._error: BaseException | None = None
        self._waiting = waiting

    def get(self) -> T:
        if not self._done.is_set():
            with self._lock:
                mine = self._maker is None
                if mine:
                    self._maker = current_section()
            if mine:
                try:
                    self._value = self._make()
                except BaseException as exc:  # every section that asks sees the same failure
                    self._error = exc
                finally:
                    self._done.set()
            else:
                me = current_section()
                self._waiting[me] = self._maker or ""
                self._done.wait()
                self._waiting.pop(me, None)
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class Context:
    """One doctor run: its options and seams, and the shared observations (properties, each
    made on first use)."""

    def __init__(self, options: DoctorOptions) -> None:
        self.options = options
        self._steps: dict[str, tuple[str, float]] = {}
        #: section -> the section making the observation it waits for
        self._waiting: dict[str, str] = {}
        self._installed = Once(self._scan, self._waiting)
        self._torch = Once(lambda: self.installed.torch, self._waiting)
        self._gpus = Once(options.seams.probe_gpus, self._waiting)
        self._openai = Once(self._read_openai, self._waiting)
        self._hf_token = Once(self._read_hf_token, self._waiting)
        self._host = Once(self._read_host, self._waiting)
        self._apple = Once(self._read_apple, self._waiting)
        self._amd = Once(self._read_amd, self._waiting)
        self._project = Once(self._read_project, self._waiting)

    @property
    def environ(self) -> Mapping[str, str]:
        return self.options.environ

    @property
    def seams(self) -> Seams:
        return self.options.seams

    @property
    def installed(self) -> Installed:
        """The distributions on this interpreter's path (metadata only, nothing imported)."""
        return self._installed.get()

    @property
    def torch(self) -> TorchBuild | None:
        """The installed torch's build, read from its files (None: not installed)."""
        return self._torch.get()

    @property
    def gpus(self) -> GpuProbe:
        """What NVML says about the driver and every GPU."""
        return self._gpus.get()

    @property
    def openai(self) -> OpenAIConfig:
        """The OpenAI settings the user's code would see: environment, then the .env file."""
        return self._openai.get()

    @property
    def hf_token(self) -> HfTokenConfig:
        """The Hugging Face token the user's code would send, and where it comes from."""
        return self._hf_token.get()

    @property
    def home(self) -> Path:
        return Path(self.environ.get("HOME") or Path.home())

    @property
    def host(self) -> PlatformFacts:
        """The OS, CPUs, memory, container or WSL."""
        return self._host.get()

    @property
    def apple(self) -> AppleFacts | None:
        """A Mac's chip, memory and macOS version, and Rosetta (None on any other OS)."""
        return self._apple.get()

    @property
    def amd(self) -> AmdProbe:
        """What the amdgpu driver says about AMD GPUs (empty on a machine without them)."""
        return self._amd.get()

    @property
    def project(self) -> Lookup:
        """The project file for the current folder (chatenv.project.file): with one, the
        project's requirements judge the packages it declares, and chatenv's pins only what
        chatenv itself needs."""
        return self._project.get()

    def step(self, text: str) -> None:
        """Say what the calling section is doing now ("read 3,200 distributions"). A step is
        a sign of life: a section's time budget counts from its last one (doctor/runner.py),
        so work that keeps going on a loaded machine is not cut off, and one that stops (a
        hung system call) is, with this text in its warning."""
        self._steps[current_section()] = (text, time.monotonic())

    def last_step(self, section: str) -> str | None:
        found = self._steps.get(section)
        return found[0] if found else None

    def alive_at(self, section: str) -> float | None:
        """When `section` last showed a sign of life: its own last step, or the last step of
        the section making an observation it waits for."""
        times = [self._steps.get(section, ("", None))[1]]
        maker = self._waiting.get(section)
        if maker:
            times.append(self._steps.get(maker, ("", None))[1])
        known = [t for t in times if t is not None]
        return max(known) if known else None

    def _scan(self) -> Installed:
        from chatenv.installed import scan

        return scan(self.seams.sys_path, lambda n: self.step(f"read {n} distributions"))

    def _read_openai(self) -> OpenAIConfig:
        from chatenv.keys.config import resolve

        return resolve(
            self.environ,
            self.options.env_path,
            lambda n: self.step(f"read {n} lines of {self.options.env_path}"),
        )

    def _read_project(self) -> Lookup:
        from chatenv.project.file import lookup

        home = self.environ.get("HOME")
        return lookup(self.options.cwd, Path(home) if home else None)

    def _read_hf_token(self) -> HfTokenConfig:
        from chatenv.keys import hf_token
        from chatenv.system.hf_cache import token_path

        path = token_path(self.environ, self.home)
        return hf_token.resolve(self.environ, self.options.env_path, path)

    def _read_host(self) -> PlatformFacts:
        from chatenv.system.host import observe

        return observe(self.seams.root, self.environ, self.seams.os_name())

    def _read_apple(self) -> AppleFacts | None:
        from chatenv.system import apple

        uname = self.seams.os_name()
        if uname.system != "Darwin":  # apple.observe would say None: skip importing subprocess
            return None
        return apple.observe(self.seams.runner(), uname)

    def _read_amd(self) -> AmdProbe:
        from chatenv.system import amd

        if self.host.system != "Linux":
            return amd.AmdProbe(override=self.environ.get("HSA_OVERRIDE_GFX_VERSION") or None)
        return amd.probe(self.seams.root, self.environ)
