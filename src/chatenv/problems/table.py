"""The table of problems (see `chatenv.problems`). Grouped as docs/troubleshooting.md shows them:
by the first command that reports a problem, then by area.

Templates: `{name}` is a value the code passes, `{name!r}` its repr, `{KEYS_PAGE}` and the other
`CONSTANTS` are filled in by `chatenv.problems`; a literal brace is written `{{` or `}}`.
Keep a problem's message byte for byte what a user sees: people search the page for it.
"""

from __future__ import annotations

from chatenv.problems.entry import CONSTANTS, Problem

ALL = ("doctor", "install", "configure-key", "smoke-test", "setup", "init", "schema")
#: the commands that print a report (every one but `schema`): --format, GitHub Actions output
REPORTING = ("doctor", "install", "configure-key", "smoke-test", "setup", "init")
DOCTOR = ("doctor",)
INSTALL = ("install",)
KEY = ("configure-key",)
SMOKE = ("smoke-test",)
API = ("configure-key", "smoke-test")
ENV_FILE = ("doctor", "configure-key", "smoke-test")
SETUP = ("setup",)
SCHEMA = ("schema",)
#: a project file is read by doctor and setup (init reads the pyproject.toml it appends to)
PROJECT = ("doctor", "setup", "init")
INIT = ("init",)

PROBLEMS: tuple[Problem, ...] = (
    # -- every command ---------------------------------------------------------------------
    Problem(
        id="cli.unexpected",
        commands=ALL,
        area="Any command",
        levels=("error",),
        title="An unexpected error",
        message="unexpected {error}",
        cause="Something chatenv does not know how to explain went wrong: a bug, or a machine "
        "in a state nobody foresaw. The line names the exception and its first line.",
        fix="run again with --verbose and report it at {ISSUES_PAGE}",
    ),
    Problem(
        id="cli.interrupted",
        commands=ALL,
        area="Any command",
        levels=("error",),
        title="Interrupted with Ctrl-C",
        message="interrupted",
        cause="Ctrl-C (SIGINT) stopped the command; it exits 130. `install` and `configure-key` "
        "say what state they left things in (see their own entries).",
    ),
    Problem(
        id="cli.format-conflict",
        commands=REPORTING,
        area="Any command",
        levels=("usage",),
        title="--json and another --format",
        message="--json means --format json, and --format {chosen} was given too",
        cause="`--json` is short for `--format json`; given with `--format text` or "
        "`--format markdown` the two ask for different outputs.",
        fix="keep one of them",
    ),
    # -- every command: GitHub Actions output ------------------------------------------------
    Problem(
        id="github.summary-unset",
        commands=REPORTING,
        area="GitHub Actions",
        levels=("warn",),
        title="GITHUB_ACTIONS is set but GITHUB_STEP_SUMMARY is not",
        message="GITHUB_STEP_SUMMARY is not set: no job summary written",
        cause="With `GITHUB_ACTIONS=true` chatenv appends its Markdown report to the file "
        "`$GITHUB_STEP_SUMMARY` names. The runner sets both; this one is missing when a step "
        "runs chatenv inside a container without passing the variable (`docker run -e "
        'GITHUB_STEP_SUMMARY -v "$GITHUB_STEP_SUMMARY:$GITHUB_STEP_SUMMARY"`), or outside '
        "GitHub with `GITHUB_ACTIONS` set by hand. The command's own result is unaffected; "
        "annotations are still printed.",
    ),
    Problem(
        id="github.summary-unwritable",
        commands=REPORTING,
        area="GitHub Actions",
        levels=("warn",),
        title="The job summary file cannot be written",
        message="cannot append to GITHUB_STEP_SUMMARY ({path}): {reason}",
        cause="The file `$GITHUB_STEP_SUMMARY` names is in a folder that does not exist here, "
        "or is not writable (a container that did not mount it, a read-only filesystem). The "
        "command's own result is unaffected; annotations are still printed.",
    ),
    Problem(
        id="github.output-failed",
        commands=REPORTING,
        area="GitHub Actions",
        levels=("warn",),
        title="The annotations or the job summary could not be made",
        message="no GitHub Actions annotations or summary: {error}",
        cause="Something unexpected went wrong while turning the report into workflow "
        "annotations and Markdown: a bug. The command's own output and exit code are "
        f"unaffected; please report the line at {CONSTANTS['ISSUES_PAGE']}.",
    ),
    # -- doctor: how it runs ---------------------------------------------------------------
    Problem(
        id="doctor.env-file-is-directory",
        commands=("doctor", "setup"),
        area="Running doctor",
        levels=("usage",),
        title="--env-file names a folder",
        message="--env-file {path} is a directory",
        cause="`--env-file` must name the `.env` file itself, not the folder that holds it.",
        fix="pass the .env file itself",
    ),
    Problem(
        id="doctor.section-crashed",
        commands=DOCTOR,
        area="Running doctor",
        levels=("fail",),
        title="A check crashed",
        message="the {name} check crashed: {error}",
        cause="One section raised an exception chatenv did not expect. The other sections still "
        "report; `--verbose` shows the end of the traceback under this line.",
        fix="run `chatenv doctor --verbose` and report the details",
    ),
    Problem(
        id="doctor.section-timeout",
        commands=DOCTOR,
        area="Running doctor",
        levels=("warn",),
        title="A check did not finish in time",
        message="the {name} check did not finish within {budget:g}s, so its results are "
        "incomplete{last}",
        cause="Every section runs at once within its own time budget, which guards against "
        "hangs: a stuck network mount, an NVML call that never returns, a DNS lookup. Its work "
        "itself takes a fraction of a second even on a loaded machine with thousands of "
        "packages, so running out of time means something it waited on did not answer. The "
        "line says the last step it reached; the other sections still report. A warning, not "
        "a failure: nothing is known to be wrong, only unknown.",
        fix="find what that step waits on (a network mount under the path it names, the NVIDIA "
        "driver, DNS), then run `chatenv doctor` again",
    ),
    # -- doctor: platform --------------------------------------------------------------------
    Problem(
        id="platform.low-ram",
        commands=DOCTOR,
        area="Platform",
        levels=("warn",),
        title="Less than 4 GiB of RAM",
        message="{cpus} CPUs, only {ram}",
        cause="Loading even a small local model (and importing torch) needs a few GiB of "
        "memory; below 4 GiB local models will swap or be killed. Hosted models through the "
        "API need almost nothing.",
        fix="chatenv install api  # local models want 8 GiB of RAM or more",
    ),
    # -- doctor: python ----------------------------------------------------------------------
    Problem(
        id="python.too-old",
        commands=DOCTOR,
        area="Python",
        levels=("fail",),
        title="Python is older than 3.10",
        message="{python} is older than chatenv supports ({supported})",
        cause="chatenv, current transformers and the openai client need Python 3.10 or newer.",
        fix="uv venv --python 3.12 .venv  # or install Python 3.12 from python.org",
    ),
    Problem(
        id="python.too-new",
        commands=DOCTOR,
        area="Python",
        levels=("warn",),
        title="Python is newer than chatenv has tested",
        message="{python} is newer than chatenv has tested ({supported}): PyTorch may not ship "
        "wheels for it yet",
        cause="PyTorch and tokenizers publish wheels for a new Python some months after its "
        "release; until then `pip install torch` fails or builds from source.",
        fix="uv venv --python 3.13 .venv  # a Python PyTorch ships wheels for",
    ),
    Problem(
        id="python.32-bit",
        commands=DOCTOR,
        area="Python",
        levels=("warn",),
        title="A 32-bit Python",
        message="{python}: PyTorch ships no 32-bit wheels",
        cause="PyTorch is only built for 64-bit interpreters.",
        fix="install a 64-bit Python and make the virtualenv with it",
    ),
    Problem(
        id="python.conda-base",
        commands=DOCTOR,
        area="Python",
        levels=("warn",),
        title="Running in conda's base environment",
        message="conda's base environment: installing the LLM stack here can break conda itself",
        cause="conda's own tools live in the base environment; pip-installing torch and "
        "friends there can replace packages conda depends on.",
        fix="conda create -n llm python=3.12 && conda activate llm && pip install chatenv",
    ),
    Problem(
        id="python.tool-environment",
        commands=DOCTOR,
        area="Python",
        levels=("warn",),
        title="chatenv runs from its own pipx or uv tool environment",
        message="chatenv runs in its own {tool} environment: doctor checks that environment, "
        "not your project's",
        cause="doctor (and install) look at the interpreter chatenv runs in. Installed with "
        "`pipx` or `uv tool`, that is chatenv's private environment, not the one your code "
        "uses.",
        fix="python3 -m venv .venv && . .venv/bin/activate && pip install chatenv  # chatenv "
        "inside the project's virtualenv",
    ),
    Problem(
        id="python.system-interpreter",
        commands=DOCTOR,
        area="Python",
        levels=("warn",),
        title="The system Python, not a virtualenv",
        message="system interpreter {executable}, not a virtualenv",
        cause="Installing the LLM stack into the Python your OS uses can break system tools, "
        "and many distributions refuse it outright (PEP 668, `externally-managed-environment`).",
        fix="python3 -m venv .venv && . .venv/bin/activate && pip install chatenv",
    ),
    Problem(
        id="python.no-installer",
        commands=DOCTOR,
        area="Python",
        levels=("warn",),
        title="Neither pip nor uv is available",
        message="neither pip nor uv is available to install packages",
        cause="The environment has no pip (some distributions split it into its own package) "
        "and uv is not on PATH, so nothing can be installed into it.",
        fix="{executable} -m ensurepip --upgrade",
    ),
    Problem(
        id="python.old-pip",
        commands=DOCTOR,
        area="Python",
        levels=("warn",),
        title="pip is older than 22.0",
        message="{pip} is too old for current wheels{uv}",
        cause="Old pip misreads current wheel metadata and resolves dependencies badly.",
        fix="{executable} -m pip install --upgrade pip",
    ),
    # -- doctor: packages (install verifies with the same checks) -----------------------------
    Problem(
        id="packages.profile-missing",
        commands=("doctor", "install"),
        area="Packages",
        levels=("warn", "fail"),
        title="A profile is not installed",
        message="{profile} profile not installed ({description})",
        cause="None of the packages of the `api` profile (openai, python-dotenv) or of the "
        "`local` profile (torch, transformers, ...) is installed. For doctor a warning: install "
        "the profile you need. After `chatenv install` of that profile, a failure.",
        fix="chatenv install {profile}{python_option}",
    ),
    Problem(
        id="packages.profile-partial",
        commands=("doctor", "install"),
        area="Packages",
        levels=("warn", "fail"),
        title="A profile is installed in part",
        message="{profile} profile partly installed: {missing} missing",
        cause="Some packages of a profile are installed and others are not, usually after a "
        "`pip install` of one of them by hand (or `pip uninstall` of one).",
        fix="chatenv install {profile}{python_option}",
    ),
    Problem(
        id="packages.base-partial",
        commands=("doctor", "install"),
        area="Packages",
        levels=("warn", "fail"),
        title="One of chatenv's own dependencies is missing",
        message="chatenv's own packages partly installed: {missing} missing",
        cause="A package chatenv itself needs (typer, rich, packaging, python-dotenv, "
        "nvidia-ml-py) was uninstalled or never installed (chatenv copied without pip).",
        fix="{python_command} -m pip install {requirements}",
    ),
    Problem(
        id="packages.outside-pin",
        commands=("doctor", "install"),
        area="Packages",
        levels=("fail", "warn"),
        title="A package is outside chatenv's pins",
        message="{name} {version} {why} chatenv's pin {spec}",
        cause="An installed package's version is outside the range chatenv has tested "
        "(`src/chatenv/install/pins.toml`), or cannot be read at all. Removed APIs and torch "
        "builds for another CUDA are the usual results.",
        fix="chatenv install {profile}{python_option}",
    ),
    Problem(
        id="packages.base-outside-pin",
        commands=("doctor", "install"),
        area="Packages",
        levels=("fail", "warn"),
        title="One of chatenv's own dependencies is outside its pin",
        message="{name} {version} {why} chatenv's pin {spec}",
        cause="A package chatenv itself needs is in a version chatenv was not written for "
        "(another tool's requirements moved it).",
        fix="{python_command} -m pip install {requirements}",
    ),
    Problem(
        id="packages.openai-v0",
        commands=("doctor", "install"),
        area="Packages",
        levels=("fail", "warn"),
        title="The pre-1.0 openai package",
        message="openai {version} is the pre-1.0 client; chatenv and current examples need "
        "openai 1.x+",
        cause="openai 1.0 removed the module-level API (`openai.Completion.create(...)` raises "
        "`APIRemovedInV1`), and the models old tutorials use are retired. The v1 client is "
        "`OpenAI().chat.completions.create(...)`; `openai migrate` rewrites old code.",
        fix="chatenv install api{python_option}  # then update v0 calls to the v1 client",
    ),
    Problem(
        id="packages.broken-requirements",
        commands=("doctor", "install"),
        area="Packages",
        levels=("fail", "warn"),
        title="Broken requirements (what pip check reports)",
        message="{count}: {first}{more}",
        cause="An installed package requires another that is missing or in a version outside "
        "its range. A failure when it touches the chatenv stack (for install: anything its "
        "profiles pull in), a warning between unrelated packages.",
        fix="{python_command} -m pip install {requirements}",
    ),
    Problem(
        id="packages.duplicates",
        commands=("doctor", "install"),
        area="Packages",
        levels=("warn",),
        title="A package is installed twice",
        message="{count} installed twice on the import path: {first}",
        cause="Two copies of one distribution sit on `sys.path` (a user site and the venv, an "
        "old egg): Python imports the first, pip may upgrade the other.",
        fix="{python_command} -m pip install --force-reinstall {names}",
    ),
    # -- doctor: GPU and driver --------------------------------------------------------------
    Problem(
        id="gpu.version-mismatch",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("fail",),
        title="NVIDIA driver/library version mismatch",
        message="NVIDIA driver/library version mismatch: the driver was upgraded but the old "
        "kernel module is still loaded, so no CUDA program can start",
        cause="A package upgrade replaced the driver's libraries while the old kernel module "
        "kept running (NVML: `Driver/library version mismatch`).",
        fix="sudo reboot  # loads the upgraded driver's kernel module",
    ),
    Problem(
        id="gpu.no-permission",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="No permission to use the GPU devices",
        message="not allowed to talk to the NVIDIA driver (no permission on /dev/nvidia*)",
        cause="The device files `/dev/nvidia*` belong to a group your user is not in.",
        fix="ls -l /dev/nvidia*  # add your user to the group that owns them, log in again",
    ),
    Problem(
        id="gpu.nvml-error",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="NVML answered with an error",
        message="NVML answered with an error: {error}",
        cause="The NVIDIA management library is there but failed in a way chatenv does not "
        "recognise (a GPU that fell off the bus, a driver in a bad state).",
        fix="nvidia-smi  # does the driver itself answer?",
    ),
    Problem(
        id="gpu.driver-missing",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="An NVIDIA GPU but no driver",
        message="{gpus} on the PCI bus, but no NVIDIA driver is installed",
        cause="The GPU is in the machine (its PCI vendor id is NVIDIA's) but the driver is not "
        "installed, so nothing can use it.",
        fix="install the NVIDIA driver (Ubuntu: sudo ubuntu-drivers install), then reboot",
    ),
    Problem(
        id="gpu.driver-not-loaded",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="The NVIDIA kernel module is not loaded",
        message="{gpus} on the PCI bus, but the NVIDIA kernel driver is not loaded",
        cause="The driver's libraries are installed but its kernel module is not running: not "
        "loaded yet, blacklisted, or refused by Secure Boot because it is unsigned.",
        fix="sudo modprobe nvidia  # or reboot; with Secure Boot the module must be signed",
    ),
    Problem(
        id="gpu.driver-sees-no-gpu",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="The driver reports no GPU",
        message="{gpus} on the PCI bus, but the NVIDIA driver reports no GPU",
        cause="The kernel module is loaded but does not drive the GPU: usually a driver too "
        "old for a new GPU, or one that failed to initialise it (see `dmesg`).",
        fix="install the NVIDIA driver (Ubuntu: sudo ubuntu-drivers install), then reboot",
    ),
    Problem(
        id="gpu.container-without-gpu",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="A container started without GPU access",
        message="{gpus} on the PCI bus, {what}",
        cause="The host has an NVIDIA GPU, but the container was started without access to it, "
        "so the driver's libraries and device files are not inside.",
        fix="start the container with GPU access: docker run --gpus all ...  (NVIDIA Container "
        "Toolkit)",
    ),
    Problem(
        id="gpu.pod-without-gpu",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="A Kubernetes pod without a GPU",
        message="{gpus} on the PCI bus, {what}",
        cause="The node has an NVIDIA GPU, but the pod did not request one, so the device "
        "plugin gave it none.",
        fix="request the GPU in the pod spec (resources.limits: nvidia.com/gpu: 1)",
    ),
    Problem(
        id="gpu.wsl-without-gpu",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("skip",),
        title="WSL without GPU access",
        message="WSL without NVIDIA GPU access (no libnvidia-ml in /usr/lib/wsl/lib)",
        cause="Under WSL 2 the GPU is reached through the Windows driver, which puts its "
        "libraries in /usr/lib/wsl/lib. They are missing: no (or an old) NVIDIA driver on "
        "Windows. Never install a Linux NVIDIA driver inside WSL.",
        fix="install the NVIDIA driver on Windows (not inside WSL), then: wsl --shutdown",
    ),
    Problem(
        id="gpu.mig-pending",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="A MIG mode change is pending",
        message="{summary}; MIG mode change to {mode} is pending",
        cause="MIG (Multi-Instance GPU) mode was switched but takes effect only after a GPU "
        "reset or a reboot.",
        fix="sudo nvidia-smi -i {index} -r  # reset the GPU to apply it (or reboot)",
    ),
    Problem(
        id="gpu.memory-taken",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="Other processes hold the GPU's memory",
        message="{summary}: other processes hold almost all of its memory",
        cause="Less than 2 GiB and under a tenth of the GPU's memory is free: another process "
        "(a notebook kernel, a training run) holds it, and a model load will run out of memory.",
        fix="nvidia-smi  # lists the processes using GPU memory",
    ),
    Problem(
        id="gpu.all-hidden",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="CUDA_VISIBLE_DEVICES hides every GPU",
        message="CUDA_VISIBLE_DEVICES={value!r} hides every GPU from torch and other CUDA programs",
        cause="CUDA programs see only the GPUs CUDA_VISIBLE_DEVICES lists, up to the first "
        "entry that matches none. An empty value, `-1` or a wrong index or UUID hides them all.",
        fix="unset CUDA_VISIBLE_DEVICES",
    ),
    # -- doctor: PyTorch build ---------------------------------------------------------------
    Problem(
        id="torch.not-installed",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("skip",),
        title="torch is not installed",
        message="torch is not installed",
        cause="The `local` profile is not installed; the torch checks (and `--deep`) have "
        "nothing to look at.",
        fix="chatenv install local{python_option}",
    ),
    Problem(
        id="torch.unreadable",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("warn",),
        title="The torch build cannot be read",
        message="torch is installed but its build cannot be read: {error}",
        cause="`torch/version.py` is missing or unreadable, or says another version than "
        "torch's metadata: a half-replaced or damaged install.",
        fix="chatenv install local{python_option}  # reinstalls torch",
    ),
    Problem(
        id="torch.rocm-on-nvidia",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("warn",),
        title="A ROCm (AMD) torch on an NVIDIA machine",
        message="{label}: a build for AMD GPUs on a machine with NVIDIA GPUs",
        cause="The installed torch was built for AMD's ROCm and cannot use NVIDIA GPUs.",
        fix="chatenv install local --torch {variant}{python_option}",
    ),
    Problem(
        id="torch.cpu-build-with-gpu",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("warn",),
        title="A CPU-only torch on a machine with an NVIDIA GPU",
        message="{label} on a machine with {gpus}: torch will not use them",
        cause="The CPU build of torch (`+cpu`, or the macOS/Windows wheel from PyPI) has no "
        "CUDA support, so the GPU sits idle. The fix installs the newest CUDA build this "
        "driver and every GPU can run.",
        fix="chatenv install local --torch {variant}{python_option}",
    ),
    Problem(
        id="torch.cpu-build-driver-too-old",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("warn",),
        title="A CPU-only torch, and no CUDA build runs on this driver",
        message="{label} on a machine with {gpus}: torch will not use them",
        cause="The CPU build is installed and no CUDA build within chatenv's pins runs on this "
        "driver and GPU: the driver is too old (or the GPU too old for current builds).",
        fix="upgrade the NVIDIA driver, then: chatenv install local{python_option}",
    ),
    Problem(
        id="torch.cuda-build-without-gpu",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("warn",),
        title="A CUDA torch on a machine without a usable GPU",
        message="{label}, but no NVIDIA GPU is usable here: it runs on the CPU and carries "
        "gigabytes of CUDA libraries",
        cause="PyPI's Linux torch is a CUDA build: it works on the CPU, but brings several GB "
        "of nvidia-* packages for nothing.",
        fix="chatenv install local --torch cpu{python_option}",
    ),
    Problem(
        id="torch.driver-too-old",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("fail", "warn"),
        title="The driver is too old for this torch build",
        message="{label} needs {needs}; this {driver} cannot run it",
        cause="Each CUDA build of torch needs a minimum driver (CUDA 12.8 builds need 570+, "
        "CUDA 13 builds 580+ on Linux). An older driver makes `torch.cuda.is_available()` "
        "False with a warning.",
        fix="chatenv install local --torch {variant}{python_option}",
    ),
    Problem(
        id="torch.kernels-unknown",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("skip",),
        title="chatenv does not know this CUDA build's GPU architectures",
        message="CUDA {cuda} build: chatenv does not know which GPUs it has kernels for",
        cause="The build's CUDA version is not in chatenv's table of PyTorch builds, so it "
        "cannot say which GPU architectures it ships kernels for; `--deep` asks torch itself.",
        fix="chatenv doctor --deep  # asks torch itself",
    ),
    Problem(
        id="torch.kernels-unknown-target",
        commands=INSTALL,
        area="PyTorch build",
        levels=("skip",),
        title="chatenv does not know this CUDA build's GPU architectures (--python)",
        message="CUDA {cuda} build: chatenv does not know which GPUs it has kernels for",
        cause="As above, for the interpreter `chatenv install --python` installed into: that "
        "interpreter's torch is asked directly.",
        fix="{python_command} -c 'import torch; print(torch.cuda.get_arch_list())'  # asks "
        "torch itself",
    ),
    Problem(
        id="torch.no-kernels",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("fail", "warn"),
        title="torch has no kernels for this GPU",
        message="torch {version} has no kernels for {gpus} (it ships {arches}): CUDA calls fail "
        "with 'no kernel image is available for execution on the device'",
        cause="Newer PyTorch builds drop old GPU architectures (CUDA 12.8+ builds have no "
        "sm_50/sm_60 kernels, CUDA 13 builds no sm_70). `torch.cuda.is_available()` is True, "
        "but the first operation on the GPU fails.",
        fix="chatenv install local --torch {variant}{python_option}",
    ),
    Problem(
        id="torch.no-build-runs",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("fail", "warn"),
        title="No PyTorch CUDA build has kernels for this GPU",
        message="torch {version} has no kernels for {gpus} (it ships {arches}): CUDA calls fail "
        "with 'no kernel image is available for execution on the device'",
        cause="The GPU is older than every CUDA build of torch within chatenv's pins supports.",
        fix="chatenv install local --torch cpu{python_option}  # no PyTorch CUDA build runs here",
    ),
    # -- doctor: --deep ----------------------------------------------------------------------
    Problem(
        id="deep.timeout",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("fail",),
        title="Importing torch took too long",
        message="importing torch did not finish within {timeout:g}s",
        cause="`--deep` imports torch in a child process with a time limit; it hung (often in "
        "CUDA initialisation, or on a very slow disk).",
        fix="python -c 'import torch'  # shows the full error",
    ),
    Problem(
        id="deep.crashed",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("fail",),
        title="The torch child process crashed",
        message="the torch child process crashed ({why})",
        cause="Importing torch killed the process (a segmentation fault, an illegal "
        "instruction on an old CPU, a missing shared library) before it could answer.",
        fix="python -c 'import torch'  # shows the full error",
    ),
    Problem(
        id="deep.import-error",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("fail",),
        title="import torch fails",
        message="import torch fails: {error}",
        cause="torch is installed but raises on import: a damaged install, a missing shared "
        "library, or a torch built for another Python.",
        fix="chatenv install local  # reinstalls torch",
    ),
    Problem(
        id="deep.cpu-op-failed",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("fail",),
        title="A matrix multiply on the CPU fails",
        message="torch {version} imports in {seconds:.1f} s; a CPU matmul FAILED",
        cause="torch imports but cannot compute a 64x64 matrix product: a broken build, or a "
        "CPU without the instructions the build needs.",
        fix="chatenv install local  # reinstalls torch",
    ),
    Problem(
        id="deep.cpu-build-with-gpu",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("warn",),
        title="torch.cuda.is_available() is False: a CPU-only torch",
        message="torch.cuda.is_available() is False: torch is a CPU-only build, and this "
        "machine has an NVIDIA GPU{mps}",
        cause="The installed torch has no CUDA support.",
        fix="chatenv install local --torch {variant}",
    ),
    Problem(
        id="deep.gpus-hidden",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("warn",),
        title="torch.cuda.is_available() is False: CUDA_VISIBLE_DEVICES",
        message="torch.cuda.is_available() is False: CUDA_VISIBLE_DEVICES={visible!r} hides "
        "every GPU{mps}",
        cause="CUDA_VISIBLE_DEVICES lets torch see none of the GPUs.",
        fix="unset CUDA_VISIBLE_DEVICES",
    ),
    Problem(
        id="deep.no-driver",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("warn",),
        title="torch.cuda.is_available() is False: no driver",
        message="torch.cuda.is_available() is False: no NVIDIA driver or GPU: this CUDA build "
        "of torch runs on the CPU{mps}",
        cause="A CUDA build of torch, but no NVIDIA driver or GPU to run it on.",
        fix="chatenv install local --torch cpu  # or install the NVIDIA driver",
    ),
    Problem(
        id="deep.version-mismatch",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("fail",),
        title="torch.cuda.is_available() is False: driver mismatch",
        message="torch.cuda.is_available() is False: the NVIDIA driver and its kernel module "
        "differ{mps}",
        cause="The driver was upgraded without a reboot (see the GPU section).",
        fix="sudo reboot",
    ),
    Problem(
        id="deep.driver-too-old",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("fail",),
        title="torch.cuda.is_available() is False: the driver is too old",
        message="torch.cuda.is_available() is False: the driver ({driver}, CUDA {driver_cuda}) "
        "is too old for this CUDA {cuda} build{mps}",
        cause="The torch build needs a newer driver than the one installed.",
        fix="chatenv install local --torch {variant}",
    ),
    Problem(
        id="deep.cuda-init-failed",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("fail",),
        title="torch.cuda.is_available() is False: CUDA initialisation failed",
        message="torch.cuda.is_available() is False: CUDA initialisation failed: {reason}{mps}",
        cause="torch tried to start CUDA and the driver refused; the line quotes torch's own "
        "words (`--verbose` shows all of them).",
        fix="nvidia-smi  # does the driver answer?",
    ),
    Problem(
        id="deep.gpu-no-kernels",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("fail",),
        title="An operation on the GPU fails: no kernel image",
        message="cuda:{index} {name}: a 256x256 matmul failed: {error}",
        cause="torch sees the GPU but its build has no kernels for the GPU's architecture.",
        fix="chatenv install local --torch {variant}",
    ),
    Problem(
        id="deep.gpu-op-failed",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("fail",),
        title="An operation on the GPU fails",
        message="cuda:{index} {name}: a 256x256 matmul failed: {error}",
        cause="A 256x256 matrix product on the GPU raised or gave a wrong result: the GPU is "
        "out of memory, in an error state (Xid errors in `dmesg`), or failing.",
        fix="nvidia-smi  # is the GPU healthy and free?",
    ),
    # -- doctor: disk ------------------------------------------------------------------------
    Problem(
        id="disk.unmeasurable",
        commands=DOCTOR,
        area="Disk and model cache",
        levels=("warn",),
        title="Free space cannot be measured",
        message="cannot measure free space for {where}",
        cause="No folder on the way to the Hugging Face cache exists or can be examined.",
        fix="export HF_HOME=<a folder on a disk with space>  # now {cache_dir}",
    ),
    Problem(
        id="disk.not-writable",
        commands=DOCTOR,
        area="Disk and model cache",
        levels=("warn",),
        title="The model cache is not writable",
        message="{summary}, but it is not writable: downloads will fail",
        cause="You cannot write where Hugging Face downloads models (HF_HUB_CACHE, HF_HOME or "
        "~/.cache/huggingface).",
        fix="export HF_HOME=<a folder you can write to>",
    ),
    Problem(
        id="disk.almost-full",
        commands=DOCTOR,
        area="Disk and model cache",
        levels=("fail",),
        title="Less than 1 GiB free for models",
        message="only {summary}: not enough for even a small model",
        cause="The disk that holds the model cache is almost full: even GPT-2 or a torch wheel "
        "may not fit.",
        fix="free space (huggingface-cli delete-cache) or export HF_HOME=<a bigger disk>",
    ),
    Problem(
        id="disk.low-space",
        commands=DOCTOR,
        area="Disk and model cache",
        levels=("warn",),
        title="Less than 10 GiB free for models",
        message="only {summary}: enough for small models, not for a 7B one (~15 GB)",
        cause="A 7B-parameter model in 16-bit takes about 15 GB.",
        fix="free space (huggingface-cli delete-cache) or export HF_HOME=<a bigger disk>",
    ),
    Problem(
        id="disk.offline-empty-cache",
        commands=DOCTOR,
        area="Disk and model cache",
        levels=("warn",),
        title="Offline mode with an empty model cache",
        message="Hugging Face offline mode is on ({variables}) and the model cache is empty: "
        "every model load will fail",
        cause="HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) forbids downloads, and no model is cached.",
        fix="unset HF_HUB_OFFLINE TRANSFORMERS_OFFLINE  # or fill the cache first",
    ),
    Problem(
        id="disk.legacy-cache-variable",
        commands=DOCTOR,
        area="Disk and model cache",
        levels=("warn",),
        title="A cache variable current libraries ignore",
        message="{name}={value} is ignored by current transformers and huggingface_hub",
        cause="TRANSFORMERS_CACHE, PYTORCH_TRANSFORMERS_CACHE and PYTORCH_PRETRAINED_BERT_CACHE "
        "were replaced by HF_HUB_CACHE (or HF_HOME); models go to the default cache instead.",
        fix='export HF_HUB_CACHE="${name}"; unset {name}',
    ),
    # -- doctor: OpenAI settings -------------------------------------------------------------
    Problem(
        id="openai.env-file-unreadable",
        commands=DOCTOR,
        area="OpenAI settings",
        levels=("fail",),
        title="The .env file cannot be read",
        message="the .env file cannot be read: {error}",
        cause="The `.env` file exists but is a folder, unreadable, or not UTF-8 (see the "
        "`env-file.*` entries for each), so `load_dotenv()` will not get the key from it.",
        fix="chatenv configure-key --env-file {env_file}  # rewrites it",
    ),
    Problem(
        id="openai.no-key",
        commands=DOCTOR,
        area="OpenAI settings",
        levels=("warn",),
        title="No OPENAI_API_KEY",
        message="no OPENAI_API_KEY in the environment or in {env_file}",
        cause="Neither the environment nor the `.env` file sets OPENAI_API_KEY, so the openai "
        "client will refuse to start. configure-key asks for the key (make one on the API keys "
        "page), checks it with the API and stores it in `.env`.",
        fix="chatenv configure-key  # a key from {KEYS_PAGE}",
    ),
    Problem(
        id="openai.no-key-server",
        commands=DOCTOR,
        area="OpenAI settings",
        levels=("warn",),
        title="No OPENAI_API_KEY, with an OpenAI-compatible server",
        message="no OPENAI_API_KEY in the environment or in {env_file}",
        cause="`OPENAI_BASE_URL` points at a server other than OpenAI's (vLLM, Ollama, LiteLLM, "
        "Azure OpenAI, ...), and no key is set. The openai client refuses to start without one "
        "even when the server checks none; a server that does check wants its own key, not an "
        "OpenAI one ([OpenAI-compatible servers](openai-compatible.md) lists each server's).",
        fix="chatenv configure-key  # the key your server expects; any non-empty value if it "
        "checks none",
    ),
    Problem(
        id="openai.key-quoted",
        commands=DOCTOR,
        area="OpenAI settings",
        levels=("warn",),
        title="The key contains quotes or spaces",
        message="the key from {where} ({masked}) contains quotes or spaces: the API will reject it",
        cause="A key pasted with its quotes (`export OPENAI_API_KEY=\"'sk-...'\"`) or with a "
        "space is sent as is, and the API answers 401.",
        fix="chatenv configure-key  # stores it cleanly",
    ),
    Problem(
        id="openai.key-shape",
        commands=DOCTOR,
        area="OpenAI settings",
        levels=("warn",),
        title="The key does not look like an OpenAI key",
        message="key {masked} from {where} does not start with sk-, as OpenAI keys do (used "
        "anyway)",
        cause="OpenAI keys start with `sk-` (`sk-proj-`, `sk-svcacct-`). Another kind of key "
        "is expected only for another OpenAI-compatible server, which OPENAI_BASE_URL would "
        "name.",
        fix="check it at {KEYS_PAGE}",
    ),
    Problem(
        id="openai.key-conflict",
        commands=DOCTOR,
        area="OpenAI settings",
        levels=("warn",),
        title="Two different keys: environment and .env",
        message="OPENAI_API_KEY is set in the environment and in {env_file} to different keys; "
        "the environment's ({masked}) wins",
        cause="`load_dotenv()` does not override the environment, and the openai client reads "
        "the environment: the `.env` key is ignored.",
        fix="unset OPENAI_API_KEY  # to use the .env key; or update .env: chatenv configure-key",
    ),
    Problem(
        id="openai.base-url-invalid",
        commands=DOCTOR,
        area="OpenAI settings",
        levels=("fail",),
        title="OPENAI_BASE_URL is not an http(s) URL",
        message="OPENAI_BASE_URL={url!r} is not an http(s) URL",
        cause="OPENAI_BASE_URL must be a full URL with scheme and host, usually ending in `/v1`.",
        fix="export OPENAI_BASE_URL=https://api.openai.com/v1  # or your server's URL, ending "
        "in /v1",
    ),
    Problem(
        id="openai.base-url-plain-http",
        commands=DOCTOR,
        area="OpenAI settings",
        levels=("warn",),
        title="The key would travel over plain http",
        message="{url} is plain http to another machine: the key travels unencrypted",
        cause="OPENAI_BASE_URL is `http://` to a host other than this machine, so the key goes "
        "over the network in clear text.",
        fix="export OPENAI_BASE_URL=https://{netloc}{path}",
    ),
    Problem(
        id="openai.legacy-variable",
        commands=DOCTOR,
        area="OpenAI settings",
        levels=("warn",),
        title="A pre-1.0 variable name (OPENAI_API_BASE, OPENAI_ORGANIZATION)",
        message="{old} (in {place}) is a pre-1.0 name the openai client ignores; it reads {new}",
        cause="openai 1.0 renamed OPENAI_API_BASE to OPENAI_BASE_URL and OPENAI_ORGANIZATION to "
        "OPENAI_ORG_ID; the old names do nothing.",
        fix='export {new}="${old}"; unset {old}',
    ),
    Problem(
        id="openai.legacy-variable-in-file",
        commands=DOCTOR,
        area="OpenAI settings",
        levels=("warn",),
        title="A pre-1.0 variable name in the .env file",
        message="{old} (in {place}) is a pre-1.0 name the openai client ignores; it reads {new}",
        cause="As above, in the `.env` file.",
        fix="rename {old} to {new} in {env_file}",
    ),
    # -- doctor: .env file -------------------------------------------------------------------
    Problem(
        id="dotenv.permissions-open",
        commands=DOCTOR,
        area=".env file",
        levels=("warn",),
        title="The .env file is readable by other users",
        message="{path} is open to {who} (mode {mode:04o}): anyone who can read it has the key",
        cause="The file that holds the key can be read by your group or by everyone on the "
        "machine.",
        fix="chmod 600 {quoted_path}",
    ),
    Problem(
        id="dotenv.tracked",
        commands=DOCTOR,
        area=".env file",
        levels=("fail",),
        title="The .env file is tracked by git",
        message="{path} is tracked by git: the key is in the repository's history",
        cause="The file is committed; everyone with the repository has the key, and untracking "
        "it now does not remove it from history.",
        fix="git rm --cached {quoted_path} && printf '\\n%s\\n' {name} >> {ignore_file} && "
        "git commit -m 'Stop tracking .env'  # then rotate the key at {KEYS_PAGE}",
    ),
    Problem(
        id="dotenv.in-history",
        commands=DOCTOR,
        area=".env file",
        levels=("fail",),
        title="The .env file was committed in the past",
        message="{path} was committed in the past (commit {commit}): the key may still be in "
        "the repository's history",
        cause="The file is not tracked now, but a commit still holds it.",
        fix="rotate the key at {KEYS_PAGE}  # {name} is in history",
    ),
    Problem(
        id="dotenv.not-ignored",
        commands=DOCTOR,
        area=".env file",
        levels=("warn",),
        title="The .env file is not ignored by git",
        message="{path} is not ignored by git: one `git add .` commits the key",
        cause="The file is inside a git work tree and no .gitignore rule covers it.",
        fix="printf '\\n%s\\n' {name} >> {ignore_file}",
    ),
    # -- doctor: network ---------------------------------------------------------------------
    Problem(
        id="network.proxy-case-mismatch",
        commands=DOCTOR,
        area="Network",
        levels=("warn",),
        title="HTTPS_PROXY and https_proxy disagree",
        message="{pairs} are set to different proxies: Python uses the lowercase one, curl and "
        "others may not",
        cause="Python (and so the openai client and huggingface_hub) lets the lowercase "
        "variable win; other tools read the uppercase one.",
        fix="export {exports}",
    ),
    Problem(
        id="network.ca-missing",
        commands=DOCTOR,
        area="Network",
        levels=("fail",),
        title="A CA bundle variable names nothing",
        message="{name}={value}: no such {kind}; {users} fail every HTTPS request with it",
        cause="SSL_CERT_FILE, SSL_CERT_DIR, REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE points at a "
        "file or folder that does not exist.",
        fix="unset {name}  # or point it at your organisation's CA bundle",
    ),
    Problem(
        id="network.ca-not-pem",
        commands=DOCTOR,
        area="Network",
        levels=("fail",),
        title="A CA bundle holds no certificate",
        message="{name}={value} holds no PEM certificate; {users} fail with it",
        cause="The file exists but holds no `-----BEGIN CERTIFICATE-----` block (a DER file, "
        "an empty file, the wrong file).",
        fix="unset {name}  # or point it at a PEM file of CA certificates",
    ),
    Problem(
        id="network.tls-untrusted",
        commands=DOCTOR,
        area="Network",
        levels=("fail", "warn"),
        title="A certificate is not trusted (TLS interception?)",
        message="{label} {where}{via}: {error} (is something intercepting TLS?)",
        cause="The TLS handshake failed certificate verification. Behind a corporate proxy or "
        "firewall that inspects TLS, its own CA must be trusted. A failure for the API you "
        "configured (a key or OPENAI_BASE_URL is set); a warning otherwise.",
        fix="export SSL_CERT_FILE=/path/to/your-organisation-ca.pem  # if a proxy or firewall "
        "inspects TLS",
    ),
    Problem(
        id="network.tls-untrusted-with-ca",
        commands=DOCTOR,
        area="Network",
        levels=("fail", "warn"),
        title="A certificate is not trusted by the CA bundle you set",
        message="{label} {where}{via}: {error} (is something intercepting TLS?)",
        cause="SSL_CERT_FILE is set, and the CA that signed the server's certificate is not in it.",
        fix="check that {ca} holds the CA that signed {host}'s certificate",
    ),
    Problem(
        id="network.dns",
        commands=DOCTOR,
        area="Network",
        levels=("fail", "warn"),
        title="A host name does not resolve",
        message="{label}: {error}",
        cause="DNS could not resolve the API's (or the Hub's) host name: no network, a broken "
        "resolver, or a network where only a proxy can resolve outside names.",
        fix="check the network and DNS (resolvectl status); behind a proxy: export "
        "HTTPS_PROXY=http://proxy:port",
    ),
    Problem(
        id="network.proxy-refused",
        commands=DOCTOR,
        area="Network",
        levels=("fail", "warn"),
        title="The proxy refused a tunnel",
        message="{label}: {error}",
        cause="The HTTP proxy answered the CONNECT request with an error, usually 407 (it "
        "wants credentials) or 403 (the host is not allowed).",
        fix="put the credentials in the proxy URL: export HTTPS_PROXY=http://user:pass@proxy:port",
    ),
    Problem(
        id="network.local-server-down",
        commands=DOCTOR,
        area="Network",
        levels=("fail", "warn"),
        title="The local server does not answer",
        message="{label} {where}: {error}",
        cause="OPENAI_BASE_URL (or HF_ENDPOINT) points at this machine, and nothing listens on "
        "that port: the server (vLLM, Ollama, LiteLLM, ...) is not running.",
        fix="start the server at {url}{or_unset}",
    ),
    Problem(
        id="network.unreachable",
        commands=DOCTOR,
        area="Network",
        levels=("fail", "warn"),
        title="A host cannot be reached",
        message="{label} {where}{via}: {error}",
        cause="The TCP connection or the TLS handshake failed or timed out: a firewall, a "
        "network that only allows traffic through a proxy, or the server is down.",
        fix="a firewall may block it; behind a proxy: export HTTPS_PROXY=http://proxy:port",
    ),
    Problem(
        id="network.unreachable-via-proxy",
        commands=DOCTOR,
        area="Network",
        levels=("fail", "warn"),
        title="A host cannot be reached through the proxy",
        message="{label} {where}{via}: {error}",
        cause="The connection through the configured proxy failed or timed out.",
        fix="check the proxy {proxy}",
    ),
)

PROBLEMS += (
    # -- doctor: the project file ------------------------------------------------------------
    # doctor judges the machine by the project file when the folder has one (chatenv.project,
    # docs/project-file.md); setup provisions what it names.
    Problem(
        id="project.none",
        commands=DOCTOR,
        area="The project file",
        levels=("skip",),
        title="No project file",
        message="no project file here (chatenv.toml, or [tool.chatenv] in pyproject.toml): "
        "chatenv's own pins judge this machine",
        cause="doctor looks for a project file from the current folder up to the project's "
        "top folder (the nearest with `.git` or `pyproject.toml`). Without one it checks the "
        "machine against chatenv's own pins, which fits chatenv's smoke tests but not "
        "necessarily your project: a project on another torch, with its own keys and models, "
        "says so in a project file (docs/project-file.md).",
        fix="chatenv init  # writes a project file from this machine",
    ),
    Problem(
        id="project.unreadable",
        commands=PROJECT,
        area="The project file",
        levels=("fail", "error"),
        title="The project file cannot be read",
        message="cannot read {path}: {reason}",
        cause="The `pyproject.toml` with a `[tool.chatenv]` table, or the `chatenv.toml`, that "
        "chatenv found walking up from the current folder exists but cannot be read: its "
        "permissions, or it is not UTF-8 text. doctor reports this one failure for the project "
        "and judges the rest of the machine by chatenv's own pins; setup stops.",
    ),
    Problem(
        id="project.not-toml",
        commands=PROJECT,
        area="The project file",
        levels=("fail", "error"),
        title="The project file is not valid TOML",
        message="{where}: not valid TOML: {reason}",
        cause="Python's TOML parser (`tomllib`, what pip and every build tool use) rejects the "
        "file at that line: a missing quote or bracket, a key written twice. pip cannot read "
        "such a pyproject.toml either.",
    ),
    Problem(
        id="project.bad-value",
        commands=PROJECT,
        area="The project file",
        levels=("fail", "error"),
        title="A setting of the project file has a value chatenv cannot use",
        message="{where}: {key} {reason}",
        cause="A key of `[tool.chatenv]` (or of chatenv.toml) holds a value of the wrong kind "
        "or out of range: a profile that is not api, local or all, a GPU count that is not a "
        "whole number, a model with neither `id` nor `path`. The line names the key and what "
        "it takes; docs/project-file.md lists every key.",
    ),
    Problem(
        id="project.unknown-key",
        commands=PROJECT,
        area="The project file",
        levels=("warn",),
        title="A key chatenv does not read",
        message="{where}: chatenv does not read {key}{hint}{more}",
        cause="The project file has a key chatenv ignores: a typo (`memory_gb` for "
        "`memory_gib`), or a key a newer chatenv reads. Everything else in the file still "
        "counts.",
    ),
    Problem(
        id="project.requirements-unmet",
        commands=("doctor", "install", "setup"),
        area="The project's packages",
        levels=("fail",),
        title="A package the project declares is missing or at another version",
        message="{count} of the project's {total} requirements are not met: {first}{more}",
        cause="The project declares these packages (`[project] dependencies`, the extras and "
        "groups its project file names, `requirements*.txt`, or `also`), and what is installed "
        "does not satisfy them. With a project file, these requirements judge the packages the "
        "project declares, not chatenv's pins. The fix installs them the way the project does: "
        "from its uv.lock, its requirements files, or the requirements themselves; `chatenv "
        "setup` also picks the torch build this machine runs.",
        fix="{command}",
    ),
    Problem(
        id="project.lock-unreadable",
        commands=DOCTOR,
        area="The project's packages",
        levels=("warn",),
        title="The lock file cannot be read",
        message="cannot read {path}: {reason}",
        cause="A `uv.lock` or `pylock.toml` beside the project file is not valid TOML or not "
        "readable, so chatenv cannot compare the installed versions with it. The project's "
        "declared requirements are still checked.",
    ),
    Problem(
        id="project.lock-differs",
        commands=DOCTOR,
        area="The project's packages",
        levels=("warn",),
        title="Installed versions differ from the lock file",
        message="{count} of the {total} packages {lock} fixes differ here: {first}{more}",
        cause="The lock fixes exact versions (for uv.lock: those its project, the extras and "
        "groups the project file names, and uv's default `dev` group reach on this platform; "
        "for pylock.toml: every package whose marker holds), and these are installed at "
        "other versions or not at all. A warning: the requirements may still be met, but this "
        "machine is not the environment the lock describes. `uv sync --inexact` installs the "
        "lock and keeps what it does not name (chatenv itself).",
        fix="{command}",
    ),
    Problem(
        id="project.torch-missing",
        commands=DOCTOR,
        area="The project's torch and GPUs",
        levels=("fail",),
        title="The project wants a kind of torch build, and torch is not installed",
        message="torch is not installed; the project wants {wanted} ({where})",
        cause="`[tool.chatenv.torch]` asks for a CUDA (or CPU) build, or a minimum CUDA "
        "version, and there is no torch in this environment. The fix installs one from "
        "PyTorch's own index, for the newest CUDA version the policy allows and this driver "
        "runs.",
        fix="{command}",
    ),
    Problem(
        id="project.torch-policy",
        commands=DOCTOR,
        area="The project's torch and GPUs",
        levels=("fail",),
        title="The installed torch is not the kind of build the project wants",
        message="{label}: the project wants {wanted} ({where})",
        cause='`[tool.chatenv.torch]` says `variant = "cuda"` (or `"cpu"`) or a '
        "`min_cuda`, and the installed build is another kind: a CPU-only wheel (what pip "
        "installs from PyPI on Windows and macOS), or one built for an older CUDA. The fix "
        "reinstalls torch from PyTorch's index for a CUDA version the policy allows and this "
        "driver runs; when none does, the driver must be upgraded first.",
        fix="{command}",
    ),
    Problem(
        id="project.torch-cannot-meet",
        commands=("install", "setup"),
        area="The project's torch and GPUs",
        levels=("error",),
        title="No torch build this machine runs is the kind the project wants",
        message="the project wants {wanted} ({where}), and this machine gets {chosen}: {reason}",
        cause="setup picks the PyTorch build this machine runs (the newest CUDA build the "
        "driver and every GPU can run, else the CPU build) within the project's torch range, "
        "and `[tool.chatenv.torch]` rules that build out: a CPU build where the project wants "
        "CUDA (no NVIDIA GPU, or a driver too old for any CUDA build of that release), a CUDA "
        "version below `min_cuda`, or a CUDA build where the project wants the CPU one. "
        "Nothing was installed.",
        fix="{then}",
    ),
    Problem(
        id="project.gpus-short",
        commands=DOCTOR,
        area="The project's torch and GPUs",
        levels=("fail",),
        title="This machine has fewer or smaller GPUs than the project needs",
        message="the project needs {wanted} ({where}); {here}",
        cause="`[tool.chatenv.gpus]` asks for a number of GPUs, each with at least "
        "`memory_gib` of memory (NVML's total, in GiB: a card sold as 80 GB reports a little "
        "less) and a minimum compute capability, and not enough GPUs here qualify. Nothing to "
        "install fixes this: the project needs another machine (or a smaller model).",
    ),
    Problem(
        id="project.env-missing",
        commands=("doctor", "setup"),
        area="The project's environment variables",
        levels=("fail", "warn"),
        title="An environment variable the project needs is not set",
        message="{name} is not set{why}",
        cause="`[tool.chatenv.env]` lists the variables the project's code reads (a Hugging "
        "Face token for gated models, an API key, a tracking service's key), and this one is "
        "in neither the environment nor the `.env` file. A failure for a required one, a "
        "warning for one marked `required = false`. setup asks for it on a terminal and saves "
        "it in the .env file (never printed); the value is always shown masked.",
        fix="chatenv setup  # asks for {name} and saves it in {env_file}{url}",
    ),
    Problem(
        id="project.model-folder-missing",
        commands=DOCTOR,
        area="The project's models",
        levels=("fail",),
        title="A model folder the project names does not exist",
        message="{model}: no such folder ({where})",
        cause="A `[[tool.chatenv.models]]` entry gives a `path` (relative to the project "
        "file), and there is no folder there: a model the project keeps out of git and each "
        "developer copies in.",
    ),
    Problem(
        id="project.model-no-room",
        commands=DOCTOR,
        area="The project's models",
        levels=("fail",),
        title="A model the project needs does not fit on the disk",
        message="{model} needs about {size} and {free} is free where models are cached ({cache})",
        cause="The model is not cached yet, and its weights (parameters × bytes per parameter "
        "of its dtype) are larger than the free space where the Hugging Face cache is "
        "(`HF_HUB_CACHE`, `HF_HOME`, or ~/.cache/huggingface). Free some space, or point "
        "`HF_HOME` at a larger disk.",
    ),
    Problem(
        id="project.model-not-cached",
        commands=DOCTOR,
        area="The project's models",
        levels=("warn",),
        title="A model the project needs is not cached yet",
        message="{model} is not in the Hugging Face cache{then}",
        cause="The project names this hub model and its files are not in the Hugging Face "
        "cache, so its first use downloads it. `chatenv setup` fetches it when online; the fix "
        "fetches the files transformers loads. A gated model (Llama, Gemma, ...) needs its "
        "licence accepted on the model page and `HF_TOKEN` set first.",
        fix="{command}",
    ),
    Problem(
        id="project.model-incomplete",
        commands=DOCTOR,
        area="The project's models",
        levels=("warn",),
        title="A model's files are incomplete",
        message="{model}: the files in {folder} are incomplete (no config.json or no weights)",
        cause="The model's folder (or its cached snapshot) lacks `config.json` or any weights "
        "file (`*.safetensors`, `*.bin`): a download that stopped half-way, or a folder copied "
        "in part.",
        fix="{command}",
    ),
    Problem(
        id="project.model-fetch-failed",
        commands=SETUP,
        area="The project's models",
        levels=("fail",),
        title="setup could not fetch a model the project needs",
        message="{model}: fetching it failed: {reason}",
        cause="setup fetches the project's hub models that are not cached yet (when not "
        "`--offline`), with huggingface_hub's own download: its `HF_ENDPOINT`, `HF_TOKEN`, "
        "proxies and cache. A gated model (Llama, Gemma, ...) needs its licence accepted on "
        "the model page by the account whose token is in `HF_TOKEN`; a private one needs a "
        "token that can read it.",
        fix="{command}",
    ),
    Problem(
        id="project.model-size-unknown",
        commands=DOCTOR,
        area="The project's models",
        levels=("skip",),
        title="Whether a model fits is not known",
        message="{model}: whether it fits is not known (not here yet, and no params in the "
        "project file)",
        cause="The fit estimate needs the parameter count: chatenv reads it from the "
        "safetensors headers of a cached model or a folder (exact, a few KiB read), or from "
        '`params` in the model\'s `[[tool.chatenv.models]]` entry (such as `"8B"`). Add '
        "`params` to check a model before it is downloaded.",
    ),
    Problem(
        id="project.model-does-not-fit",
        commands=DOCTOR,
        area="The project's models",
        levels=("fail",),
        title="A model does not fit in this machine's free GPU memory",
        message="{model} does not fit: about {needed} for {estimate}; {available}",
        cause="The estimate is parameters × bytes per parameter of the dtype (bfloat16 and "
        "float16: 2, float32: 4, int8 and fp8: 1, int4: 0.5) plus the model's `overhead` "
        "(default 20%: a short context's KV cache, activations, the CUDA context), against "
        "the free memory NVML reports on the GPUs it is split across (its `gpus`, else "
        "`[tool.chatenv.gpus] count`, else one). Other processes holding GPU memory count "
        "against it. Use more GPUs, a smaller dtype (a quantized model), or a smaller model.",
    ),
    Problem(
        id="project.openai-v0",
        commands=DOCTOR,
        area="The project's code",
        levels=("warn",),
        title="The project's code uses the OpenAI v0 API",
        message="{count} of the OpenAI v0 API in {files}: {first}",
        cause="openai 1.0 (November 2023) removed the module-level API many tutorials still "
        "teach: `openai.Completion.create(engine=...)`, `openai.ChatCompletion.create(...)`, "
        "`openai.error.*`, `openai.api_base`; calling them raises `APIRemovedInV1`, and the "
        "`text-davinci-*` models are shut down. doctor reads the project's Python files "
        "(an AST scan, nothing is run; virtualenvs and build output are skipped) and lists "
        "each use with its v1 equivalent (`--verbose`). A warning: the environment is fine, "
        "the code needs the change; openai-python 1.x's own CLI has `openai migrate` for it.",
    ),
)

PROBLEMS += (
    # -- init: a first project file ----------------------------------------------------------
    Problem(
        id="init.exists",
        commands=INIT,
        area="chatenv init",
        levels=("error",),
        title="The project has a project file already",
        message="{path} is this project's project file already{force_hint}",
        cause="`chatenv init` writes a first project file; this project has one (found the "
        "way doctor finds it, from the current folder up to the project's top folder), and "
        "init never edits one. A `[tool.chatenv]` table in pyproject.toml is yours to edit; "
        "`--dry-run` prints what init would write, to compare.",
        fix="chatenv init --dry-run  # prints a project file from this machine, writes nothing",
    ),
    Problem(
        id="init.not-writable",
        commands=INIT,
        area="chatenv init",
        levels=("error",),
        title="The project file cannot be written",
        message="cannot write {path}: {reason}",
        cause="The folder or the pyproject.toml is not writable by you (a read-only checkout, "
        "another user's files). Nothing was written.",
        fix="chatenv init --dry-run > chatenv.toml  # or fix the permissions and run it again",
    ),
)

PROBLEMS += (
    # -- the OpenAI API (configure-key verifies a key, smoke-test makes calls) ---------------
    Problem(
        id="api.no-key",
        commands=API,
        area="Before any request",
        levels=("fail",),
        title="No OpenAI API key",
        message="no OpenAI API key: OPENAI_API_KEY is in neither the environment nor the .env file",
        cause="The openai client needs OPENAI_API_KEY; it is not set in the environment and "
        "the `.env` file (`--env-file`) does not set it.",
        fix="chatenv configure-key",
    ),
    Problem(
        id="api.openai-missing",
        commands=API,
        area="Before any request",
        levels=("fail",),
        title="The openai package is not installed",
        message="the openai package is not installed",
        cause="The `api` profile is not installed in the environment chatenv runs in.",
        fix="chatenv install api",
    ),
    Problem(
        id="api.openai-too-old",
        commands=API,
        area="Before any request",
        levels=("fail",),
        title="openai is older than 1.0",
        message="openai {version} is installed; chatenv needs the v1 client ({requirement})",
        cause="openai 0.x has no client class (`openai.OpenAI`); its module functions "
        "(`openai.Completion.create(engine=...)`) were removed in 1.0.",
        fix="pip install '{requirement}'   (or: chatenv install api)",
    ),
    Problem(
        id="api.invalid-key",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="The key was rejected (401)",
        message="the API key was rejected (401): it is wrong, revoked or deleted{said}",
        cause="The server does not accept the key: a typo, a key that was revoked or deleted, "
        "or a key for another server than OPENAI_BASE_URL points at.",
        fix="create a new key at {KEYS_PAGE}, then: chatenv configure-key",
    ),
    Problem(
        id="api.organization-mismatch",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="The key is not in the organization or project sent (401)",
        message="the key does not belong to the organization or project sent{said}",
        cause="OPENAI_ORG_ID or OPENAI_PROJECT_ID names an organization or project the key is "
        "not a member of.",
        fix="fix or remove OPENAI_ORG_ID / OPENAI_PROJECT_ID, or use a key of that project",
    ),
    Problem(
        id="api.region-blocked",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="The API does not serve this country or region (403)",
        message="the API does not serve requests from this country or region (403 {code}){said}",
        cause="OpenAI answers `unsupported_country_region_territory` to requests from places "
        "it does not serve (a VPN exit counts).",
        fix="OpenAI serves only the locations listed at {COUNTRIES_PAGE}",
    ),
    Problem(
        id="api.permission-denied",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="The key lacks a permission (403)",
        message="the key is not allowed to do this (403){said}",
        cause="A restricted key without the permission this call needs (listing models needs "
        "*Models*, a completion *Model capabilities*), or a role that may not use the API.",
        fix="give the key the permission it needs (restricted keys: Models and Model "
        "capabilities) at {KEYS_PAGE}, or ask your organization's owner for the role",
    ),
    Problem(
        id="api.model-retired",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="The model has been retired (404)",
        message="the model has been retired (404 model_not_found){said}",
        cause="The model was shut down; the server's message names it as deprecated or retired.",
        fix="choose a current model ({MODELS_PAGE})",
    ),
    Problem(
        id="api.model-not-found",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="The model does not exist or the key cannot use it (404)",
        message="the model does not exist or this key cannot use it (404{answered}){said}",
        cause="A typo in the model name, a model your organization has no access to, or (on a "
        "local server) a model the server has not loaded. OpenAI answers `model_not_found`; "
        'vLLM (``The model `x` does not exist.``) and Ollama (`model "x" not found, try '
        "pulling it first`) a plain 404 whose message names the model.",
        fix="choose a model this key can use (GET /v1/models lists them; see {MODELS_PAGE}){pull}",
    ),
    Problem(
        id="api.not-a-chat-model",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="Not a chat model: the model takes only the legacy completions endpoint",
        message="the model is not a chat model: it takes only the legacy completions endpoint "
        "({status}){said}",
        cause="Completions-only models (gpt-3.5-turbo-instruct, davinci-002, babbage-002) answer "
        "POST /v1/completions, not chat completions or the Responses API that current code and "
        "chatenv use.",
        fix="choose a chat model: --api-model gpt-4.1-nano (see {MODELS_PAGE})",
    ),
    Problem(
        id="api.no-such-endpoint",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="The server has no such endpoint (404)",
        message="the server has no such endpoint (404 at {url}){said}",
        cause="OPENAI_BASE_URL points at the wrong path: most servers want the URL to end in "
        "`/v1` (http://localhost:8000/v1, not http://localhost:8000).",
        fix="check the base URL: it usually ends in /v1 (e.g. http://localhost:8000/v1)",
    ),
    Problem(
        id="api.insufficient-quota",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="No quota left: billing needed (429 insufficient_quota)",
        message="the account has no quota left: billing or credit needed (429 "
        "insufficient_quota){said}",
        cause="Not a rate limit: the organization has no credit or has reached its spending "
        "limit. Waiting does not help.",
        fix="add credit or a payment method at {BILLING_PAGE}",
    ),
    Problem(
        id="api.rate-limited",
        commands=API,
        area="The key and the account",
        levels=("fail", "warn"),
        title="Rate limited (429)",
        message="rate limited (429{error_code}){wait}{said}",
        cause="Too many requests or tokens per minute for this key's limits. The key itself "
        "was accepted (configure-key saves it, with a warning).",
        fix="wait and try again; see your limits at {LIMITS_PAGE}",
    ),
    Problem(
        id="api.server-error",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="The server failed (5xx)",
        message="the server failed ({status}){ref}{said}",
        cause="An error on the server's side (or a proxy's in between): an outage, an "
        "overloaded model, a local server that crashed.",
        fix="try again in a minute; if it persists, check {STATUS_PAGE}{support}",
    ),
    Problem(
        id="api.bad-request",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="The server refused the request (4xx)",
        message="the server refused the request ({status}{error_code}){said}",
        cause="The server answered another 4xx status: usually a model or parameter the server "
        "does not support.",
        fix="check the model and base URL; run again with --verbose for details",
    ),
    Problem(
        id="api.connect-timeout",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="Could not connect in time",
        message="could not connect to {url} in time (connect timeout)",
        cause="No TCP connection within `--timeout`: a firewall that drops packets, a network "
        "that needs a proxy, or a server that is down.",
        fix="check the network, a firewall or the proxy (HTTPS_PROXY)",
    ),
    Problem(
        id="api.read-timeout",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="The server did not answer in time",
        message="{url} did not answer in time (read timeout)",
        cause="The connection was made but no answer came within `--timeout`: a slow or "
        "overloaded server (a local server still loading its model).",
        fix="try again in a minute; if it persists, check {STATUS_PAGE}",
    ),
    Problem(
        id="api.timeout",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="The request timed out",
        message="the request timed out",
        cause="No answer within `--timeout`.",
        fix="try again in a minute; if it persists, check {STATUS_PAGE}",
    ),
    Problem(
        id="api.tls-untrusted",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="The server's certificate is not trusted",
        message="the TLS certificate of {host} is not trusted{through}: {reason}",
        cause="Certificate verification failed. Behind a proxy or firewall that inspects TLS "
        "the connection is signed by your organization's CA, which Python does not know.",
        fix="behind a TLS-inspecting proxy? point SSL_CERT_FILE at your organization's CA "
        "bundle: export SSL_CERT_FILE=/path/to/ca-bundle.pem",
    ),
    Problem(
        id="api.proxy-refused",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="The proxy refused the connection",
        message="the proxy{proxy_part} refused to connect to {host}: {detail}",
        cause="HTTPS_PROXY (or ALL_PROXY) names a proxy that answered with an error: wrong "
        "credentials (407) or a host it does not allow.",
        fix="check the proxy address and its credentials, or bypass it with NO_PROXY",
    ),
    Problem(
        id="api.bad-url",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="The base URL is not an http(s) URL",
        message="the base URL {url} is not an http:// or https:// URL",
        cause="OPENAI_BASE_URL (or `--base-url`) lacks its scheme or is not a URL at all.",
        fix="set a full URL, e.g. --base-url http://localhost:8000/v1",
    ),
    Problem(
        id="api.tls-to-plain-http",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="https:// to a server that speaks plain http",
        message="the TLS handshake with {host} failed: {reason}",
        cause="The base URL says https:// but the server on that port answers in plain HTTP "
        "(`WRONG_VERSION_NUMBER`): local servers (vLLM, Ollama, LiteLLM) usually serve http.",
        fix="the server does not speak TLS there: use http:// in the base URL",
    ),
    Problem(
        id="api.tls-failed",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="The TLS handshake failed",
        message="the TLS handshake with {host} failed: {reason}",
        cause="The TLS handshake failed for another reason than an untrusted certificate: a "
        "wrong port, or something in between that breaks TLS.",
        fix="check the base URL's port and scheme, and any proxy in between",
    ),
    Problem(
        id="api.proxy-unreachable",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="The proxy cannot be reached",
        message="cannot reach the proxy {proxy} (from {variable}): {reason}",
        cause="The connection that failed was the one to the proxy a proxy variable names: "
        "the proxy is down, or the variable is stale.",
        fix="check {variable}, or add {host} to NO_PROXY",
    ),
    Problem(
        id="api.dns-openai",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="api.openai.com does not resolve",
        message="cannot resolve {host} (DNS): {reason}",
        cause="No network, a broken resolver, or a network where only a proxy resolves outside "
        "names.",
        fix="check this machine's network/DNS; behind a proxy, set HTTPS_PROXY",
    ),
    Problem(
        id="api.dns",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="The server's host name does not resolve",
        message="cannot resolve {host} (DNS): {reason}",
        cause="The host in OPENAI_BASE_URL is misspelt, or only resolvable on another network "
        "(a VPN).",
        fix="check the host name in the base URL and this machine's network/DNS",
    ),
    Problem(
        id="api.refused-local",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="Connection refused by a local server",
        message="connection refused by {host}:{port}",
        cause="Nothing listens on that port of this machine: the local server is not running, "
        "or listens on another port.",
        fix="is the local server (vLLM, Ollama, LiteLLM, ...) running on that port?",
    ),
    Problem(
        id="api.refused",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="Connection refused",
        message="connection refused by {host}:{port}",
        cause="The host answered, but nothing accepts connections on that port.",
        fix="check the base URL's host and port, and any firewall",
    ),
    Problem(
        id="api.connection-closed",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="The connection was closed early",
        message="{host} closed the connection before the answer was complete",
        cause="The server or a proxy cut the connection mid-answer.",
        fix="try again; if it persists, a proxy or the server is cutting the connection",
    ),
    Problem(
        id="api.network-unreachable",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="The network is unreachable",
        message="{host} is unreachable: {reason}",
        cause="This machine has no route to the host: no network connection, or no IPv6 route.",
        fix="check this machine's network connection",
    ),
    Problem(
        id="api.connect-failed",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="Cannot connect",
        message="cannot connect to {host}:{port}: {reason}",
        cause="The connection failed in a way none of the entries above describes; the line "
        "quotes the operating system's reason.",
        fix="check the network and the base URL",
    ),
    Problem(
        id="api.malformed-response",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="The answer is not an OpenAI-compatible API's",
        message="the server's answer is not what an OpenAI-compatible API sends: {problem}",
        cause="The server answered 2xx, but not with the JSON the OpenAI API sends: the base "
        "URL points at a web page, a proxy's login page, or a server that is not "
        "OpenAI-compatible.",
        fix="check the base URL: it must be the API root (e.g. https://api.openai.com/v1 or "
        "http://localhost:11434/v1), not a web page or a proxy's login page",
    ),
    Problem(
        id="api.schema-mismatch",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="The answer does not match the API schema",
        message="the server's answer did not match the API schema: {error}",
        cause="The openai client could not read the server's answer as the API defines it.",
        fix="check the base URL points at an OpenAI-compatible API",
    ),
)

PIPE = 'printf %s "$OPENAI_API_KEY" | chatenv configure-key'

PROBLEMS += (
    # -- configure-key: the key as given -----------------------------------------------------
    Problem(
        id="key.none-entered",
        commands=KEY,
        area="The key you give",
        levels=("usage",),
        title="No key entered at the prompt",
        message="no key entered",
        cause="The hidden prompt got end-of-file (Ctrl-D) instead of a key.",
        fix="run again and paste the key",
    ),
    Problem(
        id="key.stdin-too-long",
        commands=KEY,
        area="The key you give",
        levels=("usage",),
        title="Far too much input on stdin",
        message="the input on stdin is far too long to be a key",
        cause="More than 4 KiB was piped in: a file or a command's whole output rather than "
        "the key.",
        fix=PIPE,
    ),
    Problem(
        id="key.stdin-empty",
        commands=KEY,
        area="The key you give",
        levels=("usage",),
        title="Nothing on stdin",
        message="no key on stdin: the input was empty",
        cause="stdin is not a terminal (a script, CI, a pipe) and carried nothing: the variable "
        "piped in is empty or unset. chatenv never waits for input it cannot prompt for.",
        fix=f"pipe the key in ({PIPE}), or run in a terminal to be prompted",
    ),
    Problem(
        id="key.stdin-silent",
        commands=KEY,
        area="The key you give",
        levels=("usage",),
        title="Nothing arrived on stdin",
        message="nothing arrived on stdin within {wait_s} s (it is a pipe nobody writes to)",
        cause="stdin is an open pipe that never delivered anything (a CI step or a wrapper that "
        "keeps stdin open). chatenv waits CHATENV_STDIN_TIMEOUT seconds (30 by default, so a "
        "password manager can answer), then stops rather than hang.",
        fix=f"pipe the key in ({PIPE}), or run in a terminal to be prompted; a slow key source "
        "can have longer: CHATENV_STDIN_TIMEOUT=120",
    ),
    Problem(
        id="key.empty",
        commands=KEY,
        area="The key you give",
        levels=("usage",),
        title="The key is empty",
        message="the key is empty",
        cause="Only whitespace or quotes were given.",
        fix=f"paste the key, or pipe it: {PIPE}",
    ),
    Problem(
        id="key.too-long",
        commands=KEY,
        area="The key you give",
        levels=("usage",),
        title="The input is too long to be a key",
        message="the input is {length} characters long, too long to be an API key",
        cause="API keys are at most a few hundred characters; more than 1024 means more than "
        "the key was pasted.",
        fix="paste only the key",
    ),
    Problem(
        id="key.line-break",
        commands=KEY,
        area="The key you give",
        levels=("usage",),
        title="The key contains a line break",
        message="the key contains a line break (after character {position}): more than the key "
        "was pasted",
        cause="Two lines were pasted or piped (a key and something else).",
        fix="paste only the key, on one line",
    ),
    Problem(
        id="key.space",
        commands=KEY,
        area="The key you give",
        levels=("usage",),
        title="The key contains a space",
        message="the key contains a space at character {position}: more than the key was pasted",
        cause="No API key contains whitespace: something else was pasted with it.",
        fix="paste only the key (no spaces inside)",
    ),
    Problem(
        id="key.invisible-character",
        commands=KEY,
        area="The key you give",
        levels=("usage",),
        title="The key contains a character no key has",
        message="the key contains {name} (U+{codepoint:04X}) at character {position}, which no "
        "API key has (often an invisible character copied from a web page)",
        cause="A non-ASCII or unprintable character, often a zero-width space or a "
        "non-breaking space a web page or chat app added when copying.",
        fix="copy the key again from the API keys page, or type it in",
    ),
    Problem(
        id="key.refused-character",
        commands=KEY,
        area="The key you give",
        levels=("usage",),
        title="The key contains a quote, $ or backslash",
        message="the key contains {char!r} at character {position}, which API keys never have",
        cause="Quotes, `$`, backquotes and backslashes never occur in keys, and would be "
        "mangled in a `.env` file or a shell.",
        fix="paste only the key",
    ),
    Problem(
        id="key.admin-key",
        commands=KEY,
        area="The key you give",
        levels=("warn",),
        title="An Admin API key",
        message="{masked} is an Admin API key: it manages the organization (users, projects, "
        "usage) and cannot list models or make completions",
        cause="`sk-admin-` keys are for the organization's administration API only.",
        fix="create a project key at {KEYS_PAGE}",
    ),
    Problem(
        id="key.not-openai-shape",
        commands=KEY,
        area="The key you give",
        levels=("warn",),
        title="The key does not look like an OpenAI key",
        message="{masked} does not look like an OpenAI key (they start with sk-proj-, "
        "sk-svcacct- or sk-); fine for another OpenAI-compatible server set with --base-url",
        cause="The key is for OpenAI's API (no `--base-url`, no OPENAI_BASE_URL) but does not "
        "start with `sk-`.",
        fix="copy the key from {KEYS_PAGE}, or add --base-url for another server",
    ),
    Problem(
        id="key.key-on-command-line",
        commands=KEY,
        area="The key you give",
        levels=("warn",),
        title="The key was given with --key",
        message="--key puts the key in your shell history and in `ps` output; next time pipe "
        "it: " + PIPE,
        cause="A key on the command line is saved in the shell's history file and visible to "
        "every user of the machine in the process list while the command runs.",
    ),
    # -- configure-key: options --------------------------------------------------------------
    Problem(
        id="key.base-url-invalid",
        commands=KEY,
        area="Options",
        levels=("usage",),
        title="--base-url is not an http(s) URL",
        message="--base-url must be an http:// or https:// URL, not {url!r}",
        cause="`--base-url` needs the scheme and host, and usually the `/v1` path.",
        fix="e.g. --base-url http://localhost:11434/v1 (Ollama) or http://localhost:8000/v1",
    ),
    Problem(
        id="key.id-empty",
        commands=KEY,
        area="Options",
        levels=("usage",),
        title="--organization or --project is empty",
        message="{option} is empty",
        cause="The option was given an empty value.",
        fix="pass the id, e.g. {option} {prefix}...",
    ),
    Problem(
        id="key.id-prefix",
        commands=KEY,
        area="Options",
        levels=("warn",),
        title="An organization or project id without its usual prefix",
        message="{option} {value} does not start with {prefix!r} like OpenAI's ids",
        cause="OpenAI's organization ids start with `org-`, project ids with `proj_`; a name "
        "instead of the id is the usual mistake. The value is saved anyway.",
        fix="copy the id from {SETTINGS_PAGE}",
    ),
    Problem(
        id="key.option-bad-character",
        commands=KEY,
        area="Options",
        levels=("usage",),
        title="An option value with spaces, quotes or line breaks",
        message="{option} contains {char!r} at character {position}",
        cause="URLs and ids never contain whitespace, quotes, `$` or backslashes; they would be "
        "mangled in the `.env` file.",
        fix="pass {option} without spaces, quotes or line breaks",
    ),
    Problem(
        id="key.timeout-range",
        commands=KEY,
        area="Options",
        levels=("usage",),
        title="--timeout out of range",
        message="--timeout must be between 0 and 600 seconds",
        cause="The verification timeout must be positive and at most 10 minutes.",
    ),
    Problem(
        id="key.show-writes-nothing",
        commands=KEY,
        area="Options",
        levels=("usage",),
        title="--show with options that write",
        message="--show writes nothing; drop {options}",
        cause="`--show` only reports where the key comes from; `--key`, `--base-url`, "
        "`--organization` and `--project` would be ignored.",
    ),
    Problem(
        id="key.interrupted",
        commands=KEY,
        area="Options",
        levels=("error",),
        title="Interrupted at the prompt or while verifying",
        message="interrupted: nothing was written",
        cause="Ctrl-C before the file was written (exit 130); the `.env` file is as it was.",
    ),
    # -- configure-key: verification ---------------------------------------------------------
    Problem(
        id="key.not-verified",
        commands=KEY,
        area="Verification",
        levels=("skip",),
        title="The key was saved without verification (--no-verify)",
        message="key not verified (--no-verify)",
        cause="`--no-verify` skips the `GET /models` check (for offline CI).",
        fix="chatenv smoke-test",
    ),
    Problem(
        id="key.accepted-rate-limited",
        commands=KEY,
        area="Verification",
        levels=("warn",),
        title="The key was accepted, but rate limited",
        message="key accepted by {where}, but {reason}",
        cause="The server rate-limited the check, which it does only after accepting the key: "
        "the key is saved. The fix is the rate limit's (see `api.rate-limited`).",
        fix="{api_fix}",
    ),
    Problem(
        id="key.unverified-saved",
        commands=KEY,
        area="Verification",
        levels=("warn",),
        title="The server could not be reached: saved unverified",
        message="could not verify the key: {reason}; saved without verification",
        cause="The check could not reach the server (network, timeout, 5xx, openai missing), so "
        "nothing was learnt about the key; by default it is saved anyway. The reason and the "
        "fix are those of the API failure (see the OpenAI API entries).",
        fix="{api_fix}",
    ),
    Problem(
        id="key.unverified",
        commands=KEY,
        area="Verification",
        levels=("fail",),
        title="The server could not be reached (--verify)",
        message="could not verify the key: {reason}{kept}",
        cause="With `--verify`, a check that cannot reach the server is a failure and the key "
        "is not saved (unless `--save-anyway`).",
        fix="{api_fix}",
    ),
    Problem(
        id="key.refused",
        commands=KEY,
        area="Verification",
        levels=("fail",),
        title="The server refused the key",
        message="key refused: {reason}{kept}",
        cause="The server looked at the key and said no (401, 403, 429 insufficient_quota), or "
        "the base URL is not an OpenAI-compatible API (404, a malformed answer). The key is not "
        "saved unless `--save-anyway`. The reason and the fix are the API failure's.",
        fix="{api_fix}",
    ),
    Problem(
        id="key.not-saved",
        commands=KEY,
        area="Verification",
        levels=("skip",),
        title="The .env file was not changed",
        message="{path} not changed: the key failed verification",
        cause="Verification failed (the line above says why), so the key was not written.",
        fix="fix the problem above, or save it regardless: add --save-anyway",
    ),
    # -- configure-key: git and the environment ----------------------------------------------
    Problem(
        id="key.file-tracked",
        commands=KEY,
        area="git and the environment",
        levels=("error",),
        title="The .env file is tracked by git",
        message="{path} is tracked by git: the key would be committed with it (add --force to "
        "write anyway)",
        cause="Writing a key into a file git tracks puts it in the next commit.",
        fix="git rm --cached {path_entry} && echo '{entry}' >> .gitignore   (in {root}); then "
        "rotate every key ever committed in it at {KEYS_PAGE}",
    ),
    Problem(
        id="key.file-tracked-forced",
        commands=KEY,
        area="git and the environment",
        levels=("warn",),
        title="The key was written into a tracked file (--force)",
        message="{path} is tracked by git and now holds the key (--force): do not commit it",
        cause="`--force` wrote the key into a file git tracks.",
        fix="git rm --cached {path_entry}, add it to .gitignore, and rotate the key at "
        "{KEYS_PAGE} if it was ever pushed",
    ),
    Problem(
        id="key.git-error",
        commands=KEY,
        area="git and the environment",
        levels=("warn",),
        title="git could not say whether the file is ignored",
        message="git could not say whether {path} is ignored: {error}",
        cause="git failed in a way chatenv cannot read, e.g. `dubious ownership` of the "
        "repository.",
        fix="git check-ignore -v {path}",
    ),
    Problem(
        id="key.file-not-ignored",
        commands=KEY,
        area="git and the environment",
        levels=("warn",),
        title="The .env file is not ignored by git",
        message="{path} is not ignored by git: `git add .` would commit the key",
        cause="The file is in a git work tree, no rule ignores it, and `--gitignore` was not "
        "given (or the answer at the prompt was no).",
        fix="echo '{entry}' >> {gitignore}   (or run again with --gitignore)",
    ),
    Problem(
        id="key.gitignore-failed",
        commands=KEY,
        area="git and the environment",
        levels=("warn",),
        title="The .gitignore could not be updated",
        message="could not add {entry} to {gitignore}: {reason}",
        cause="`.gitignore` could not be written (permissions, a folder in its place, not UTF-8).",
        fix="echo '{entry}' >> {gitignore}",
    ),
    Problem(
        id="key.still-not-ignored",
        commands=KEY,
        area="git and the environment",
        levels=("warn",),
        title="git still does not ignore the file",
        message="added '{entry}' to {gitignore}, but git still does not ignore {path} (a later "
        "rule re-includes it?)",
        cause="A later `!` rule (or a nested .gitignore) re-includes the file.",
        fix="git check-ignore -v --no-index {path}",
    ),
    Problem(
        id="key.hard-links",
        commands=KEY,
        area="git and the environment",
        levels=("warn",),
        title="The .env file had other hard links",
        message="{path} had {count} other hard link(s); they still hold the old contents",
        cause="The file is replaced atomically, so other hard links to it keep the old text "
        "(and the old key).",
        fix="remove the other links, or point them at this file with a symlink",
    ),
    Problem(
        id="key.environment-overrides",
        commands=KEY,
        area="git and the environment",
        levels=("warn",),
        title="The environment overrides the saved value",
        message="{name} is also set in this shell's environment ({shown}), which overrides the "
        "file for the openai client and most tools (load_dotenv() does not override it)",
        cause="A variable exported in the shell (often from a profile file) wins over the "
        "`.env` file.",
        fix="unset {name}   (and remove it from your shell profile)",
    ),
    # -- configure-key --show ----------------------------------------------------------------
    Problem(
        id="key.show-file-unreadable",
        commands=KEY,
        area="--show",
        levels=("warn",),
        title="--show: the .env file cannot be read",
        message="{error}",
        cause="The line is the `env-file.*` problem met reading the file.",
        fix="check {path}",
    ),
    Problem(
        id="key.show-no-key",
        commands=KEY,
        area="--show",
        levels=("fail",),
        title="--show: no key anywhere",
        message="no OPENAI_API_KEY: set neither in the environment nor in {path}",
        cause="Neither the environment nor the `.env` file sets OPENAI_API_KEY.",
        fix="chatenv configure-key",
    ),
    Problem(
        id="key.show-conflict",
        commands=KEY,
        area="--show",
        levels=("warn",),
        title="--show: two different keys",
        message="OPENAI_API_KEY is set both in the environment and in {path}, to different "
        "keys; the environment wins for the openai client and load_dotenv()",
        cause="The environment's key is the one your code uses.",
        fix="unset OPENAI_API_KEY   (or remove it from your shell profile)",
    ),
    Problem(
        id="key.show-legacy-name",
        commands=KEY,
        area="--show",
        levels=("warn",),
        title="--show: a pre-1.0 variable name",
        message="{legacy} (from {where}) is an openai<1.0 name the client ignores",
        cause="OPENAI_API_BASE and OPENAI_ORGANIZATION were renamed in openai 1.0.",
        fix="rename it to {new}",
    ),
    Problem(
        id="key.show-permissions",
        commands=KEY,
        area="--show",
        levels=("warn",),
        title="--show: the .env file is readable by others",
        message="{path} is readable by others (mode {mode:04o})",
        cause="Group or others may read the file that holds the key.",
        fix="chmod 600 {path}",
    ),
    # -- the .env file (configure-key writes it; doctor and smoke-test read it) --------------
    Problem(
        id="env-file.dangling-symlink",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="The .env file is a link to nothing",
        message="{path} is a symbolic link to {target}, which does not exist",
        cause="chatenv writes through a symlinked `.env` to its target, and the target is missing.",
        fix="create {target} first, or remove the link: rm {path}",
    ),
    Problem(
        id="env-file.is-directory",
        commands=ENV_FILE,
        area="The .env file",
        levels=("error",),
        title="The .env path is a folder",
        message="{path} is a directory, not a .env file",
        cause="`--env-file` (or `./.env`) names a folder.",
        fix="pass the file with --env-file PATH",
    ),
    Problem(
        id="env-file.no-folder",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="The .env file's folder does not exist",
        message="the folder {folder} does not exist",
        cause="chatenv creates the file, not the folders above it.",
        fix="mkdir -p {folder}",
    ),
    Problem(
        id="env-file.folder-not-writable",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="The .env file's folder is not writable",
        message="cannot write in the folder {folder} (permission denied)",
        cause="The file is replaced atomically (a new file beside it, then a rename), which "
        "needs write permission on the folder.",
        fix="use --env-file in a folder you can write to, or fix the permissions of {folder}",
    ),
    Problem(
        id="env-file.not-regular",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="The .env path is not a regular file",
        message="{path} is not a regular file",
        cause="A device, a FIFO or a socket sits where the `.env` file should be.",
        fix="pass a .env file with --env-file",
    ),
    Problem(
        id="env-file.read-only",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="The .env file is read-only",
        message="{path} is read-only (mode {mode:04o})",
        cause="The owner's write bit is off: chatenv reads that as 'do not change this file'.",
        fix="chmod u+w {path}   (if you mean to change it)",
    ),
    Problem(
        id="env-file.not-readable",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="The .env file cannot be read (permission)",
        message="cannot read {path} (permission denied)",
        cause="The owner's read bit is off.",
        fix="chmod u+r {path}",
    ),
    Problem(
        id="env-file.unreadable",
        commands=ENV_FILE,
        area="The .env file",
        levels=("error",),
        title="The .env file cannot be read",
        message="cannot read {path}: {reason}",
        cause="The operating system refused to read the file.",
        fix="check the permissions of {path}",
    ),
    Problem(
        id="env-file.not-utf8",
        commands=ENV_FILE,
        area="The .env file",
        levels=("error",),
        title="The .env file is not UTF-8",
        message="{path} is not valid UTF-8 ({position})",
        cause="python-dotenv reads `.env` files as UTF-8; a file saved in another encoding "
        "(UTF-16 from Windows Notepad, Latin-1) cannot be read or safely rewritten.",
        fix="re-save {path} as UTF-8",
    ),
    Problem(
        id="env-file.unparsable-lines",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="The .env file has lines python-dotenv cannot parse",
        message="{path} has lines python-dotenv cannot parse (line {lines}); they would be "
        "silently ignored by load_dotenv",
        cause="A line that is neither `KEY=value`, a comment nor blank (an unclosed quote, a "
        "stray word): `load_dotenv()` skips it with only a logged warning.",
        fix="fix or remove line {first} of {path} (KEY=value, # comment)",
    ),
    Problem(
        id="env-file.value-line-break",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="A value with a line break",
        message="the value for {name} contains a line break",
        cause="chatenv writes one `KEY='value'` line per variable; a line break cannot be "
        "stored in it.",
    ),
    Problem(
        id="env-file.value-expansion",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="A value containing ${",
        message="the value for {name} contains '${{', which python-dotenv expands",
        cause="python-dotenv expands `${VAR}` even inside quotes, so the value would change "
        "when read.",
    ),
    Problem(
        id="env-file.write-failed-disk-full",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="The disk is full",
        message="could not write {path}: {reason}; the file was not changed",
        cause="No space (or quota) left for the new file; the old one is untouched.",
        fix="free some disk space and run the command again",
    ),
    Problem(
        id="env-file.write-failed",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="The .env file could not be written",
        message="could not write {path}: {reason}; the file was not changed",
        cause="Writing the new file or renaming it over the old one failed; the old one is "
        "untouched.",
        fix="check the permissions of {folder}",
    ),
    Problem(
        id="env-file.lock-failed",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="The lock file cannot be created",
        message="cannot create the lock file {path}: {reason}",
        cause="One writer at a time: chatenv locks `.<name>.chatenv-lock` beside the file.",
        fix="check the permissions of {folder}",
    ),
    Problem(
        id="env-file.locked",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="Another process is writing the .env file",
        message="another process has been writing {path} for over {timeout:g} s",
        cause="Another chatenv holds the lock, or one that was killed left its lock file.",
        fix="wait for it to finish; if none is running, remove {lock}",
    ),
)

PROBLEMS += (
    # -- smoke-test: options -----------------------------------------------------------------
    Problem(
        id="smoke.train-without-local",
        commands=SMOKE,
        area="Options",
        levels=("usage",),
        title="--train with --no-local",
        message="--train needs the local stage (it trains the model that stage loads)",
        cause="The training step runs on the model the local stage loads.",
        fix="drop --no-local",
    ),
    Problem(
        id="smoke.nothing-to-test",
        commands=SMOKE,
        area="Options",
        levels=("usage",),
        title="--no-local and --no-api together",
        message="nothing to test: --no-local and --no-api switch off every stage",
        cause="Both stages were switched off.",
        fix="drop one of them",
    ),
    Problem(
        id="smoke.api-model-empty",
        commands=SMOKE,
        area="Options",
        levels=("usage",),
        title="--api-model is empty",
        message="--api-model is empty",
        cause="An empty `--api-model` (often an unset variable in a script).",
        fix="chatenv smoke-test --api-model gpt-4.1-nano",
    ),
    Problem(
        id="smoke.prompt-empty",
        commands=SMOKE,
        area="Options",
        levels=("usage",),
        title="--prompt is empty",
        message="--prompt is empty: generation needs at least one token to continue",
        cause="A causal language model continues a prompt; an empty one gives it nothing.",
    ),
    Problem(
        id="smoke.bad-device",
        commands=SMOKE,
        area="Options",
        levels=("usage",),
        title="--device is not a device",
        message="--device {device!r} is not a device (expected {choices})",
        cause="`--device` takes auto, cpu, cuda, cuda:N or mps.",
        fix="chatenv smoke-test --device auto",
    ),
    Problem(
        id="smoke.model-empty",
        commands=SMOKE,
        area="Options",
        levels=("usage",),
        title="--model is empty",
        message="--model is empty",
        cause="An empty `--model` (often an unset variable in a script).",
        fix="chatenv smoke-test --model gpt2",
    ),
    Problem(
        id="smoke.model-is-file",
        commands=SMOKE,
        area="Options",
        levels=("usage",),
        title="--model names a file",
        message="--model {name} is a file; pass the folder that holds config.json and the weights",
        cause="A local model is a folder (what `save_pretrained` writes), not one of its files.",
        fix="chatenv smoke-test --model {folder}",
    ),
    Problem(
        id="smoke.model-no-folder",
        commands=SMOKE,
        area="Options",
        levels=("usage",),
        title="--model names a folder that does not exist",
        message="--model {name}: no such folder",
        cause="The value looks like a path (it starts with `/`, `./` or `~`, or has more than "
        "one `/`), and nothing is there.",
        fix="pass an existing model folder, or a Hugging Face model id such as gpt2",
    ),
    Problem(
        id="smoke.model-bad-id",
        commands=SMOKE,
        area="Options",
        levels=("usage",),
        title="--model is not a model id",
        message="--model {name!r} is neither a folder nor a Hugging Face model id ({reason})",
        cause="Hub ids are `name` or `owner/name`, made of letters, digits, `-`, `_` and `.`.",
        fix="pass a model id such as gpt2 or openai-community/gpt2, or a local folder",
    ),
    # -- smoke-test: the local stage ---------------------------------------------------------
    Problem(
        id="smoke.not-installed",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="torch or transformers is not installed",
        message="{name} is not installed",
        cause="The `local` profile is not installed in the environment chatenv runs in.",
        fix="chatenv install local",
    ),
    Problem(
        id="smoke.import-failed",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="import torch (or transformers) fails",
        message="import {name} failed: {error}",
        cause="The package is installed but one of its own imports fails: a dependency missing "
        "or in the wrong version.",
        fix="chatenv install local",
    ),
    Problem(
        id="smoke.import-broken",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="import torch (or transformers) crashes",
        message="import {name} failed: {error}",
        cause="A broken install: a missing shared library, a build for another CPU or CUDA, an "
        "ABI clash between packages.",
        fix="chatenv install local   (reinstalls a {name} build this machine can run)",
    ),
    Problem(
        id="smoke.no-mps",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="--device mps on a machine without MPS",
        message="--device mps: torch sees no Apple GPU (MPS) on this machine",
        cause="MPS is Apple silicon's GPU backend (macOS 12.3+, an arm64 Python).",
        fix="chatenv smoke-test --device auto",
    ),
    Problem(
        id="smoke.cpu-only-torch",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="--device cuda with a CPU-only torch",
        message="--device {device}: torch {version} is a CPU-only build",
        cause="The installed torch has no CUDA support.",
        fix="chatenv install local   (installs the CUDA build of torch this machine can run)",
    ),
    Problem(
        id="smoke.no-usable-gpu",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="--device cuda, but torch sees no GPU",
        message="--device {device}: torch {version} (CUDA {cuda}) sees no usable GPU: no NVIDIA "
        "driver, a driver too old for this build, or CUDA_VISIBLE_DEVICES hides them",
        cause="A CUDA build of torch for which `torch.cuda.is_available()` is False.",
        fix="chatenv doctor   (says which, and the fix)",
    ),
    Problem(
        id="smoke.gpu-index",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="--device cuda:N beyond the GPUs torch sees",
        message="--device {device}: torch sees {gpus} ({visible})",
        cause="GPUs are numbered from 0 among those CUDA_VISIBLE_DEVICES lets torch see.",
        fix="chatenv smoke-test --device cuda:{last}",
    ),
    Problem(
        id="smoke.offline-not-cached",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="The model is not cached and HF_HUB_OFFLINE is set",
        message="{name} is not in {where} and HF_HUB_OFFLINE is set, so it cannot be downloaded",
        cause="Offline mode forbids downloads, and the model's files are not all in the cache.",
        fix="download it once with HF_HUB_OFFLINE unset: {download}; or pass a local folder: "
        "--model PATH",
    ),
    Problem(
        id="smoke.hub-unreachable",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="The model is not cached and the hub cannot be reached",
        message="{name} is not in {where} and the hub at {endpoint} cannot be reached ({reason})",
        cause="The model must be downloaded and huggingface.co (or HF_ENDPOINT) does not "
        "answer: no network, a proxy, a firewall.",
        fix="download it once where the hub is reachable: {download}; or pass a local folder: "
        "--model PATH",
    ),
    Problem(
        id="smoke.gated-model",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="A gated model",
        message="{name} is a gated model: its files need an accepted licence and a token",
        cause="The model's owners require you to accept a licence on its page, and downloads "
        "need your Hugging Face token.",
        fix="accept the licence at {endpoint}/{name}, then: hf auth login",
    ),
    Problem(
        id="smoke.model-not-found",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="No such model on the hub",
        message="{name} is not in {where}, and {endpoint} has no model named {name} (or it is "
        "private)",
        cause="A typo in the id, or a private model you are not logged in for.",
        fix="check the spelling (e.g. gpt2, openai-community/gpt2); for a private model, log in "
        "first: hf auth login",
    ),
    Problem(
        id="smoke.remote-code",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="A model that ships its own code",
        message="{name} needs its own Python code from the model repository "
        "(trust_remote_code), which the smoke test does not run",
        cause="Some models are not built into transformers: their repository carries Python "
        "code that `trust_remote_code=True` would download and run. The smoke test never runs "
        "code from a model repository (and never waits at transformers' own y/N question about "
        "it), so it refuses these models at once.",
        fix="pick a model transformers supports natively (e.g. --model gpt2)",
    ),
    Problem(
        id="smoke.load-out-of-memory",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="Out of memory loading the model",
        message="out of memory loading {name} on {device}",
        cause="The weights do not fit in the GPU's (or the machine's) free memory.",
        fix="a smaller --model, --dtype bfloat16 or float16, or --device cpu",
    ),
    Problem(
        id="smoke.folder-load-failed",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="A model folder cannot be loaded",
        message="could not load {name}: {error}",
        cause="The folder lacks `config.json`, the tokenizer files or the weights, or holds a "
        "model transformers cannot build as a causal language model.",
        fix="check that {name} holds config.json, the tokenizer files and the weights "
        "(save_pretrained writes them)",
    ),
    Problem(
        id="smoke.load-failed",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="The model cannot be loaded",
        message="could not load {name}: {error}",
        cause="transformers raised while loading the tokenizer or the weights: a model that is "
        "not a causal LM, a transformers too old for the model, a damaged download.",
        fix="run again with --verbose for the details; `chatenv doctor` checks the stack",
    ),
    Problem(
        id="smoke.no-token",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="generate produced no token",
        message="generate returned without producing a token",
        cause="The model stopped at once (an end-of-sequence token first, a generation config "
        "that forbids new tokens).",
        fix="try another --prompt; run with --verbose for the details",
    ),
    Problem(
        id="smoke.generate-out-of-memory",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="Out of memory generating",
        message="out of memory generating on {device}",
        cause="The model loaded, but generating needs more memory (activations, the KV cache).",
        fix="fewer --max-new-tokens, --dtype bfloat16 or float16, or --device cpu",
    ),
    Problem(
        id="smoke.generate-failed",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="Generation fails",
        message="generation failed on {device}: {error}",
        cause="`model.generate` raised: often a dtype the device does not support (float16 on "
        "some CPUs) or a GPU without kernels for this torch build.",
        fix="run again with --verbose for the details; `chatenv doctor` checks the stack",
    ),
    # -- smoke-test: the training step (--train) ---------------------------------------------
    Problem(
        id="smoke.train-single-token",
        commands=SMOKE,
        area="Training step (--train)",
        levels=("fail",),
        title="A batch of one token",
        message="the batch has a single token: a causal-LM loss needs two",
        cause="The training batch is the prompt plus what was generated; one token leaves "
        "nothing to predict.",
        fix="raise --max-new-tokens or use a longer --prompt",
    ),
    Problem(
        id="smoke.train-loss-not-finite",
        commands=SMOKE,
        area="Training step (--train)",
        levels=("fail",),
        title="The loss is not a number",
        message="the loss is {value}: the model's numbers overflow",
        cause="The loss came out `nan` or `inf`: float16 overflows on many models.",
        fix="--dtype float32 (or bfloat16 on a GPU that has it)",
    ),
    Problem(
        id="smoke.train-out-of-memory",
        commands=SMOKE,
        area="Training step (--train)",
        levels=("fail",),
        title="Out of memory in the training step",
        message="out of memory during the training step on {device} (weights, gradients and "
        "AdamW's state need about 4x the model's size)",
        cause="Training needs far more memory than inference.",
        fix="a smaller --model, or --device cpu",
    ),
    Problem(
        id="smoke.train-failed",
        commands=SMOKE,
        area="Training step (--train)",
        levels=("fail",),
        title="The training step fails",
        message="the training step failed on {device}: {error}",
        cause="The backward pass or the optimizer step raised.",
        fix="run again with --verbose for the details; `chatenv doctor` checks the stack",
    ),
    Problem(
        id="smoke.train-loss-did-not-fall",
        commands=SMOKE,
        area="Training step (--train)",
        levels=("fail",),
        title="The loss did not fall",
        message="{summary}: the loss did not fall",
        cause="One AdamW step on the batch the model just generated should lower its loss; it "
        "did not, so gradients or the optimizer do not reach the weights on this device.",
        fix="the gradients or the optimizer do not reach the weights on this device; try "
        "--device cpu to compare, and run `chatenv doctor`",
    ),
    # -- smoke-test: the API stage -----------------------------------------------------------
    Problem(
        id="smoke.no-key",
        commands=SMOKE,
        area="API completion",
        levels=("fail",),
        title="No OpenAI API key for the API stage",
        message="no OpenAI API key: OPENAI_API_KEY is in neither the environment nor the .env file",
        cause="The API stage needs a key: from the environment or the `.env` file (`--env-file`).",
        fix="chatenv configure-key   (or --no-api to test only local generation)",
    ),
    Problem(
        id="smoke.no-model-list",
        commands=SMOKE,
        area="API completion",
        levels=("warn",),
        title="The server does not list models",
        message="{base} does not list models (404 on /models); trying the completion anyway",
        cause="Some OpenAI-compatible servers have no `GET /models`; the completion still "
        "tells whether the API works.",
    ),
    Problem(
        id="smoke.retired-model",
        commands=SMOKE,
        area="API completion",
        levels=("fail",),
        title="A retired model (text-davinci-002 and friends)",
        message="{model} is a retired model (the server answered {answered})",
        cause="The model was shut down (old tutorials use `text-davinci-00x`, `code-davinci`, "
        "`gpt-4-0314`); the note under the line names OpenAI's replacement and the v1 call.",
        fix="chatenv smoke-test --api-model gpt-4.1-nano",
    ),
    Problem(
        id="smoke.empty-reply",
        commands=SMOKE,
        area="API completion",
        levels=("warn",),
        title="The completion came back empty",
        message="{summary}; {reason}",
        cause="The API works but the reply is empty: a reasoning model spent the output limit "
        "on reasoning, or the server stopped for another reason (content filter).",
        fix="the API works; for a reply, use a model that does not reason: --api-model "
        "gpt-4.1-nano",
    ),
    Problem(
        id="smoke.legacy-variable",
        commands=SMOKE,
        area="API completion",
        levels=("warn",),
        title="A v0-era variable name",
        message="{name} (in the {where}) is a v0-era name that openai >= 1.0 ignores",
        cause="OPENAI_API_BASE and OPENAI_ORGANIZATION were renamed OPENAI_BASE_URL and "
        "OPENAI_ORG_ID in openai 1.0.",
        fix="rename it to {new}",
    ),
    Problem(
        id="smoke.env-file-unreadable",
        commands=SMOKE,
        area="API completion",
        levels=("warn",),
        title="The .env file was not read",
        message="the .env file was not read: {error}",
        cause="The `.env` file exists but cannot be read (see the `env-file.*` entries); the "
        "stage goes on with the environment alone.",
        fix="fix the file, or pass another with --env-file PATH",
    ),
)

TORCH_FIX = "chatenv install {profiles} --torch {requested}{python_option}"

PROBLEMS += (
    # -- install: options and the target -----------------------------------------------------
    Problem(
        id="install.unknown-profile",
        commands=INSTALL,
        area="Options and the target",
        levels=("usage",),
        title="An unknown profile",
        message="unknown profile '{name}' (known: {known})",
        cause="Profiles are `api` (openai, python-dotenv), `local` (torch, transformers, "
        "tokenizers, safetensors, accelerate) and `all`.",
        fix="chatenv install all",
    ),
    Problem(
        id="install.not-a-user-profile",
        commands=INSTALL,
        area="Options and the target",
        levels=("usage",),
        title="A profile you do not install",
        message="'{name}' is not a profile you install (known: {known})",
        cause="`base` is what `pip install chatenv` already installs.",
        fix="chatenv install all",
    ),
    Problem(
        id="install.unknown-torch-variant",
        commands=INSTALL,
        area="Options and the target",
        levels=("usage",),
        title="An unknown --torch variant",
        message="unknown torch variant '{text}' (known: {known})",
        cause="`--torch` takes auto, cpu or a CUDA variant PyTorch publishes (cu118 ... cu132; "
        "`13.0` and `cu13.0` are read as cu130).",
        fix="--torch auto",
    ),
    Problem(
        id="install.unknown-installer",
        commands=INSTALL,
        area="Options and the target",
        levels=("usage",),
        title="An unknown --installer",
        message="unknown installer '{name}' (known: {known})",
        cause="`--installer` takes auto, uv or pip.",
        fix="--installer auto",
    ),
    Problem(
        id="install.not-an-interpreter",
        commands=INSTALL,
        area="Options and the target",
        levels=("usage",),
        title="--python is not a Python interpreter",
        message="--python {python} is not a Python interpreter ({why})",
        cause="`--python` takes an interpreter (`.venv/bin/python`) or a virtualenv folder "
        "(`.venv`); the path does not exist, cannot run, or did not answer like Python.",
        fix="--python .venv/bin/python (a virtualenv's interpreter) or leave it out",
    ),
    Problem(
        id="install.system-interpreter",
        commands=INSTALL,
        area="Options and the target",
        levels=("error",),
        title="Refusing to install into the system Python",
        message="{executable} is a system interpreter, not a virtualenv: installing there "
        "changes the Python every other program uses",
        cause="The target is outside any virtualenv or conda environment. Installing torch "
        "there can break OS tools (and many distributions forbid it: PEP 668).",
        fix="python3 -m venv .venv && . .venv/bin/activate && pip install chatenv && chatenv "
        "install ...  (or --python .venv/bin/python; or --system if you mean it)",
    ),
    Problem(
        id="install.uv-missing",
        commands=INSTALL,
        area="Options and the target",
        levels=("error",),
        title="--installer uv, but uv is not on PATH",
        message="uv is not on PATH",
        cause="`--installer uv` was asked for and no `uv` program is on PATH.",
        fix="install uv ({UV_INSTALL_PAGE}) or use --installer pip",
    ),
    Problem(
        id="install.no-pip",
        commands=INSTALL,
        area="Options and the target",
        levels=("error",),
        title="No pip in the target (and no uv)",
        message="pip is not installed in {executable}{also}",
        cause="A virtualenv made by `uv venv` (or a distribution's Python without its pip "
        "package) has no pip, and uv is not on PATH to install with instead.",
        fix="{executable} -m ensurepip --upgrade, or install uv (https://docs.astral.sh/uv/)",
    ),
    # -- install: choosing the torch build ---------------------------------------------------
    Problem(
        id="install.no-known-torch-release",
        commands=INSTALL,
        area="Choosing the PyTorch build",
        levels=("error",),
        title="The pins allow no torch release chatenv knows",
        message="no torch release chatenv knows is allowed by the pins (torch{spec})",
        cause="This chatenv's table of PyTorch builds has no release within the torch pin: a "
        "pins file newer than the table.",
        fix="upgrade chatenv",
    ),
    Problem(
        id="install.no-cuda-for-platform",
        commands=INSTALL,
        area="Choosing the PyTorch build",
        levels=("error",),
        title="No CUDA builds for this platform (macOS)",
        message="PyTorch publishes no CUDA builds for {platform}",
        cause="CUDA builds of torch exist for Linux and Windows only; macOS uses Apple's MPS. "
        "`--force` cannot change that.",
        fix="--torch auto",
    ),
    Problem(
        id="install.variant-not-shipped",
        commands=INSTALL,
        area="Choosing the PyTorch build",
        levels=("error",),
        title="No torch release within the pins ships this CUDA variant",
        message="no torch release allowed by the pins ({spec}) ships {tag}",
        cause="PyTorch builds each release for a few CUDA versions only (old ones are dropped, "
        "new ones added).",
        fix="--torch auto",
    ),
    Problem(
        id="install.variant-cannot-run",
        commands=INSTALL,
        area="Choosing the PyTorch build",
        levels=("error",),
        title="The --torch variant asked for cannot run here",
        message="{tag} cannot run on this machine: {problems}",
        cause="The driver is too old for that CUDA version, or the build has no kernels for "
        "a GPU here, or there is no usable NVIDIA GPU at all. chatenv refuses rather than "
        "install a torch that fails at its first CUDA call.",
        fix="--torch auto picks a build that runs here, or --force installs it anyway",
    ),
    Problem(
        id="install.gpu-unusable",
        commands=INSTALL,
        area="Choosing the PyTorch build",
        levels=("warn",),
        title="An NVIDIA GPU that cannot be used: the CPU build is chosen",
        message="{why}: choosing the CPU build; fix the driver (nvidia-smi) and run again",
        cause="The machine seems to have an NVIDIA GPU, but the driver is not loaded, differs "
        "from its kernel module, or may not be queried, so `--torch auto` cannot tell which "
        "CUDA build would run (see `chatenv doctor`'s GPU section).",
    ),
    Problem(
        id="install.no-cuda-build-runs",
        commands=INSTALL,
        area="Choosing the PyTorch build",
        levels=("warn",),
        title="No CUDA build of this torch release runs here: the CPU build is chosen",
        message="no CUDA build of torch {series} runs on this machine: choosing the CPU build",
        cause="Every CUDA build of the pinned release needs a newer driver, or lacks kernels "
        "for a GPU here (an old GPU such as a GTX 1080 Ti on CUDA 13). The fix says which "
        "driver would do, or which older release still runs.",
        fix="{ways}",
    ),
    Problem(
        id="install.forced",
        commands=INSTALL,
        area="Choosing the PyTorch build",
        levels=("warn",),
        title="--force: a build this machine cannot run",
        message="--force: installing {variant} although this machine cannot run it",
        cause="`--force` overrode the refusal above; torch may fail at its first CUDA call.",
    ),
    Problem(
        id="install.gpu-fields-unreadable",
        commands=INSTALL,
        area="Choosing the PyTorch build",
        levels=("warn",),
        title="NVML could not read every GPU field",
        message="NVML could not read every GPU field",
        cause="Some GPU properties (the name, the compute capability) were not available "
        "(`--verbose` lists them); the choice used what could be read.",
    ),
    # -- install: planning -------------------------------------------------------------------
    Problem(
        id="install.index-unreachable",
        commands=INSTALL,
        area="Planning",
        levels=("fail", "error"),
        title="The package index cannot be reached",
        message="cannot reach {where} ({reason}) while planning the {step} step; nothing was "
        "changed",
        cause="The installer's dry run could not reach PyPI or PyTorch's index "
        "(download.pytorch.org): no network, a proxy not configured for pip/uv, a firewall.",
        fix="check the network and proxy settings (HTTPS_PROXY), or the installer's index "
        "configuration, then run again",
    ),
    Problem(
        id="install.no-match",
        commands=INSTALL,
        area="Planning",
        levels=("fail", "error"),
        title="The requirements cannot be resolved",
        message="{step} step cannot be resolved: {reason}; nothing was changed",
        cause="The index answered but has no version that satisfies the pins on this Python "
        "and platform (a Python too new for torch, a variant not built for this platform), or "
        "the requirements conflict with what is installed.",
        fix="--torch auto, or check the installer's index configuration",
    ),
    Problem(
        id="install.plan-failed",
        commands=INSTALL,
        area="Planning",
        levels=("fail", "error"),
        title="The dry run failed",
        message="planning the {step} step failed: {reason}; nothing was changed",
        cause="The installer's dry run failed for another reason; the line quotes its own "
        "error (`--verbose` shows the command).",
        fix="run again with --verbose, or run the command in the plan by hand",
    ),
    # -- install: installing -----------------------------------------------------------------
    Problem(
        id="install.log-unwritable",
        commands=INSTALL,
        area="Installing",
        levels=("error",),
        title="The installer log cannot be written",
        message="cannot write the installer log {path}: {reason}; nothing was changed",
        cause="The log goes to `~/.local/state/chatenv/logs` (`XDG_STATE_HOME`; macOS "
        "`~/Library/Logs/chatenv`) or `--log-file`, and it cannot be created there.",
        fix="--log-file PATH (a writable file)",
    ),
    Problem(
        id="install.interrupted",
        commands=INSTALL,
        area="Installing",
        levels=("error",),
        title="Interrupted while installing",
        message="interrupted while {installer} was installing ({step} step); the environment is "
        "as {installer} left it. Full log: {log}",
        cause="Ctrl-C during the installer's run (exit 130). pip and uv finish or roll back the "
        "package they were installing; the steps before are done.",
        fix="run the same chatenv install again to finish",
    ),
    Problem(
        id="install.installer-not-started",
        commands=INSTALL,
        area="Installing",
        levels=("error",),
        title="The installer could not be started",
        message="could not start {installer}: {error}",
        cause="The installer program disappeared or cannot be executed.",
        fix="--installer {other}",
    ),
    Problem(
        id="install.installer-failed",
        commands=INSTALL,
        area="Installing",
        levels=("error",),
        title="The installer failed",
        message="{installer} failed in the {step} step (exit status {status}); full log: {log}",
        cause="pip or uv exited non-zero (a download cut off, a full disk, a package that must "
        "be built and cannot be). The end of its log is printed above the line.",
        fix="read the end of the log above, fix its cause, and run the same command",
    ),
    # -- install: verification ---------------------------------------------------------------
    Problem(
        id="install.verify-no-torch",
        commands=INSTALL,
        area="Verification",
        levels=("fail",),
        title="torch is not installed afterwards",
        message="torch is not installed",
        cause="The torch step did not leave a torch behind.",
        fix=TORCH_FIX,
    ),
    Problem(
        id="install.verify-wrong-build",
        commands=INSTALL,
        area="Verification",
        levels=("fail",),
        title="Another torch build than the one chosen",
        message="{label} is installed, but chatenv chose {variant}",
        cause="The installer kept or fetched another build (a pip cache, an index "
        "configuration that overrides PyTorch's index).",
        fix=TORCH_FIX,
    ),
    Problem(
        id="install.verify-cannot-run",
        commands=INSTALL,
        area="Verification",
        levels=("fail",),
        title="The installed torch cannot run here",
        message="{label}: {reason}",
        cause="The torch that is installed does not suit this machine's driver and GPUs.",
        fix=TORCH_FIX,
    ),
    Problem(
        id="install.verify-forced",
        commands=INSTALL,
        area="Verification",
        levels=("warn",),
        title="torch installed with --force",
        message="{label} installed with --force; it may not run on this machine",
        cause="`--force` installed a build chatenv judged unable to run here.",
        fix="chatenv install {profiles} --torch auto{python_option}",
    ),
    Problem(
        id="install.verify-cpu-fallback",
        commands=INSTALL,
        area="Verification",
        levels=("warn",),
        title="The CPU build, on a machine that looks like it has a GPU",
        message="{label}: {warning}",
        cause="`--torch auto` fell back to the CPU build (see the entries under Choosing the "
        "PyTorch build); the warning and its fix are repeated under the installed torch.",
        fix="{choice_fix}",
    ),
)

PROBLEMS += (
    # -- setup -------------------------------------------------------------------------------
    # setup runs the four commands' own code: it reports their problems as they do. These are
    # the few it adds: its options, and the two questions it would ask.
    Problem(
        id="setup.nothing-to-smoke-test",
        commands=SETUP,
        area="Options",
        levels=("usage",),
        title="The profile and --no-local/--no-api leave nothing to test",
        message="nothing to smoke-test: {profiles} with {option} leaves no stage",
        cause="The smoke test follows the profiles (`local` tests local generation, `api` the "
        "API); `--no-local` or `--no-api` removed the only one the profiles asked for. setup "
        "refuses before any stage runs.",
        fix="drop --no-local or --no-api, or choose another profile",
    ),
    Problem(
        id="setup.install-declined",
        commands=SETUP,
        area="The install stage",
        levels=("error",),
        title="You answered no to the install plan",
        message="not installed: you declined the plan; nothing was changed",
        cause="On a terminal, setup shows install's plan and asks before changing anything; "
        "answering no (or ending input at the question) stops setup there. The later stages "
        "do not run.",
        fix="chatenv setup --yes   (or chatenv install, which does not ask)",
    ),
    Problem(
        id="setup.key-not-asked",
        commands=SETUP,
        area="The configure-key stage",
        levels=("skip",),
        title="No key, and nobody to ask for it",
        message="no OPENAI_API_KEY, and {no_prompt}",
        cause="The API is being set up and `OPENAI_API_KEY` is in neither the environment nor "
        "the `.env` file, but setup may not ask for it: stdin is not a terminal (CI, a pipe "
        "with nothing in it), or `--yes` said to ask nothing. configure-key is skipped (the "
        "line shows the fix after a colon) and the API smoke test then fails for want of a "
        "key, unless `--no-api`.",
        fix='set OPENAI_API_KEY, pipe the key in (printf %s "$KEY" | chatenv setup), or run on '
        "a terminal to be asked; --no-api sets up local models only",
    ),
)

PROBLEMS += (
    # -- schema ------------------------------------------------------------------------------
    Problem(
        id="schema.unknown-command",
        commands=SCHEMA,
        area="chatenv schema",
        levels=("usage",),
        title="No schema for that command",
        message="no JSON schema for {command!r} (known: {known})",
        cause="`chatenv schema` prints the schema of a command's `--json` document; only "
        "doctor, install, configure-key, smoke-test, setup and init print one.",
        fix="chatenv schema doctor",
    ),
)
