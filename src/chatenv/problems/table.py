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
        id="cli.not-yes-or-no",
        commands=("configure-key", "setup"),
        area="Any command",
        levels=("usage",),
        title="An answer that is neither yes nor no",
        message="answer y or n (Enter: {default})",
        cause="A question on a terminal (setup's install plan, configure-key's .gitignore "
        "entry) takes y, yes, n or no, or Enter for the answer in capitals; it asks again. "
        "Ctrl-C stops the command (exit 130), Ctrl-D answers no.",
    ),
    Problem(
        id="cli.key-argument",
        commands=ALL,
        area="Any command",
        levels=("usage",),
        title="An API key given as an argument",
        message="argument {position} looks like an API key: chatenv takes a key only on stdin "
        "or at the hidden prompt, and does not print it back; pipe it in instead",
        cause="A key pasted onto the command line (`chatenv configure-key sk-proj-…`, "
        "`chatenv doctor sk-…`) would be echoed by the usage error, and stays in the shell's "
        "history. chatenv refuses it before parsing, naming only its position. "
        "configure-key's `--key` is the one option that takes a key (with a warning).",
        fix='printf %s "$OPENAI_API_KEY" | chatenv configure-key',
    ),
    Problem(
        id="cli.hf-token-argument",
        commands=ALL,
        area="Any command",
        levels=("usage",),
        title="A Hugging Face token given as an argument",
        message="argument {position} looks like a Hugging Face token: chatenv takes a token only "
        "on stdin or at the hidden prompt, and does not print it back; pipe it in instead",
        cause="As for an API key: a token (`hf_…`, or the value of $HF_TOKEN) pasted onto the "
        "command line would be echoed by the usage error and stays in the shell's history; "
        "chatenv refuses it before parsing, naming only its position.",
        fix='printf %s "$HF_TOKEN" | chatenv configure-key --hf',
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
        id="doctor.model-bad-id",
        commands=("doctor", "setup"),
        area="Running doctor",
        levels=("usage",),
        title="--model is neither a folder nor a model id",
        message="--model {name!r} is neither a folder nor a Hugging Face model id",
        cause="Hub ids are `name` or `owner/name`, made of letters, digits, `-`, `_` and `.` "
        "(at most 96 characters a part, no `--` or `..`); a folder must exist.",
        fix="pass a model id such as gpt2 or openai-community/gpt2, or a local folder",
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
        cause="Every section runs in its own thread within its own time budget, which guards "
        "against hangs: a stuck network mount, an NVML call that never returns, a DNS lookup. "
        "Its work itself takes a fraction of a second even on a loaded machine with thousands of "
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
    Problem(
        id="platform.rosetta-python",
        commands=DOCTOR,
        area="Platform",
        levels=("warn",),
        title="An x86_64 Python on Apple silicon (Rosetta)",
        message="an x86_64 Python on Apple silicon ({chip}): it runs translated by Rosetta, "
        "and PyTorch publishes no x86_64 macOS wheels after 2.2, so no torch chatenv pins "
        "installs here",
        cause="An Intel build of Python (an Intel Homebrew under /usr/local, an x86_64 "
        "Anaconda, a terminal opened with Rosetta) runs on Apple silicon through Rosetta 2. "
        "`platform.machine()` says x86_64, an old build even reports macOS 10.16, and torch's "
        "MPS checks see the wrong macOS version (pytorch/pytorch#146236). The last torch for "
        "Intel Macs is 2.2; chatenv's pins start at 2.4.",
        fix="uv venv --python cpython-{version}-macos-aarch64-none .venv  # an arm64 Python "
        "(or Homebrew's in /opt/homebrew); then . .venv/bin/activate and install again",
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
        fix="conda create -n llm python=3.12 && conda activate llm && {CHATENV_INSTALL}",
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
        fix="python3 -m venv .venv && . .venv/bin/activate && {CHATENV_INSTALL}  # chatenv "
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
        fix="python3 -m venv .venv && . .venv/bin/activate && {CHATENV_INSTALL}",
    ),
    Problem(
        id="python.chatenv-other-installed",
        commands=DOCTOR,
        area="Python",
        levels=("fail",),
        title="The unrelated `chatenv` distribution is installed here too",
        message="the unrelated `chatenv` {version} is installed in this environment too: its "
        "`chatenv` package and command replace chatenv-cli's",
        cause='The name `chatenv` on PyPI belongs to another project (a "typed environment '
        'profile manager"), which `pip install chatenv` installs. It ships a `chatenv` import '
        "package and a `chatenv` command, as chatenv-cli does, so whichever was installed last "
        "overwrote the other's files. An install of chatenv from before its rename to "
        "chatenv-cli shows up the same way.",
        fix="{executable} -m pip uninstall -y chatenv && {CHATENV_INSTALL} --force-reinstall",
    ),
    Problem(
        id="python.chatenv-other-on-path",
        commands=DOCTOR,
        area="Python",
        levels=("warn",),
        title="The `chatenv` command on PATH is another project's",
        message="the `chatenv` first on PATH ({script}) is {other}, another project's command, "
        "not chatenv-cli",
        cause="`pip install chatenv` (or pipx) installs an unrelated project with a command of "
        "the same name; typing `chatenv` runs whichever comes first on PATH. chatenv-cli is "
        "this tool's distribution.",
        fix="{executable} -m chatenv doctor   (or put this environment's bin folder first on PATH)",
    ),
    Problem(
        id="python.chatenv-elsewhere",
        commands=DOCTOR,
        area="Python",
        levels=("warn",),
        title="The `chatenv` command on PATH belongs to another environment",
        message="the `chatenv` first on PATH ({script}) runs {interpreter}, not this Python: "
        "typed as `chatenv`, it checks and installs into that environment",
        cause="chatenv checks and installs into the interpreter it runs in. A `chatenv` from "
        "another virtualenv, pipx or a system install earlier on PATH acts on that "
        "environment instead of this one.",
        fix="{executable} -m chatenv doctor   (or activate this virtualenv so its chatenv "
        "comes first)",
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
        id="packages.torch-newer-than-tested",
        commands=("doctor", "install"),
        area="Packages",
        levels=("warn",),
        title="torch is newer than chatenv's tested range",
        message="torch {version} is newer than chatenv's tested range ({spec}); chatenv checks "
        "it with {facts}",
        cause="A torch release came out after this chatenv's pins were set (`pip install "
        "torch` installs it the day it is published). It is probably fine, so this is a "
        "warning, not a failure; chatenv's checks of its CUDA build rely on what it knows of "
        "that release, or, for a release newer than its table, on the newest known release's "
        "facts for the same CUDA variant, and say so where they assumed.",
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
        message="{gpus}, {what}",
        cause="The host has an NVIDIA GPU (its PCI device is visible), or the image expects "
        "one (CUDA images set NVIDIA_VISIBLE_DEVICES=all), but the container was started "
        "without GPU access: the NVIDIA Container Toolkit mounted no driver libraries and no "
        "/dev/nvidia* device files. NVIDIA_VISIBLE_DEVICES=void (or none) withholds the GPUs "
        "on purpose. With Docker Compose the GPU is asked for under the service, in "
        "`deploy.resources.reservations.devices`.",
        fix="docker run --gpus all ...  # Compose: deploy.resources.reservations.devices: "
        "[{{driver: nvidia, count: all, capabilities: [gpu]}}] (NVIDIA Container Toolkit)",
    ),
    Problem(
        id="gpu.pod-without-gpu",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="A Kubernetes pod without a GPU",
        message="{gpus}, {what}",
        cause="The node has an NVIDIA GPU, but the pod did not request one, so NVIDIA's "
        "device plugin gave it none: it hands GPUs only to containers that list the "
        "`nvidia.com/gpu` resource.",
        fix="request the GPU in the pod spec (resources.limits: nvidia.com/gpu: 1)",
    ),
    Problem(
        id="gpu.podman-without-gpu",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="A Podman container started without GPU access",
        message="{gpus}, {what}",
        cause="Podman passes NVIDIA GPUs in through CDI (the Container Device Interface): the "
        "host needs a CDI spec generated by the NVIDIA Container Toolkit, and the container "
        "must be started with the `nvidia.com/gpu` device.",
        fix="podman run --device nvidia.com/gpu=all ...  # once on the host: sudo nvidia-ctk "
        "cdi generate --output=/etc/cdi/nvidia.yaml",
    ),
    Problem(
        id="gpu.container-no-compute",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="NVIDIA_DRIVER_CAPABILITIES leaves out compute",
        message="NVIDIA_DRIVER_CAPABILITIES={value!r} leaves out compute: the container has "
        "nvidia-smi but not the CUDA driver library (libcuda), so torch sees no GPU",
        cause="The NVIDIA Container Toolkit mounts only the driver libraries the capabilities "
        "name: `utility` brings nvidia-smi and NVML, `compute` brings libcuda. Unset, the "
        "default is `compute,utility`.",
        fix="docker run --gpus all -e NVIDIA_DRIVER_CAPABILITIES=compute,utility ...  # or "
        "unset it in the image, Compose file or pod spec",
    ),
    Problem(
        id="gpu.container-cuda-too-new",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="The image's CUDA is newer than the host's driver",
        message="this image's CUDA {image_cuda} (CUDA_VERSION) needs a driver for CUDA "
        "{image_major}.x; the host's driver {driver} supports CUDA {driver_cuda}",
        cause="CUDA images (nvidia/cuda and the images built on them) carry a CUDA toolkit; "
        "the driver comes from the host. Programs built with a toolkit newer than the "
        "driver's CUDA major version fail with 'CUDA driver version is insufficient for CUDA "
        "runtime version' (the toolkit's NVIDIA_REQUIRE_CUDA check would have refused to "
        "start the container, unless NVIDIA_DISABLE_REQUIRE or CDI skipped it). torch's "
        "wheels bring their own CUDA runtime and are checked in the PyTorch section.",
        fix="use an image built for CUDA {driver_major}.x or older, or upgrade the host's "
        "NVIDIA driver to {min_driver} or newer",
    ),
    Problem(
        id="gpu.wsl-without-gpu",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("skip",),
        title="WSL without GPU access",
        message="WSL 2 without NVIDIA GPU access (no libcuda in /usr/lib/wsl/lib)",
        cause="Under WSL 2 the GPU is reached through the Windows NVIDIA driver, which "
        "WSL mounts into Linux as /usr/lib/wsl/lib (libcuda.so.1, libnvidia-ml.so.1, "
        "nvidia-smi). They are missing: no (or an old) NVIDIA driver on Windows, or a "
        "machine without an NVIDIA GPU. Never install a Linux NVIDIA driver inside WSL.",
        fix="install the NVIDIA driver on Windows (not inside WSL), then: wsl --shutdown",
    ),
    Problem(
        id="gpu.no-libcuda-container",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="A container with NVML but no CUDA driver library",
        message="NVIDIA driver {version} answers, but this container has no CUDA driver "
        "library (libcuda.so.1): CUDA programs cannot start",
        cause="The container was started with the NVIDIA Container Toolkit's `utility` "
        "capability only (`NVIDIA_DRIVER_CAPABILITIES=utility`): it mounts libnvidia-ml, so "
        "nvidia-smi works, but not libcuda, so `torch.cuda.is_available()` is False. NVML says "
        "so itself: `nvmlSystemGetCudaDriverVersion_v2` answers LIBRARY_NOT_FOUND.",
        fix="start the container with compute capabilities: docker run --gpus all -e "
        "NVIDIA_DRIVER_CAPABILITIES=compute,utility ...",
    ),
    Problem(
        id="gpu.no-libcuda",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="The NVIDIA driver without its CUDA library",
        message="NVIDIA driver {version} answers, but its CUDA driver library (libcuda.so.1) "
        "is missing: CUDA programs cannot start",
        cause="The driver's management library (libnvidia-ml) is installed but its compute "
        "library (libcuda) is not: a driver installed without its compute packages, or a "
        "libcuda removed since.",
        fix="reinstall the NVIDIA driver with its compute libraries (Ubuntu: sudo apt install "
        "libnvidia-compute-{branch})",
    ),
    Problem(
        id="gpu.wsl-linux-driver",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="A Linux NVIDIA driver installed inside WSL",
        message="a Linux NVIDIA driver is installed inside WSL ({found}): it shadows the "
        "Windows driver's libraries in /usr/lib/wsl/lib, so CUDA and NVML fail",
        cause="Under WSL 2 the GPU belongs to the Windows NVIDIA driver; Linux reaches it "
        "through /usr/lib/wsl/lib. A Linux driver (an `nvidia-driver-*` or "
        "`libnvidia-compute-*` package, the `cuda` or `cuda-drivers` meta-package, NVIDIA's "
        ".run installer) puts its own libcuda and libnvidia-ml in the system library folders, "
        "which win: nvidia-smi says 'Driver Not Loaded' and torch finds no GPU "
        "(microsoft/WSL#8587, #9092, #9134). NVIDIA's WSL guide installs only the toolkit "
        "(`cuda-toolkit-12-x`), never a driver.",
        fix="{remove}  # then in Windows: wsl --shutdown; the GPU comes from the Windows "
        "NVIDIA driver",
    ),
    Problem(
        id="gpu.wsl1",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("skip",),
        title="WSL 1: no GPU access",
        message="WSL 1 has no GPU access: only WSL 2 reaches the Windows GPU driver",
        cause="WSL 1 translates Linux system calls and has no Linux kernel; GPU access "
        "(through /dev/dxg and /usr/lib/wsl/lib) exists only in WSL 2.",
        fix="wsl --set-version {distro} 2  # in PowerShell on Windows",
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
        id="gpu.mig-no-devices",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="MIG mode is on but no MIG device exists",
        message="{summary}: MIG mode is on but it has no MIG device, so CUDA programs cannot "
        "use it",
        cause="In MIG mode CUDA programs use MIG devices (GPU instances with a compute "
        "instance), never the whole GPU; none has been created on this one.",
        fix="sudo nvidia-smi mig -i {index} -lgip  # lists the profiles; create one with: sudo "
        "nvidia-smi mig -i {index} -cgi <profile> -C",
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
    Problem(
        id="gpu.visible-order-ambiguous",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="CUDA_VISIBLE_DEVICES indices on different GPUs",
        message="CUDA_VISIBLE_DEVICES={value!r} picks GPUs by CUDA's numbering, which on these "
        "different GPUs is not nvidia-smi's: chatenv cannot tell which GPUs CUDA programs get",
        cause="CUDA numbers GPUs fastest first (CUDA_DEVICE_ORDER=FASTEST_FIRST, the default) "
        "by a heuristic it does not specify; nvidia-smi numbers them by PCI bus. On a machine "
        "with one kind of GPU the difference does not matter; with two kinds, index 0 may be "
        "either. UUIDs (GPU-…, MIG-…) name a GPU whatever the order.",
        fix="export CUDA_DEVICE_ORDER=PCI_BUS_ID  # CUDA then numbers GPUs as nvidia-smi does",
    ),
    Problem(
        id="gpu.visible-prefix-ambiguous",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="A CUDA_VISIBLE_DEVICES UUID prefix that names several GPUs",
        message="CUDA_VISIBLE_DEVICES={value!r}: {why}",
        cause="CUDA accepts the start of a GPU or MIG UUID, as long as it names one device; "
        "GPUs of one batch often share the first digits of their UUIDs.",
        fix="nvidia-smi -L  # lists every GPU and MIG device with its full UUID",
    ),
    Problem(
        id="gpu.amd-no-driver",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("skip",),
        title="An AMD GPU without the amdgpu compute driver",
        message="{gpus} on the PCI bus, but the amdgpu driver's compute interface "
        "(/sys/class/kfd) is missing",
        cause="ROCm, and torch's ROCm builds, reach AMD GPUs through the amdgpu kernel driver's "
        "KFD interface. It is missing: the driver is not loaded, or too old for the GPU.",
        fix="sudo modprobe amdgpu  # then: sudo dmesg | grep -i amdgpu, if it still fails",
    ),
    Problem(
        id="gpu.amd-container-without-gpu",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="A container started without the AMD GPU",
        message="{gpus}, but /dev/kfd is not in this {container} container: it was started "
        "without the GPU",
        cause="AMD GPUs are passed into a container as device files: /dev/kfd (compute) and "
        "/dev/dri (one render node per GPU). The host's /sys shows the GPUs; the devices "
        "were not passed.",
        fix="docker run --device=/dev/kfd --device=/dev/dri --group-add video ...  # Podman "
        "takes the same flags",
    ),
    Problem(
        id="gpu.amd-pod-without-gpu",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="A Kubernetes pod without the AMD GPU",
        message="{gpus}, but /dev/kfd is not in this pod: it did not request a GPU",
        cause="AMD's device plugin gives GPUs only to containers that list the `amd.com/gpu` "
        "resource.",
        fix="request the GPU in the pod spec (resources.limits: amd.com/gpu: 1)",
    ),
    Problem(
        id="gpu.amd-no-permission",
        commands=DOCTOR,
        area="GPU and driver",
        levels=("warn",),
        title="No permission to use the AMD GPU",
        message="not allowed to open {path} (group {group}): ROCm and torch see no AMD GPU",
        cause="ROCm opens /dev/kfd and the GPU's /dev/dri/renderD* node; both belong to a group "
        "(render, on some systems video) your user is not in.",
        fix="sudo usermod -aG {group} $USER  # then log out and in again",
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
        id="torch.rocm-without-gpu",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("warn",),
        title="A ROCm torch on a machine without a usable AMD GPU",
        message="{label}, but no AMD GPU is usable here: it runs on the CPU and carries "
        "gigabytes of ROCm libraries",
        cause="The ROCm build of torch works on the CPU, but brings several GB of ROCm "
        "libraries for nothing.",
        fix="chatenv install local --torch cpu{python_option}",
    ),
    Problem(
        id="torch.rocm-no-kernels",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("fail", "warn"),
        title="The ROCm torch has no kernels for this AMD GPU",
        message="torch {version} has no kernels for {gpus} (it ships {arches}): GPU calls "
        "fail with 'HIP error: invalid device function'",
        cause="PyTorch's ROCm wheels carry kernels for a list of GPU architectures (gfx "
        "names); consumer cards outside it (an RX 6700 XT is gfx1031, the list has gfx1030) "
        "are not supported. HSA_OVERRIDE_GFX_VERSION makes ROCm run a close sibling's "
        "kernels, the usual workaround for such cards.",
        fix="export HSA_OVERRIDE_GFX_VERSION={override}  # runs the {sibling} kernels; add it "
        "to your shell profile",
    ),
    Problem(
        id="torch.rocm-some-gpus-no-kernels",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("warn",),
        title="The ROCm torch has kernels for some of the AMD GPUs only",
        message="torch {version} has no kernels for {gpus} (it ships {arches}); the other AMD "
        "GPUs run it",
        cause="A machine with two kinds of AMD GPU (a Ryzen CPU's integrated Radeon beside a "
        "Radeon or Instinct card) gets kernels for the one in PyTorch's list only; work sent "
        "to the other fails with 'HIP error: invalid device function'. "
        "HSA_OVERRIDE_GFX_VERSION would apply to every GPU, so hide the unsupported one "
        "instead.",
        fix="export HIP_VISIBLE_DEVICES={indices}  # only the GPUs torch has kernels for",
    ),
    Problem(
        id="torch.rocm-no-build-runs",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("fail", "warn"),
        title="No ROCm build of torch has kernels for this AMD GPU",
        message="torch {version} has no kernels for {gpus} (it ships {arches}): GPU calls "
        "fail with 'HIP error: invalid device function'",
        cause="The GPU's architecture, and every sibling of its family, is outside the list "
        "PyTorch's ROCm wheels are built for.",
        fix="chatenv install local --torch cpu{python_option}  # no ROCm build of torch has "
        "kernels for this GPU",
    ),
    Problem(
        id="torch.rocm-arches-unknown",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("skip",),
        title="chatenv cannot read this ROCm build's GPU architectures",
        message="ROCm {hip} build: chatenv cannot read which GPUs it has kernels for",
        cause="PyTorch's ROCm wheels keep the rocBLAS kernel files of their architectures in "
        "torch/lib/rocblas/library; this torch has no such folder (a build from another "
        "source), so `--deep` asks torch itself.",
        fix="chatenv doctor --deep  # asks torch itself",
    ),
    Problem(
        id="torch.cpu-build-with-amd-gpu",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("warn",),
        title="A CPU-only torch on a machine with an AMD GPU",
        message="{label} on a machine with {gpus}: torch will not use them",
        cause="The CPU build of torch has no ROCm support, so the AMD GPU sits idle. The fix "
        "installs the ROCm build of the pinned torch release.",
        fix="chatenv install local --torch {variant}{python_option}",
    ),
    Problem(
        id="torch.cuda-build-on-amd",
        commands=("doctor", "install"),
        area="PyTorch build",
        levels=("warn",),
        title="A CUDA torch on a machine whose GPUs are AMD's",
        message="{label} on a machine with {gpus} and no NVIDIA GPU: it cannot use them and "
        "carries gigabytes of CUDA libraries",
        cause="CUDA builds run on NVIDIA GPUs only; AMD GPUs need the ROCm build.",
        fix="chatenv install local --torch {variant}{python_option}",
    ),
    Problem(
        id="torch.mps-rosetta",
        commands=DOCTOR,
        area="PyTorch build",
        levels=("warn",),
        title="torch under Rosetta on Apple silicon",
        message="{label} runs in an x86_64 Python under Rosetta: an Intel Mac build, whose MPS "
        "checks see the wrong macOS version",
        cause="See 'An x86_64 Python on Apple silicon' above: MPS wants an arm64 Python and "
        "the macOS arm64 torch wheel (PyTorch stopped Intel Mac builds after 2.2).",
        fix="uv venv --python cpython-{version}-macos-aarch64-none .venv  # an arm64 Python; "
        "then . .venv/bin/activate and: chatenv install local",
    ),
    Problem(
        id="torch.mps-macos-too-old",
        commands=DOCTOR,
        area="PyTorch build",
        levels=("warn",),
        title="macOS too old for this torch's MPS",
        message="{label} enables MPS on macOS {needs} or newer; this Mac runs macOS {macos}, "
        "so torch runs on the CPU",
        cause="Each torch release needs a minimum macOS for MPS: 12.3 up to 2.4, 13.0 from "
        "2.5, 14.0 (Sonoma) from 2.10. On an older macOS `torch.backends.mps.is_built()` is "
        "True and `is_available()` False (pytorch/pytorch#78343).",
        fix="softwareupdate --list  # upgrade to macOS {needs} or newer for MPS; torch still "
        "runs on the CPU meanwhile",
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
    # -- doctor: compiled extensions around torch ---------------------------------------------
    Problem(
        id="extensions.glibc",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="A compiled package needs a newer glibc than this system has",
        message="{name} needs glibc {needed} ({where}); this system has glibc {system}",
        cause="Every shared object names the newest glibc symbol version it calls (`GLIBC_2.34` "
        "in its `.gnu.version_r`), and a wheel's `manylinux_2_XX` tag promises the oldest glibc "
        "it runs on. The loader refuses an object that needs more than the system has: "
        "`version 'GLIBC_2.34' not found`. The tag can understate it (a `manylinux_2_31` vLLM "
        "wheel that calls GLIBC_2.34 symbols, vllm-project/vllm#41103), so the symbols decide; "
        "and a wheel can arrive on an older system by a copied environment, `--platform`, or a "
        "container built elsewhere. `ldd --version` shows this system's glibc.",
        fix="run {package} on a system or container image with glibc {needed} or newer, or "
        "install a {package} release built for glibc {system}",
    ),
    Problem(
        id="extensions.backend",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="A CUDA (or ROCm) build of a package beside a torch without it",
        message="{name} is a {built} build ({evidence}), but {torch} is a {torch_kind} build: "
        "importing it fails",
        cause="Its shared objects link CUDA's libraries or torch's CUDA part "
        "(`libtorch_cuda.so`, `libc10_cuda.so`), or its label or build file says CUDA "
        "(`+cu130`), while the installed torch has none: the import stops at a missing library, "
        "or, for torchvision, at 'operator torchvision::nms does not exist'. PyPI's Linux "
        "torchvision is such a CUDA build. The fix installs the build made for the installed "
        "torch: for torchvision and torchaudio the exact release from PyTorch's index for "
        "torch's variant, for packages whose wheels pin torch (vLLM, xformers) the release whose "
        "pin fits, for packages built at install time (flash-attn, apex, mamba-ssm) a rebuild "
        "with `--no-build-isolation`.",
        fix="{install}",
    ),
    Problem(
        id="extensions.cuda-major",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="A package built for another CUDA major than torch",
        message="{name} is built for {built} ({evidence}), but {torch} uses CUDA {torch_cuda}: "
        "its kernels need a second CUDA runtime, and importing it usually fails",
        cause="A CUDA runtime's soname carries its major version (`libcudart.so.12`), and so do "
        "the labels of CUDA builds (`+cu126`, flash-attn's `+cu12torch2.6...`). A package built "
        "for CUDA 12 beside a CUDA 13 torch needs libraries torch does not bring and cannot "
        "share torch's CUDA state; it fails to import ('libcudart.so.12: cannot open shared "
        "object file'), or two runtimes end up in one process. The fix installs its build for "
        "torch's CUDA (see the entry above for how each kind of package is replaced).",
        fix="{install}",
    ),
    Problem(
        id="extensions.torch-mismatch",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="A package built for another torch",
        message="{name} is built for torch {wanted} ({evidence}), but {torch} is installed: "
        "importing it fails with 'undefined symbol' or missing operators",
        cause="C++ extensions link torch's C++ API, which changes with every release: one built "
        "for another torch fails with `undefined symbol: _ZN3c10...` (flash-attn after a torch "
        "upgrade, Dao-AILab/flash-attention#931; vLLM's `_C.abi3.so`, vllm-project/vllm#5501), "
        "or 'xFormers was built for: PyTorch X ... (you have Y)' (facebookresearch/xformers#982), "
        "or 'operator torchvision::nms does not exist'. The torch it was built for is read from "
        "its metadata (`Requires-Dist: torch==2.13.0`), its version label (`+cu12torch2.6`, "
        "`+pt25cu124`, also in `direct_url.json`) or its build file (xformers' `cpp_lib.json`, "
        "DeepSpeed's `git_version_info_installed.py`).",
        fix="{install}",
    ),
    Problem(
        id="extensions.cxx11-abi",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="A package built with the other C++ ABI than torch",
        message="{name} is built with the {abi} ({evidence}); {torch} uses the {torch_abi}: "
        "importing it fails with 'undefined symbol'",
        cause="GCC's `_GLIBCXX_USE_CXX11_ABI` changes how `std::string` is named in every "
        "symbol, so a package built with the other setting cannot find torch's functions. "
        "flash-attn publishes both (`cxx11abiTRUE` / `cxx11abiFALSE` in the wheel's label); "
        "torch's own setting is read from the names its libc10.so exports.",
        fix="{install}",
    ),
    Problem(
        id="extensions.cpu-build",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("warn",),
        title="A CPU-only build of a package beside a CUDA torch",
        message="{name} is a CPU-only build ({evidence}) beside {torch} ({torch_kind}): its "
        "operators run on the CPU only",
        cause="It imports, but its compiled operators have no GPU kernels: calling one on a CUDA "
        "tensor fails with \"Could not run 'torchvision::nms' with arguments from the 'CUDA' "
        'backend".',
        fix="{install}",
    ),
    Problem(
        id="extensions.bnb-no-library",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="bitsandbytes has no library for torch's CUDA version",
        message="bitsandbytes {version} has no library for torch's {backend} {wanted} (it ships "
        "{backend} {shipped})",
        cause="bitsandbytes loads `libbitsandbytes_cuda<version>.so` for the CUDA version torch "
        "was built with; from 0.50.0 it falls back to another minor of the same major, before "
        "that only the exact one. Without one, its CUDA setup fails and 8-bit/4-bit layers do "
        "not work.",
        fix="{install}",
    ),
    Problem(
        id="extensions.bnb-override",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="BNB_CUDA_VERSION names a library bitsandbytes does not ship",
        message="{variable}={value} makes bitsandbytes {version} load "
        "libbitsandbytes_{prefix}{value}, which it does not ship (it ships {shipped})",
        cause="`BNB_CUDA_VERSION` (`BNB_ROCM_VERSION`) overrides bitsandbytes' choice of "
        "library, with no fallback: a version it has no library for makes its CUDA setup fail.",
        fix="unset {variable}",
    ),
    Problem(
        id="extensions.triton",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="Triton is not the release torch was built with",
        message="{torch} requires {requirement}, but {name} is installed: torch.compile and "
        "Triton kernels fail",
        cause="Each torch release pins the Triton it generates kernels for (`Requires-Dist: "
        "triton~=3.8.0` in torch's metadata); another Triton (often pulled in by another "
        "package) fails inside `torch.compile` with import or attribute errors.",
        fix="{install}",
    ),
    Problem(
        id="extensions.stale-build",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("warn",),
        title="A package built against libtorch, older than the installed torch",
        message="{name} is built against libtorch, says nothing of which torch, and {torch} was "
        "installed after it: if it was built against the earlier torch, importing it fails "
        "with 'undefined symbol'",
        cause="Packages built at install time (flash-attn, apex, causal-conv1d, mamba-ssm) "
        "record nothing of the torch they were compiled against. When torch's metadata is "
        "newer than theirs, torch was replaced after they were built, which is how flash-attn's "
        "`undefined symbol` after a torch upgrade happens (Dao-AILab/flash-attention#931, "
        "#853). `chatenv doctor --deep` imports it and tells for sure. The fix rebuilds it "
        "against the installed torch (`--no-cache-dir`: pip's cache would hand back the old "
        "build).",
        fix="{install}",
    ),
    Problem(
        id="extensions.unreadable",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("warn",),
        title="A package's shared objects cannot be read",
        message="{name}: {count} of its shared objects cannot be read ({error})",
        cause="A file its RECORD lists is missing, unreadable or not a valid ELF file: a "
        "damaged or half-removed install.",
        fix="{install}",
    ),
    Problem(
        id="extensions.cuda-runtimes",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("warn",),
        title="Two CUDA runtimes in one environment, one of them unused",
        message="{count} CUDA runtimes in one environment: {runtimes}",
        cause="NVIDIA's runtime wheel of another CUDA major than torch's is installed "
        "(nvidia-cuda-runtime-cu12 beside a CUDA 13 torch) and nothing installed requires it: "
        "left behind by a package that was built for the other CUDA. Anything that finds it "
        "first loads a second CUDA runtime into the process.",
        fix="{python_command} -m pip uninstall -y {wheels}  # nothing installed requires them",
    ),
    Problem(
        id="extensions.cuda-runtimes-required",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("warn",),
        title="Two CUDA runtimes in one environment",
        message="{count} CUDA runtimes in one environment: {runtimes}",
        cause="Besides torch's CUDA runtime, a package (CuPy, ONNX Runtime, a runtime wheel "
        "another package requires) brings one of another major. Used in one process they keep "
        "separate CUDA states: tensors cannot be shared between them without copies, and "
        "version errors appear when a library meant for one finds the other. Install their "
        "builds for torch's CUDA version where they have one (`cupy-cuda13x`).",
    ),
    Problem(
        id="extensions.import-timeout",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="Importing a package took too long (--deep)",
        message="importing {module} did not finish within {timeout:g}s",
        cause="`--deep` imports each compiled package in a child process, after torch, with a "
        "time limit; this one hung (CUDA initialisation at import, a lock, a very slow disk).",
        fix="python -c 'import torch, {module}'  # shows where it hangs",
    ),
    Problem(
        id="extensions.import-crashed",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="Importing a package killed the process (--deep)",
        message="importing {module} killed the process ({why})",
        cause="A segmentation fault or an abort while its shared objects load: typically two "
        "incompatible copies of a library (a second CUDA runtime, another libstdc++) or a build "
        "for another torch.",
        fix="python -c 'import torch, {module}'  # shows the full error",
    ),
    Problem(
        id="extensions.import-undefined-symbol",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="Importing a package fails: undefined symbol (--deep)",
        message="import {module} fails: undefined symbol {symbol}: {name} was built against "
        "another torch (or CUDA)",
        cause="Its shared object calls a function the loaded torch does not have: it was "
        "compiled against another torch release, C++ ABI or CUDA version.",
        fix="{install}",
    ),
    Problem(
        id="extensions.import-missing-library",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="Importing a package fails: a shared library is missing (--deep)",
        message="import {module} fails: {library} cannot be found",
        cause="It links a library nothing installed provides: torch's CUDA part "
        "(`libtorch_cuda.so`) beside a CPU-only torch, or the CUDA runtime of another major "
        "(`libcudart.so.12` beside a CUDA 13 torch).",
        fix="{install}",
    ),
    Problem(
        id="extensions.import-operator-missing",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="Importing a package fails: its operators do not exist (--deep)",
        message="import {module} fails: {error}: its compiled operators did not load (a build "
        "for another torch or CUDA)",
        cause="The package registers its operators from a shared object that did not load "
        "(torchvision swallows that error and then fails at 'operator torchvision::nms does not "
        "exist').",
        fix="{install}",
    ),
    Problem(
        id="extensions.import-no-kernels",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="Importing a package fails: no kernel image for this GPU (--deep)",
        message="import {module} fails: no kernel image is available for this GPU: {name} was "
        "built without its architecture",
        cause="It ran a CUDA kernel while importing and its build has no code for this GPU's "
        "compute capability (a build for newer GPUs, or a source build whose "
        "TORCH_CUDA_ARCH_LIST left it out).",
        fix="{install}",
    ),
    Problem(
        id="extensions.import-glibc",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="Importing a package fails: glibc too old (--deep)",
        message="import {module} fails: {error}",
        cause="One of its shared objects needs a newer glibc than this system has (see the "
        "first entry of this part).",
        fix="run it on a system or container image with the glibc the error names, or install "
        "a release built for this one",
    ),
    Problem(
        id="extensions.import-failed",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("fail",),
        title="Importing a package fails (--deep)",
        message="import {module} fails: {error}",
        cause="It is installed, but raises on import for a reason chatenv does not classify; the "
        "line quotes the error (`--verbose` shows it whole).",
        fix="{install}",
    ),
    Problem(
        id="extensions.import-degraded",
        commands=DOCTOR,
        area="Compiled extensions",
        levels=("warn",),
        title="A package imports, but its compiled part did not load (--deep)",
        message="import {module} works, but its compiled part did not load: {warning}",
        cause="Some packages catch the failure to load their shared objects and only warn: "
        "xformers (\"xFormers can't load C++/CUDA extensions. xFormers was built for: PyTorch "
        "...\"), torchvision's image decoders. Their fast paths are then missing or fail later.",
        fix="{install}",
    ),
    # -- doctor: what really loads ------------------------------------------------------------
    Problem(
        id="loading.shadowed-here",
        commands=DOCTOR,
        area="What loads",
        levels=("warn",),
        title="A package in the current folder hides the installed one",
        message="{module} imports from {first}, which hides {others}",
        cause="`python -c`, `python -m`, notebooks and scripts started here put the current "
        "folder first on sys.path, so a `torch/` (or `transformers/`, or `requests.py`) here is "
        "what `import` finds: a source checkout, or a file named like a package. torch then "
        "fails with 'You appear to have a torch source directory ...' or missing modules.",
        fix="run Python from another folder, or rename ./{module}: `python -c`, `python -m` and "
        "scripts started here import it first",
    ),
    Problem(
        id="loading.shadowed-pythonpath",
        commands=DOCTOR,
        area="What loads",
        levels=("warn",),
        title="A copy on PYTHONPATH hides the installed package",
        message="{module} imports from {first}, which hides {others}",
        cause="PYTHONPATH's folders come before site-packages on sys.path, so a copy there wins "
        "over the one pip installed and upgrades.",
        fix="{export}",
    ),
    Problem(
        id="loading.shadowed-user-site",
        commands=DOCTOR,
        area="What loads",
        levels=("warn",),
        title="A copy in the user site (~/.local) hides the environment's",
        message="{module} imports from {first}, which hides {others}",
        cause="`pip install --user` puts packages in ~/.local/lib/pythonX.Y/site-packages, which "
        "a conda or system Python searches before its own site-packages: a torch installed "
        "there once shadows the environment's own.",
        fix="{python_command} -m pip uninstall -y {dist}  # removes the user-site copy, the "
        "first one; or: export PYTHONNOUSERSITE=1",
    ),
    Problem(
        id="loading.shadowed",
        commands=DOCTOR,
        area="What loads",
        levels=("warn",),
        title="Two installed copies of one package",
        message="{module} imports from {first}, which hides {others}",
        cause="Two folders on sys.path both hold the package (another site-packages folder, a "
        "folder a `.pth` file adds): the first one imports, while pip may upgrade the other.",
        fix="{python_command} -m pip uninstall -y {dist}  # removes the copy in {folder}, the "
        "first one",
    ),
    Problem(
        id="loading.shadowed-bare",
        commands=DOCTOR,
        area="What loads",
        levels=("warn",),
        title="A copy without metadata hides the installed package",
        message="{module} imports from {first}, which hides {others}",
        cause="The first copy on sys.path has no dist-info beside it, so pip neither knows nor "
        "removes it (a folder copied in by hand, a build tree).",
        fix="mv {path} {path}.disabled  # pip does not know this copy",
    ),
    Problem(
        id="loading.conda-and-pip",
        commands=DOCTOR,
        area="What loads",
        levels=("fail", "warn"),
        title="torch installed by both conda and pip",
        message="conda's {conda} and torch {pip} installed by {installer} share {prefix}: each "
        "overwrote the other's files",
        cause="conda's `conda-meta` records a pytorch package in this environment, while torch's "
        "metadata says another installer put it there. The two write the same files; the mix "
        "fails in odd ways (huggingface/transformers#29022), and conda may restore its own "
        "files at the next `conda install`. A failure when the versions differ. The fix keeps "
        "pip's torch: it removes conda's record without touching its dependencies, then "
        "rewrites pip's files.",
        fix="conda remove -y --force-remove {names} && {python_command} -m pip install "
        "--force-reinstall --no-deps {requirement}",
    ),
    Problem(
        id="loading.library-missing",
        commands=DOCTOR,
        area="What loads",
        levels=("fail",),
        title="A CUDA library torch needs is nowhere",
        message="torch needs {soname} and it is nowhere: not in its own folders ({folders}), "
        "LD_LIBRARY_PATH, ld.so.cache or the system's library folders",
        cause="PyPI's CUDA torch takes cuDNN, NCCL, cuBLAS and the CUDA runtime from nvidia-* "
        "wheels it requires; one was uninstalled, or torch was installed with `--no-deps`. "
        "`import torch` fails with 'cannot open shared object file'.",
        fix="{install}",
    ),
    Problem(
        id="loading.library-from-ld-path",
        commands=DOCTOR,
        area="What loads",
        levels=("fail", "warn"),
        title="torch loads a CUDA library from LD_LIBRARY_PATH",
        message="torch loads {soname} from {path} ({version}) through LD_LIBRARY_PATH, not its "
        "own ({own})",
        cause="A torch whose libraries carry a DT_RUNPATH (conda's, a source build; an older "
        "PyPI one) or whose own copy is missing searches LD_LIBRARY_PATH first, so a CUDA "
        "toolkit's copy there replaces the one torch was built with: 'cuDNN version "
        "incompatibility: PyTorch was compiled against X but found runtime version Y' "
        "(pytorch/pytorch#80637), CUDNN_STATUS errors, NCCL hangs. A warning when both are "
        "the same version.",
        fix="{export}",
    ),
    Problem(
        id="loading.library-from-system",
        commands=DOCTOR,
        area="What loads",
        levels=("fail", "warn"),
        title="torch's own copy of a CUDA library is missing, the system's loads",
        message="torch loads {soname} from {path} ({version}, found through {via}): its own "
        "({own}) is missing",
        cause="The nvidia-* wheel that holds torch's copy is not installed, so the loader falls "
        "back to the system's copy from /etc/ld.so.cache: another version than torch was built "
        "with. A warning when both are the same version.",
        fix="{install}",
    ),
    Problem(
        id="loading.library-shadowed",
        commands=DOCTOR,
        area="What loads",
        levels=("warn",),
        title="LD_LIBRARY_PATH holds another version of a CUDA library torch uses",
        message="LD_LIBRARY_PATH holds another {soname} ({path}, {version}) than torch's own "
        "({own}): libraries without torch's RPATH load that one",
        cause="torch itself finds its own copy first (PyPI's torch links with a DT_RPATH, "
        "searched before LD_LIBRARY_PATH), but what its libraries load in turn does not: "
        "cuDNN's sub-libraries, cuBLAS's libcublasLt and cuSPARSE's nvJitLink carry only a "
        "RUNPATH, so LD_LIBRARY_PATH wins for them (pytorch/pytorch#138460, #145580), and so "
        "it does for an extension built against a system CUDA. Two versions of one library "
        "then meet in one process.",
        fix="{export}",
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
    Problem(
        id="deep.rocm-no-gpu",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("warn",),
        title="torch.cuda.is_available() is False: a ROCm torch finds no AMD GPU",
        message="torch.cuda.is_available() is False: this ROCm build of torch finds no AMD GPU "
        "it can open{mps}",
        cause="ROCm opens /dev/kfd and the GPU's /dev/dri/renderD* node: they are missing (a "
        "container started without them, no AMD GPU) or not readable and writable by you "
        "(the render group). The GPU section says which.",
        fix="ls -l /dev/kfd /dev/dri/render*  # ROCm needs both, readable and writable by you",
    ),
    Problem(
        id="deep.rocm-gpu-no-kernels",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("fail",),
        title="An operation on an AMD GPU fails: invalid device function",
        message="cuda:{index} {name}: a 256x256 matmul failed: {error}",
        cause="torch's ROCm build has no kernels for this GPU's gfx target.",
        fix="chatenv doctor  # its PyTorch section names the HSA_OVERRIDE_GFX_VERSION or "
        "HIP_VISIBLE_DEVICES that fixes it",
    ),
    Problem(
        id="deep.mps-not-built",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("warn",),
        title="MPS: torch was built without it",
        message="torch.backends.mps.is_built() is False: torch {version} was built without MPS",
        cause="Every macOS arm64 wheel on PyPI has MPS; this torch came from elsewhere (an "
        "x86_64 wheel, a source build without USE_MPS).",
        fix="chatenv install local  # the macOS arm64 wheel from PyPI has MPS",
    ),
    Problem(
        id="deep.mps-rosetta",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("warn",),
        title="MPS is not available: Rosetta",
        message="torch.backends.mps.is_available() is False: this Python is x86_64 and runs "
        "under Rosetta on Apple silicon",
        cause="An x86_64 torch (the last is 2.2) under Rosetta: its MPS checks see the macOS "
        "version the translated process is told (pytorch/pytorch#146236), not the real one.",
        fix="uv venv --python cpython-{version}-macos-aarch64-none .venv  # an arm64 Python; "
        "then . .venv/bin/activate and: chatenv install local",
    ),
    Problem(
        id="deep.mps-macos-too-old",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("warn",),
        title="MPS is not available: macOS too old",
        message="torch.backends.mps.is_available() is False: torch {version} needs macOS "
        "{needs} or newer for MPS, this Mac runs {macos}",
        cause="MPS is built in but this torch release refuses older macOS versions "
        "(pytorch/pytorch#78343, #139425, #164943).",
        fix="softwareupdate --list  # upgrade to macOS {needs} or newer",
    ),
    Problem(
        id="deep.mps-unavailable",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("warn",),
        title="MPS is built but not available",
        message="torch.backends.mps.is_available() is False although MPS is built in: {reason}",
        cause="The Mac, its macOS and this Python look right, but Metal gives torch no device: "
        "a macOS virtual machine (hw.model VirtualMac: CI runners) or a macOS release newer "
        "than this torch knows (pytorch/pytorch#167679). The line quotes torch's own words.",
        fix="python -c \"import torch; torch.ones(1, device='mps')\"  # torch's full error",
    ),
    Problem(
        id="deep.mps-op-failed",
        commands=DOCTOR,
        area="PyTorch, imported (--deep)",
        levels=("fail",),
        title="An operation on the Apple GPU fails",
        message="mps {name}: a 256x256 matmul failed: {error}",
        cause="MPS is available but a 256x256 matrix product on it raised or gave a wrong result.",
        fix="python -c \"import torch; print(torch.ones(2, device='mps') * 2)\"  # the full error",
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
        cause="The `.env` file exists but is a folder, a pipe or a device, too large, "
        "unreadable, or not UTF-8 (see the `env-file.*` entries for each), so `load_dotenv()` "
        "will not get the key from it. The fix is that entry's.",
        fix="{fix}",
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
    # -- doctor: Hugging Face access ---------------------------------------------------------
    Problem(
        id="hf.no-token",
        commands=DOCTOR,
        area="Hugging Face access",
        levels=("skip",),
        title="No Hugging Face token",
        message="no Hugging Face token: public models download, gated and private ones cannot",
        cause="Neither HF_TOKEN (nor the older HUGGING_FACE_HUB_TOKEN) in the environment or in "
        "the `.env` file, nor the token file `hf auth login` writes (HF_TOKEN_PATH, else "
        "`$HF_HOME/token`), holds a token. Public models such as gpt2 need none; a gated model "
        "(Llama, Gemma, ...) needs the token of an account the model's authors let in. "
        "configure-key stores one in `.env` as HF_TOKEN (hidden, verified, mode 0600).",
        fix="chatenv configure-key --hf  # a token from https://huggingface.co/settings/tokens",
    ),
    Problem(
        id="hf.token-shape",
        commands=DOCTOR,
        area="Hugging Face access",
        levels=("warn",),
        title="A Hugging Face token that does not start with hf_",
        message="token {masked} from {where} does not start with hf_, as Hugging Face tokens do "
        "(used anyway)",
        cause="User access tokens start with `hf_`. Another value there is often a pasted "
        "password, an OpenAI key in the wrong variable, or a token with quotes around it; the "
        "hub's answer below (`hf.whoami`) says whether it accepts it.",
        fix="check it at https://huggingface.co/settings/tokens, then: chatenv configure-key --hf",
    ),
    Problem(
        id="hf.token-conflict",
        commands=("doctor", "configure-key"),
        area="Hugging Face access",
        levels=("warn",),
        title="Two different Hugging Face tokens",
        message="{other} holds another token ({other_masked}); the one from {where} is used",
        cause="huggingface_hub sends HF_TOKEN from the environment, else HUGGING_FACE_HUB_TOKEN, "
        "else the token file of `hf auth login`; code that calls `load_dotenv()` first also has "
        "the `.env` file's HF_TOKEN, unless the environment sets the variable. A token logged in "
        "with `hf auth login` is therefore ignored while HF_TOKEN is set (huggingface_hub warns "
        "so too). Remove the one you do not mean.",
    ),
    Problem(
        id="hf.implicit-token-disabled",
        commands=DOCTOR,
        area="Hugging Face access",
        levels=("warn",),
        title="HF_HUB_DISABLE_IMPLICIT_TOKEN keeps the token from being sent",
        message="HF_HUB_DISABLE_IMPLICIT_TOKEN is set: huggingface_hub sends the token only where "
        "code passes token=..., so transformers downloads gated models without it",
        cause="With this variable set, huggingface_hub no longer adds the stored token to its "
        "requests; `from_pretrained(...)` without `token=` then downloads anonymously and a "
        "gated or private model is refused.",
        fix="unset HF_HUB_DISABLE_IMPLICIT_TOKEN",
    ),
    Problem(
        id="hf.token-rejected",
        commands=DOCTOR,
        area="Hugging Face access",
        levels=("fail",),
        title="The hub refuses the Hugging Face token",
        message="{endpoint} refused the token {masked} from {where} ({reason}): it is revoked, "
        "expired or mistyped, and the hub then refuses every download, public models too",
        cause="The hub answers 401 `Invalid credentials in Authorization header` to a token it "
        "does not know, on every request that carries it, so even gpt2 fails to download while "
        "it is set. Make a new token and put it where this one comes from: for HF_TOKEN in the "
        "environment, unset it (and change it where it is exported: a shell profile, CI "
        "secrets) so that the `.env` file's counts; for the token file, log in again.",
        fix="create a new token at {endpoint}/settings/tokens, then: {store}",
    ),
    Problem(
        id="hf.token-unverified",
        commands=DOCTOR,
        area="Hugging Face access",
        levels=("warn",),
        title="The Hugging Face token could not be checked",
        message="token {masked} not checked: {endpoint} did not answer ({reason})",
        cause="The hub did not answer `GET /api/whoami-v2` (no network, a proxy, a timeout, a "
        "5xx), or rate-limited it (whoami is rate-limited strictly). Nothing was learnt about the "
        "token; the network section says whether the hub is reachable.",
    ),
    Problem(
        id="hf.model-needs-token",
        commands=DOCTOR,
        area="Hugging Face access",
        levels=("fail", "warn"),
        title="A gated model, and no token",
        message="{model} is gated on {endpoint}: downloading it needs the token of an account "
        "with access, and none is sent{cached}",
        cause="The model's authors let in only the accounts they approved: the hub answers 401 "
        "`GatedRepo` to a download without a token. Request access on the model's page (signed "
        "in), then store that account's token. A warning when the cache holds the model (it "
        "loads from there).",
        fix="request access at {page}, then: chatenv configure-key --hf",
    ),
    Problem(
        id="hf.model-token-not-sent",
        commands=DOCTOR,
        area="Hugging Face access",
        levels=("fail", "warn"),
        title="A gated model, and the token is not sent",
        message="{model} is gated on {endpoint}, and HF_HUB_DISABLE_IMPLICIT_TOKEN keeps the "
        "token from being sent{cached}",
        cause="A token is set, but HF_HUB_DISABLE_IMPLICIT_TOKEN makes huggingface_hub download "
        "without it unless the code passes `token=`, and the hub refuses a gated model to an "
        "anonymous download.",
        fix="unset HF_HUB_DISABLE_IMPLICIT_TOKEN",
    ),
    Problem(
        id="hf.model-denied",
        commands=DOCTOR,
        area="Hugging Face access",
        levels=("fail", "warn"),
        title="A gated model this token's account may not read",
        message="{model} is gated on {endpoint} and {who} is not on its authorized list{cached}",
        cause='The hub answers 403 `GatedRepo` ("you are not in the authorized list"): the '
        "account has not asked for access, or its request was declined. Access is per account: "
        "request it signed in as the account the token belongs to (`hf.whoami` names it).",
        fix="request access at {page}",
    ),
    Problem(
        id="hf.model-pending",
        commands=DOCTOR,
        area="Hugging Face access",
        levels=("fail", "warn"),
        title="A gated model whose access request awaits review",
        message="{model} is gated on {endpoint}: your request for access awaits the authors' "
        "review{cached}",
        cause='The hub answers 403 `GatedRepo` ("awaiting a review from the repo authors"): '
        "models gated with manual approval are readable once the authors accept the request. "
        "Your requests and their state are listed under the hub's settings.",
        fix="see your requests at {endpoint}/settings/gated-repos",
    ),
    Problem(
        id="hf.model-not-found",
        commands=DOCTOR,
        area="Hugging Face access",
        levels=("fail", "warn"),
        title="No such model on the hub",
        message="{endpoint} has no model named {model} (or it is private and this token cannot "
        "see it){cached}",
        cause="The hub answers 404 (or 401) `RepoNotFound` for a model that does not exist and, "
        "alike, for a private one the token may not read. A typo in the id is the usual cause.",
        fix="check the spelling (e.g. gpt2, openai-community/gpt2); for a private model, store a "
        "token with access: chatenv configure-key --hf",
    ),
    Problem(
        id="hf.model-token-refused",
        commands=DOCTOR,
        area="Hugging Face access",
        levels=("skip",),
        title="The model was not checked: the token is refused",
        message="{model} not checked: the hub refuses the token itself (hf.whoami)",
        cause="The hub refused the token on the model's page as on every request; the "
        "`hf.token-rejected` entry has the fix.",
    ),
    Problem(
        id="hf.model-unverified",
        commands=DOCTOR,
        area="Hugging Face access",
        levels=("warn",),
        title="The model's access could not be checked",
        message="{model} not checked: {endpoint} did not answer ({reason})",
        cause="The hub did not answer the model's metadata or access check (no network, a "
        "proxy, a timeout, a 5xx); nothing was learnt. The network section says whether the hub "
        "is reachable.",
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
        fix="git rm --cached {quoted_path} && {ignore} && "
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
        fix="{ignore}",
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
    Problem(
        id="network.api-key-refused",
        commands=DOCTOR,
        area="Network",
        levels=("fail",),
        title="The server refused the key (doctor's GET /models)",
        message="GET /models at {url} with key {masked}: {reason}",
        cause="With a key set and without `--offline`, doctor makes one request that costs no "
        "tokens (`GET /models`, no retries) and the server said no. The line is the API "
        "failure's own (see the entries under The OpenAI API), for the server that answered.",
        fix="{api_fix}",
    ),
    Problem(
        id="network.api-key-unverified",
        commands=DOCTOR,
        area="Network",
        levels=("warn",),
        title="doctor could not learn whether the key is accepted",
        message="GET /models at {url} with key {masked} says nothing of the key: {reason}",
        cause="doctor's `GET /models` got no answer that says anything about the key: a "
        "timeout, a server error, a page that is not the API, or a server without "
        "`GET /models`.",
        fix="{api_fix}",
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
        id="api.azure-deployment-url",
        commands=("doctor", *API),
        area="Before any request",
        levels=("fail",),
        title="OPENAI_BASE_URL is Azure's per-deployment URL",
        message="OPENAI_BASE_URL is Azure's per-deployment URL ({url}): the openai client "
        "cannot call it",
        cause="`https://RESOURCE.openai.azure.com/openai/deployments/NAME?api-version=...` is "
        "the URL of the older `AzureOpenAI` client. The plain client puts /chat/completions "
        "after it, sends no `api-version` and no `api-key` header, and Azure answers 401 or "
        "404. Azure's v1 API takes the plain client with the base URL "
        "`https://RESOURCE.openai.azure.com/openai/v1/` and the deployment as the model.",
        fix="export OPENAI_BASE_URL={v1_url}  # then pass the deployment as the model: "
        "--api-model {deployment}",
    ),
    Problem(
        id="api.invalid-key",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="The key was rejected (401)",
        message="the API key was rejected (401): it is wrong, revoked or deleted{said}",
        cause="OpenAI does not accept the key: a typo, a key that was revoked or deleted, or a "
        "key of another server.",
        fix="create a new key at {KEYS_PAGE}, then: chatenv configure-key",
    ),
    Problem(
        id="api.invalid-key-azure",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="Azure OpenAI refused the key (401)",
        message="Azure OpenAI refused the key (401){said}",
        cause="Azure answers 401 `Access denied due to invalid subscription key or wrong API "
        "endpoint` to a key of another resource, a key that was regenerated, or a base URL of "
        "another resource than the key's.",
        fix="copy KEY 1 from your resource's Keys and Endpoint page in the Azure portal, then: "
        "chatenv configure-key",
    ),
    Problem(
        id="api.invalid-key-litellm",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="The LiteLLM proxy refused the key",
        message="the LiteLLM proxy refused the key ({status}){said}",
        cause="The proxy accepts its master key and the virtual keys it issued; this key is "
        "neither, or it expired or was blocked.",
        fix="use the proxy's master key (general_settings.master_key in its config.yaml) or a "
        "virtual key it issued (POST /key/generate), then: chatenv configure-key",
    ),
    Problem(
        id="api.litellm-no-database",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="The LiteLLM proxy has no database to check the key in (400 no_db_connection)",
        message="the LiteLLM proxy refused the key: it is not the master key, and a proxy "
        "without a database knows no other ({status} no_db_connection){said}",
        cause="A LiteLLM proxy started without `DATABASE_URL` knows only its master key; it "
        "answers any other key with 400 `No connected db.` (type `no_db_connection`), not 401.",
        fix="use the proxy's master key (general_settings.master_key), or give the proxy a "
        "database (DATABASE_URL) so it can check virtual keys; then: chatenv configure-key",
    ),
    Problem(
        id="api.invalid-key-vllm",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="vLLM refused the key (401)",
        message="vLLM refused the key (401){said}",
        cause="vLLM started with `--api-key` (or `VLLM_API_KEY`) answers every other key on "
        '/v1 with 401 `{{"error": "Unauthorized"}}`.',
        fix="use the key vLLM was started with (vllm serve --api-key KEY, or VLLM_API_KEY), "
        "then: chatenv configure-key",
    ),
    Problem(
        id="api.invalid-key-llama-cpp",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="llama.cpp's server refused the key (401)",
        message="llama.cpp's server refused the key (401){said}",
        cause="llama-server started with `--api-key` (or `LLAMA_API_KEY`) answers every other "
        "key with 401 `Invalid API Key`.",
        fix="use the key llama-server was started with (--api-key KEY, or LLAMA_API_KEY), "
        "then: chatenv configure-key",
    ),
    Problem(
        id="api.invalid-key-hosted",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="A hosted API refused the key (401)",
        message="{server} refused the key (401){said}",
        cause="OpenRouter, Groq or Together AI does not accept the key: a typo, a deleted key, "
        "or a key of another provider.",
        fix="create a new key at {keys_page}, then: chatenv configure-key",
    ),
    Problem(
        id="api.invalid-key-server",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="Another server refused the key (401)",
        message="{server} refused the key (401){said}",
        cause="A server chatenv does not know refused the key. Only the server's operator (or "
        "its configuration) knows which keys it takes.",
        fix="use the key this server expects (from whoever runs it, or its configuration), "
        "then: chatenv configure-key",
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
        id="api.permission-denied-server",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="Another server does not let the key do this (403)",
        message="{server} does not let this key do this (403){said}",
        cause="The server accepted the key but refuses it this call (a model or route the key "
        "may not use).",
        fix="ask whoever runs {server} to allow this key, or use a key that is allowed",
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
        cause="OpenAI answers `model_not_found`: a typo in the model name, or a model your "
        "organization has no access to.",
        fix="choose a model this key can use (GET /v1/models lists them; see {MODELS_PAGE})",
    ),
    Problem(
        id="api.deployment-not-found",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="Azure OpenAI has no deployment of that name (404 DeploymentNotFound)",
        message="Azure OpenAI has no deployment of that name (404 DeploymentNotFound){said}",
        cause="On Azure the model of a request is your deployment's name, not the model's "
        "(gpt-4.1-nano); a deployment made in the last minutes may not answer yet.",
        fix="pass your deployment's name: --api-model DEPLOYMENT-NAME (see Deployments in the "
        "Azure AI Foundry portal)",
    ),
    Problem(
        id="api.model-not-found-litellm",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="The LiteLLM proxy has no model of that name",
        message="the LiteLLM proxy has no model of that name ({status}){said}",
        cause="The proxy serves the `model_name`s of its config.yaml (`model_list`); it answers "
        "400 `Invalid model name passed in model=...` to any other.",
        fix="use a model_name from the proxy's config.yaml: GET /v1/models lists the ones this "
        "key may use; then --api-model NAME",
    ),
    Problem(
        id="api.model-not-found-ollama",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="Ollama has not pulled the model",
        message="Ollama has not pulled that model ({status}){said}",
        cause='Ollama serves the models it has pulled; it answers 404 `model "x" not found, '
        "try pulling it first` to any other.",
        fix="ollama pull {model}",
    ),
    Problem(
        id="api.model-not-found-server",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="Another server does not serve the model",
        message="{server} does not serve that model ({status}){said}",
        cause="vLLM, llama.cpp, LM Studio and hosted APIs serve their own model names (vLLM: "
        "``The model `x` does not exist.``): the name asked for is not one of them.",
        fix="choose a model it serves (GET /v1/models lists them), then --api-model NAME",
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
        id="api.endpoint-missing",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="The server lacks an endpoint though the URL ends in /v1 (404)",
        message="{server} has no such endpoint (404 at {url}){said}",
        cause="The base URL has the usual `/v1`, and the server still has no such path: it is "
        "another kind of server than expected, or an OpenAI-compatible one without this "
        "endpoint.",
        fix="check that OPENAI_BASE_URL points at the OpenAI-compatible server you meant",
    ),
    Problem(
        id="api.no-responses-api",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="The server has no Responses API (404 on /responses)",
        message="{server} has no Responses API (404 at {url}){said}",
        cause="Many OpenAI-compatible servers serve chat completions but not `/v1/responses` "
        '(a FastAPI server answers `{{"detail":"Not Found"}}`).',
        fix="use chat completions: --api-mode chat",
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
        id="api.no-credit",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="The account has no credit left (402)",
        message="{server} wants payment: the account has no credit left (402){said}",
        cause="Hosted APIs such as OpenRouter answer 402 Payment Required when the account "
        "behind the key has run out of credit. Waiting does not help.",
        fix="add credit to the account behind this key at {server}, then try again",
    ),
    Problem(
        id="api.budget-exceeded-litellm",
        commands=API,
        area="The key and the account",
        levels=("fail",),
        title="The LiteLLM proxy's budget is spent",
        message="the LiteLLM proxy's budget is spent ({status}{error_code}){said}",
        cause="A budget set on the proxy (`max_budget`), a model of it, or the key, team or user "
        "is used up. LiteLLM answers 422 (429 with `budget_exceeded_status_code: 429`, and 429 "
        "`No deployments available - crossed budget` for a model's budget): not a rate limit, "
        "so waiting a minute does not help.",
        fix="raise the budget that ran out (max_budget in the proxy's config.yaml, or the "
        "key's with POST /key/update), or wait until its budget_duration resets it",
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
        id="api.rate-limited-azure",
        commands=API,
        area="The key and the account",
        levels=("fail", "warn"),
        title="Rate limited by Azure OpenAI (429)",
        message="rate limited by Azure OpenAI (429{error_code}){wait}{said}",
        cause="The deployment's tokens-per-minute or requests-per-minute limit is reached.",
        fix="wait and try again; a deployment's rate limit is raised in the Azure AI Foundry "
        "portal, under Deployments",
    ),
    Problem(
        id="api.rate-limited-litellm",
        commands=API,
        area="The key and the account",
        levels=("fail", "warn"),
        title="Rate limited by the LiteLLM proxy (429)",
        message="rate limited by the LiteLLM proxy (429{error_code}){wait}{said}",
        cause="The proxy's own limits (rpm/tpm of a model or a key) or the provider behind it "
        "refused the request for now.",
        fix="wait and try again; the proxy's limits are rpm/tpm in its config.yaml (per model) "
        "or on the key",
    ),
    Problem(
        id="api.rate-limited-server",
        commands=API,
        area="The key and the account",
        levels=("fail", "warn"),
        title="Rate limited by another server (429)",
        message="rate limited by {server} (429{error_code}){wait}{said}",
        cause="Too many requests for the limits that server sets. The key itself was accepted.",
        fix="wait and try again; {server} sets the limits (its settings or its operator)",
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
        id="api.server-error-self-hosted",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="A server you run failed (5xx)",
        message="{server} failed ({status}){ref}{said}",
        cause="vLLM, Ollama, llama.cpp, LM Studio or the LiteLLM proxy (or the provider behind "
        "it) raised an error: its own log has the reason.",
        fix="{server}'s log (its terminal or service log) says why; then try again",
    ),
    Problem(
        id="api.server-error-hosted",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="A hosted API failed (5xx)",
        message="{server} failed ({status}){ref}{said}",
        cause="An error on the side of Azure OpenAI or a hosted API (an outage, an overloaded "
        "model).",
        fix="try again in a minute; if it persists, {server} may have an outage{support}",
    ),
    Problem(
        id="api.server-error-server",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="Another server failed (5xx)",
        message="{server} failed ({status}){ref}{said}",
        cause="An error on the side of a server chatenv does not know (or a proxy in between).",
        fix="try again in a minute; if it persists, tell whoever runs it{support}",
    ),
    Problem(
        id="api.bad-request",
        commands=API,
        area="The server's answer",
        levels=("fail",),
        title="The server refused the request (4xx)",
        message="the server refused the request ({status}{error_code}){said}",
        cause="The server answered another 4xx status: usually a model or parameter the server "
        "does not support. The line quotes the body: OpenAI's `error.message`, FastAPI's "
        "`detail`, a problem+json `title` and `detail` (Prism).",
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
        id="api.read-timeout-server",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="Another server did not answer in time",
        message="{url} did not answer in time (read timeout)",
        cause="The connection was made but no answer came within `--timeout`: a slow or "
        "overloaded server, or a local server still loading its model.",
        fix="try again in a minute; a server that is loading its model answers once it is done",
    ),
    Problem(
        id="api.server-timeout",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="The server timed out the request (408)",
        message="{server} gave up waiting for an answer (408){said}",
        cause="The server (or a gateway in front of it) stopped waiting for the model behind it.",
        fix="try again; if it keeps timing out, the model behind it is too slow or down",
    ),
    Problem(
        id="api.server-timeout-litellm",
        commands=API,
        area="Connecting",
        levels=("fail",),
        title="The LiteLLM proxy timed out the model behind it (408)",
        message="the LiteLLM proxy gave up waiting for the model behind it (408){said}",
        cause="The provider behind the proxy did not answer within the model's `timeout` "
        "(`litellm.Timeout`).",
        fix="raise the model's timeout (litellm_params.timeout in the proxy's config.yaml), or "
        "check the provider behind it",
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
        id="key.hf-token-shape",
        commands=KEY,
        area="The key you give",
        levels=("warn",),
        title="The token does not look like a Hugging Face token",
        message="{masked} does not look like a Hugging Face token (they start with hf_); stored "
        "if the hub accepts it",
        cause="With `--hf`, the value should be a User Access Token from the hub's settings, "
        "`hf_` and 34 letters and digits. Another value (an OpenAI key, a password) is refused by "
        "the hub's whoami below.",
        fix="copy a token from https://huggingface.co/settings/tokens",
    ),
    Problem(
        id="key.hf-org-token",
        commands=KEY,
        area="The key you give",
        levels=("warn",),
        title="An organization token (api_org_)",
        message="{masked} is an organization token (api_org_...): the hub no longer takes them "
        "for downloads; use a personal token",
        cause="Organization API tokens were retired; `hf auth login` refuses them too "
        '("You must use your personal account token, not an organization token"). A personal '
        "token of an account in the organization reads what the organization may.",
        fix="create a token at https://huggingface.co/settings/tokens",
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
        id="key.env-file-shadows",
        commands=KEY,
        area="git and the environment",
        levels=("warn",),
        title="A new .env that hides the project's",
        message="creating {path}: it hides {other} from code run in this folder (python-dotenv's "
        "load_dotenv() takes the nearest .env upward)",
        cause="`--env-file` names a .env in a folder below another .env. The user's code, run "
        "from here, would then read the new file and none of the settings in the one above "
        "(OPENAI_BASE_URL, other keys). Without `--env-file`, configure-key writes the .env "
        "that code would read.",
        fix="chatenv configure-key   (writes the .env your code loads from here)",
    ),
    Problem(
        id="key.env-file-found-above",
        commands=KEY,
        area="git and the environment",
        levels=("warn",),
        title="The .env is in a folder above",
        message="writing {path}, the .env your code loads from here (found above this folder, "
        "as python-dotenv's load_dotenv() finds it)",
        cause="No `--env-file` was given, so configure-key (like doctor and smoke-test) uses the "
        "nearest .env at or above the current folder, up to the project's root: the file the "
        "user's own `load_dotenv()` reads. A second .env here would hide it.",
    ),
    Problem(
        id="key.env-file-at-root",
        commands=KEY,
        area="git and the environment",
        levels=("warn",),
        title="A new .env at the project's root",
        message="creating {path} at the project's root, where code in any folder below finds it",
        cause="No .env exists from the current folder up to the project's root (the folder with "
        "pyproject.toml, setup.py, setup.cfg or .git), so the new one goes there: "
        "python-dotenv's `load_dotenv()` finds it from every folder of the project.",
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
        id="key.hf-openai-options",
        commands=KEY,
        area="Options",
        levels=("usage",),
        title="--hf with OpenAI settings",
        message="--hf stores the Hugging Face token only; drop {options} (or run configure-key "
        "again without --hf for them)",
        cause="`--base-url`, `--organization` and `--project` are OpenAI settings; the Hugging "
        "Face hub is chosen with HF_ENDPOINT.",
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
        cause="`--no-verify` skips the `GET /models` check (with `--hf`, the hub's whoami) for "
        "offline CI.",
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
        id="key.hf-refused",
        commands=KEY,
        area="Verification",
        levels=("fail",),
        title="The hub refused the Hugging Face token",
        message="token refused by {endpoint}: {reason}{kept}",
        cause="`GET /api/whoami-v2` (what `hf auth whoami` asks) answered 401: the hub does not "
        "know the token (revoked, expired, mistyped, or a token of another hub than "
        "HF_ENDPOINT). It is not saved unless `--save-anyway`.",
        fix="create a token at {endpoint}/settings/tokens, then: chatenv configure-key --hf",
    ),
    Problem(
        id="key.hf-unverified-saved",
        commands=KEY,
        area="Verification",
        levels=("warn",),
        title="The hub could not be reached: token saved unverified",
        message="could not verify the token with {endpoint}: {reason}; saved without verification",
        cause="The hub did not answer whoami (no network, a proxy, a timeout, a 5xx, a rate "
        "limit: whoami is rate-limited strictly), so nothing was learnt about the token; by "
        "default it is saved anyway. `chatenv doctor` asks again.",
        fix="chatenv doctor",
    ),
    Problem(
        id="key.hf-unverified",
        commands=KEY,
        area="Verification",
        levels=("fail",),
        title="The hub could not be reached (--hf --verify)",
        message="could not verify the token with {endpoint}: {reason}{kept}",
        cause="With `--verify`, a whoami that gets no answer is a failure and the token is not "
        "saved (unless `--save-anyway`).",
        fix="chatenv doctor",
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
        fix="cd {root} && git rm --cached {path_entry} && {ignore}   # then rotate every key "
        "ever committed in it at {KEYS_PAGE}",
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
        fix="{ignore}   (or run again with --gitignore)",
    ),
    Problem(
        id="key.gitignore-failed",
        commands=KEY,
        area="git and the environment",
        levels=("warn",),
        title="The .gitignore could not be updated",
        message="could not add {entry} to {gitignore}: {reason}",
        cause="`.gitignore` could not be written (permissions, a folder in its place, not UTF-8).",
        fix="{ignore}",
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
        "file for {client} and most tools (load_dotenv() does not override it)",
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
        id="key.show-no-hf-token",
        commands=KEY,
        area="--show",
        levels=("fail",),
        title="--show --hf: no Hugging Face token anywhere",
        message="no Hugging Face token: no HF_TOKEN in the environment or in {path}, and no token "
        "file at {token_file}",
        cause="Neither HF_TOKEN (nor HUGGING_FACE_HUB_TOKEN) in the environment or the `.env` "
        "file, nor the token file `hf auth login` writes, holds a token.",
        fix="chatenv configure-key --hf",
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
        id="env-file.read-only-filesystem",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="The .env file is on a read-only file system",
        message="cannot write {path}: its file system is mounted read-only",
        cause="The disk, a container's bind mount (`:ro`), a snapshot or a live CD holding the "
        "file is mounted read-only; no permission change helps.",
        fix="use --env-file on a writable disk, e.g. --env-file ~/.config/chatenv/.env",
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
        commands=ENV_FILE,
        area="The .env file",
        levels=("error",),
        title="The .env path is not a regular file",
        message="{path} is {what}, not a regular file",
        cause="A named pipe, a device or a socket sits where the `.env` file should be (or "
        "`--env-file` names one: `/dev/stdin`, a `<(...)` process substitution). chatenv reads "
        "and writes only regular files: a pipe nobody writes to would block it, and a device "
        "like `/dev/zero` never ends.",
        fix="pass the .env file itself: --env-file PATH",
    ),
    Problem(
        id="env-file.too-large",
        commands=ENV_FILE,
        area="The .env file",
        levels=("error",),
        title="The .env file is far too large",
        message="{path} is {size} bytes; a .env file is never over {limit}",
        cause="`--env-file` names something else: a log, a database, a disk image. chatenv "
        "reads at most 1 MiB.",
        fix="pass the .env file itself: --env-file PATH",
    ),
    Problem(
        id="env-file.symlink-loop",
        commands=ENV_FILE,
        area="The .env file",
        levels=("error",),
        title="The .env file is a symbolic link loop",
        message="{path} is a symbolic link that leads back to itself (a loop)",
        cause="The link, or a link it points to, points back along the chain, so it never "
        "reaches a file.",
        fix="ls -l {path}   (then point the link at the real file, or remove it)",
    ),
    Problem(
        id="env-file.changed",
        commands=ENV_FILE,
        area="The .env file",
        levels=("error",),
        title="The .env file was replaced while being read",
        message="{path} was replaced while chatenv was reading it",
        cause="Between checking the file and opening it, another program put a different "
        "file (or a link) in its place. chatenv reads only the file it checked.",
        fix="run the command again",
    ),
    Problem(
        id="env-file.link-in-shared-folder",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="A link to the .env file sits in a folder that is not yours",
        message="{path} is a link, and {link} sits in {folder}, {why}: whoever can write "
        "there could have planted it, so chatenv does not write through it",
        cause="A symlink in a shared folder (`/tmp`, a group-writable folder, another user's "
        "folder) may point wherever someone else wants the key to land. chatenv writes "
        "through a link only when every link on the way sits in a folder owned by you or "
        "root that no one else can write, and ends at a file you own: the kernel's "
        "`protected_symlinks` reasoning, and at least as safe as python-dotenv's `set_key`, "
        "which since 1.2.2 (CVE-2026-28684) follows no link unless told to.",
        fix="ls -l {link}   (then pass the file you mean with --env-file, or run as the "
        "folder's owner)",
    ),
    Problem(
        id="env-file.link-target-not-yours",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="The .env link points at another user's file",
        message="{path} is a link to {target}, which {owner} owns, not you ({you}): chatenv "
        "writes a key only into a file of your own",
        cause="Written through, the key would land in a file another user owns and can read "
        "(or a system file would be rewritten and made private). chatenv writes through a "
        "link only to a file you own.",
        fix="sudo -u {owner} chatenv configure-key --env-file {path}",
    ),
    Problem(
        id="env-file.others-file-in-shared-folder",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="The .env file is another user's, in a folder others can write",
        message="{path} belongs to {owner} and sits in {folder}, which other users can write: "
        "chatenv does not put a key in it",
        cause="In a shared folder (`/tmp`) anyone can leave a file named `.env` for someone "
        "else to fill in (the kernel's `protected_regular` case). Where no one else could "
        "have put it (a folder only you, root or the file's owner can write) root may write "
        "a user's file for them, and it stays theirs.",
        fix="use a file in a folder of your own: --env-file ~/.config/chatenv/.env",
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
        id="env-file.value-control-character",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="A value with a control character",
        message="the value for {name} contains the control character {char}",
        cause="A control character (an escape, a NUL, a form feed) is never part of a key, URL "
        "or id, and the readers of a `.env` file disagree about it.",
    ),
    Problem(
        id="env-file.value-unportable",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="A value no quoting keeps the same for every reader",
        message="the value for {name} contains {chars!r}: no quoting makes python-dotenv, "
        "Node's dotenv, docker compose and the shell all read it back the same",
        cause="chatenv writes a value plain, in single quotes or in double quotes, whichever "
        "all four readers take literally. A backslash, or a single quote together with a "
        "double quote, `$` or backtick, has no such spelling (python-dotenv decodes `\\\\` in "
        "single quotes, the shell and compose expand `$` and backticks in double quotes). "
        "Keys, URLs and ids never contain them.",
    ),
    Problem(
        id="env-file.read-back-mismatch",
        commands=KEY,
        area="The .env file",
        levels=("error",),
        title="The written file did not read back as meant",
        message="{path} did not read back as written through python-dotenv ({names}); the "
        "file was put back as it was",
        cause="After every write chatenv reads the file again the way your code will "
        "(`dotenv_values`) and compares every variable. A difference is a chatenv bug, or "
        "another program changing the file at the same moment; nothing is left half-done.",
        fix="run again with --verbose and report it at {ISSUES_PAGE}",
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
        id="smoke.model-no-tokenizer",
        commands=("smoke-test", "setup"),
        area="Local generation",
        levels=("usage",),
        title="A model folder without tokenizer files",
        message="--model {name}: the folder has a config.json but no tokenizer (no "
        "tokenizer.json, vocab.json, tokenizer.model, spiece.model or vocab.txt)",
        cause="`save_pretrained` on a model saves the weights and the config only; the tokenizer "
        "is saved by its own `save_pretrained`. Without it transformers loads the weights, then "
        'fails on an empty vocabulary ("cannot reshape tensor of 0 elements").',
        fix='python -c "from transformers import AutoTokenizer; '
        "AutoTokenizer.from_pretrained('{source}').save_pretrained('{folder}')\"",
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
        message="--device mps: torch sees no Apple GPU (MPS) on this machine: {reason}",
        cause="MPS is Apple silicon's GPU backend: it needs an arm64 Python (not one under "
        "Rosetta), a torch built with MPS (the macOS arm64 wheel) and a recent enough macOS "
        "(14 for torch 2.10 and newer). The line says which is missing, in torch's words where "
        "it gave some; `chatenv doctor --deep` checks all three.",
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
        id="smoke.cuda-without-gpu",
        commands=SMOKE,
        area="Local generation",
        levels=("usage",),
        title="--device cuda on a machine without a GPU",
        message="--device {device}: {why} and there is no AMD GPU, so torch has no CUDA device "
        "here",
        cause="Checked through NVML (and the amdgpu driver's files) before torch is imported, "
        "which takes far longer than the answer. Installing torch again changes nothing: the "
        "machine has no GPU torch could use. `chatenv doctor` says more (a GPU on the PCI bus "
        "without a driver, a container started without it).",
        fix="{retyped}",
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
        id="smoke.no-usable-amd-gpu",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="--device cuda with a ROCm torch that sees no AMD GPU",
        message="--device {device}: torch {version} (ROCm {hip}) sees no usable AMD GPU: none "
        "passed into this container, no permission on /dev/kfd, or HIP_VISIBLE_DEVICES hides "
        "them",
        cause="A ROCm build of torch (its AMD GPUs are the `cuda` device) for which "
        "`torch.cuda.is_available()` is False.",
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
        id="smoke.gated-needs-token",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="A gated model, and no token",
        message="{name} is a gated model and no Hugging Face token is sent: its files need the "
        "token of an account with access",
        cause="The model's authors let in only the accounts they approved (often after you "
        "accept a licence on its page), and the hub answers 401 `GatedRepo` to a download "
        "without a token. Request access signed in, then store that account's token: "
        "configure-key puts it in `.env` as HF_TOKEN, which smoke-test (and `load_dotenv()`) "
        "read.",
        fix="request access at {endpoint}/{name}, then set the token: chatenv configure-key --hf",
    ),
    Problem(
        id="smoke.gated-token-not-sent",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="A gated model, and HF_HUB_DISABLE_IMPLICIT_TOKEN",
        message="{name} is a gated model, and HF_HUB_DISABLE_IMPLICIT_TOKEN keeps the token "
        "from being sent",
        cause="A token is set, but with HF_HUB_DISABLE_IMPLICIT_TOKEN huggingface_hub sends it "
        "only where the code passes `token=`; the download goes out anonymously and the hub "
        "refuses it (401 `GatedRepo`).",
        fix="unset HF_HUB_DISABLE_IMPLICIT_TOKEN",
    ),
    Problem(
        id="smoke.gated-denied",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="A gated model this token's account may not read",
        message="{name} is a gated model and the account of the token {masked} is not on its "
        "authorized list",
        cause='The hub answers 403 `GatedRepo` ("you are not in the authorized list"): this '
        "account has not asked for access, its request was declined, or the token belongs to "
        "another account than the one that was let in. `chatenv doctor --model NAME` names the "
        "token's account.",
        fix="request access at {endpoint}/{name}, signed in as the token's account",
    ),
    Problem(
        id="smoke.gated-pending",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="A gated model whose access request awaits review",
        message="{name} is a gated model and your request for access awaits the authors' review",
        cause='The hub answers 403 `GatedRepo` ("awaiting a review from the repo authors"): '
        "the model is gated with manual approval, and the download works once they accept.",
        fix="see your requests at {endpoint}/settings/gated-repos",
    ),
    Problem(
        id="smoke.hf-token-rejected",
        commands=SMOKE,
        area="Local generation",
        levels=("fail",),
        title="The hub refuses the Hugging Face token",
        message="the hub at {endpoint} refused the Hugging Face token {masked} from {where}: it "
        "is revoked, expired or mistyped, and every download fails while it is sent",
        cause="The hub answers 401 `Invalid credentials in Authorization header` to a token it "
        "does not know, public models included (a stale HF_TOKEN breaks downloading gpt2 too). "
        "Make a new token and put it where this one comes from (see `hf.token-rejected`).",
        fix="create a new token at {endpoint}/settings/tokens, then: {store}",
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

DIST = ("smoke-test",)
DIST_RESTART = "start every node again, node 0 first"

PROBLEMS += (
    # -- smoke-test --distributed: options ---------------------------------------------------
    Problem(
        id="dist.needs-distributed",
        commands=DIST,
        area="Distributed: options",
        levels=("usage",),
        title="A distributed option without --distributed",
        message="{options} only apply with --distributed",
        cause="`--nproc`, `--nnodes`, `--node-rank`, `--rdzv-endpoint`, `--backend` and "
        "`--rdzv-timeout` shape the distributed test, which runs only when asked for.",
        fix="add --distributed",
    ),
    Problem(
        id="dist.with-train",
        commands=DIST,
        area="Distributed: options",
        levels=("usage",),
        title="--train with --distributed",
        message="--train and --distributed: the distributed test runs on its own",
        cause="`--distributed` runs the torch.distributed test instead of the local and API "
        "stages (under srun, every rank would otherwise load a model too).",
        fix="run them one after the other: chatenv smoke-test --train, then chatenv smoke-test "
        "--distributed",
    ),
    Problem(
        id="dist.nnodes-without-endpoint",
        commands=DIST,
        area="Distributed: options",
        levels=("usage",),
        title="--nnodes above 1 without --rdzv-endpoint",
        message="--nnodes {nnodes} needs --rdzv-endpoint HOST:PORT: where node 0 listens and "
        "the other nodes connect",
        cause="Nodes find each other at one address: node 0's chatenv listens there, every "
        "other node's connects to it, as torchrun's own `--rdzv-endpoint`.",
        fix="on node 0: chatenv smoke-test --distributed --nnodes {nnodes} --node-rank 0 "
        "--rdzv-endpoint $(hostname):29500, then the same on each other node with its own "
        "--node-rank",
    ),
    Problem(
        id="dist.node-rank-out-of-range",
        commands=DIST,
        area="Distributed: options",
        levels=("usage",),
        title="--node-rank outside 0 to NNODES-1",
        message="--node-rank {node_rank} with --nnodes {nnodes}: node ranks go from 0 to NNODES-1",
        cause="Each node gets its own index; node 0 is the one at `--rdzv-endpoint`.",
        fix="number the nodes 0 to NNODES-1, node 0 the host of --rdzv-endpoint",
    ),
    Problem(
        id="dist.bad-endpoint",
        commands=DIST,
        area="Distributed: options",
        levels=("usage",),
        title="--rdzv-endpoint is not HOST:PORT",
        message="--rdzv-endpoint {value!r} is not HOST:PORT",
        cause="The endpoint is node 0's name or address and a port it can listen on "
        "(`node-0:29500`, `10.0.0.5:29500`, `[fd00::5]:29500`); port 0 means any free port, "
        "which other nodes cannot know.",
        fix="--rdzv-endpoint node-0:29500   (node 0's name or address, a free port on it)",
    ),
    Problem(
        id="dist.options-under-launcher",
        commands=DIST,
        area="Distributed: options",
        levels=("usage",),
        title="Launch options under another launcher",
        message="{options}: {launcher} already started this process as one rank; these options "
        "are for a run chatenv launches itself",
        cause="With `RANK` and `WORLD_SIZE` set (torchrun, a Kubernetes PyTorchJob) or under an "
        "srun step of several tasks, the launcher decides how many ranks run where, and "
        "chatenv runs as one of them.",
        fix="drop {options}",
    ),
    Problem(
        id="dist.bad-launcher-variable",
        commands=DIST,
        area="Distributed: options",
        levels=("usage",),
        title="A launcher variable that is not a number",
        message="{name}={value!r} is not a rank, a size or a port",
        cause="The launcher's variables (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `MASTER_PORT`, "
        "`SLURM_PROCID`, ...) are numbers; this one is not, or is out of range.",
        fix="unset {name}, or set it as the launcher would",
    ),
    Problem(
        id="dist.master-unset",
        commands=DIST,
        area="Distributed: options",
        levels=("usage",),
        title="RANK and WORLD_SIZE without MASTER_ADDR and MASTER_PORT",
        message="RANK={rank} and WORLD_SIZE={world} are set, but MASTER_ADDR or MASTER_PORT is "
        "not: nothing says where rank 0 is",
        cause="A launcher that sets `RANK` and `WORLD_SIZE` also sets `MASTER_ADDR` and "
        "`MASTER_PORT` (torchrun and the PyTorchJob operator do); set by hand, they come "
        "together.",
        fix="set MASTER_ADDR to rank 0's address and MASTER_PORT to a free port (29500) on "
        "every rank, or unset RANK and WORLD_SIZE to let chatenv launch the workers",
    ),
    Problem(
        id="dist.slurm-no-nodelist",
        commands=DIST,
        area="Distributed: options",
        levels=("usage",),
        title="srun, but nothing says where rank 0 is",
        message="srun started this task, but neither MASTER_ADDR nor SLURM_STEP_NODELIST says "
        "where rank 0 is",
        cause="Under srun, rank 0 runs on the step's first node (`SLURM_STEP_NODELIST`); "
        "this step's environment has no node list.",
        fix='export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1) '
        "before srun",
    ),
    Problem(
        id="dist.no-torch",
        commands=DIST,
        area="Distributed: options",
        levels=("error",),
        title="torch.distributed is not available",
        message="torch.distributed is not available: {error}",
        cause="The distributed test runs on torch: it is not installed, or this build has no "
        "torch.distributed.",
        fix="chatenv install local",
    ),
    Problem(
        id="dist.nccl-unavailable",
        commands=DIST,
        area="Distributed: options",
        levels=("error",),
        title="--backend nccl with a torch without NCCL",
        message="--backend nccl: torch {torch} has no NCCL (a CPU-only build, or macOS or Windows)",
        cause="NCCL ships in torch's CUDA builds for Linux.",
        fix="chatenv install local   (the CUDA build), or --backend gloo",
    ),
    Problem(
        id="dist.nccl-without-gpu",
        commands=DIST,
        area="Distributed: options",
        levels=("error",),
        title="--backend nccl, but torch sees no GPU",
        message="--backend nccl: torch {torch} sees no GPU here",
        cause="NCCL runs on GPUs: one per rank.",
        fix="chatenv doctor   (says why torch sees none), or --backend gloo",
    ),
    Problem(
        id="dist.nproc-over-gpus",
        commands=DIST,
        area="Distributed: options",
        levels=("usage",),
        title="More NCCL workers than GPUs",
        message="--nproc {nproc} with NCCL: each worker needs a GPU of its own, and torch sees "
        "{gpus}",
        cause="NCCL does not share one GPU between two ranks of a communicator.",
        fix="--nproc {gpus}, or --backend gloo for CPU workers",
    ),
    # -- smoke-test --distributed: the rendezvous ----------------------------------------------
    Problem(
        id="dist.port-taken",
        commands=DIST,
        area="Distributed: the rendezvous",
        levels=("error",),
        title="The rendezvous port is taken",
        message="cannot listen on port {port} for the rendezvous: {reason}",
        cause="Node 0 (or rank 0, under srun or a PyTorchJob) listens on the rendezvous port; "
        "another program, or a run that has not finished, holds it.",
        fix="stop what listens there (ss -ltnp 'sport = :{port}'), or pick another port on "
        "every node",
    ),
    Problem(
        id="dist.endpoint-unreachable",
        commands=DIST,
        area="Distributed: the rendezvous",
        levels=("fail",),
        title="Node 0 cannot be reached",
        message="could not reach the rendezvous at {endpoint} within {timeout:g} s: {reason}",
        cause="This node connects to node 0 at `--rdzv-endpoint`: node 0 has not started, "
        "listens on another port, or a firewall or a wrong address keeps the two apart. The "
        "reason says which: refused (nothing listens), no answer (the packets are dropped), "
        "or a name that does not resolve.",
        fix="check that node 0 runs chatenv with --rdzv-endpoint {endpoint}, then from here: nc "
        "-zv {host} {port}",
    ),
    Problem(
        id="dist.nodes-missing",
        commands=DIST,
        area="Distributed: the rendezvous",
        levels=("fail",),
        title="Nodes that never arrived",
        message="{count} of {nnodes} nodes never arrived at {endpoint} within {timeout:g} s: "
        "{nodes}",
        cause="Node 0 waited for every node's chatenv to check in. The missing ones were not "
        "started, were given another `--rdzv-endpoint`, or cannot reach this one (the address "
        "they use for it, the port, a firewall).",
        fix="start chatenv smoke-test --distributed --rdzv-endpoint {endpoint} on {nodes}; "
        "if it runs, check it reaches node 0: nc -zv {host} {port}",
    ),
    Problem(
        id="dist.node-rank-taken",
        commands=DIST,
        area="Distributed: the rendezvous",
        levels=("fail",),
        title="Two nodes with the same --node-rank",
        message="another node already checked in as node {node} at {endpoint}",
        cause="Each node needs its own `--node-rank`, from 0 to NNODES-1.",
        fix="give every node its own --node-rank, then " + DIST_RESTART,
    ),
    Problem(
        id="dist.backend-mismatch",
        commands=DIST,
        area="Distributed: the rendezvous",
        levels=("fail",),
        title="Nodes that chose different backends",
        message="node {node} ({host}) would use {backend}, and node 0 uses {ours}",
        cause="With `--backend auto` a node with GPUs picks nccl and one without picks gloo; "
        "every rank of a process group needs the same backend.",
        fix="give every node the same --backend, then " + DIST_RESTART,
    ),
    Problem(
        id="dist.no-go",
        commands=DIST,
        area="Distributed: the rendezvous",
        levels=("fail",),
        title="Node 0 did not start the run",
        message="node 0 at {endpoint} did not start the run: it gave up, or stopped",
        cause="Node 0 starts the run once every node has checked in; it stopped first (another "
        "node missing, different backends), and its report says why.",
        fix="read node 0's report, then " + DIST_RESTART + " (node {node} too)",
    ),
    Problem(
        id="dist.torchrun-failed",
        commands=DIST,
        area="Distributed: the rendezvous",
        levels=("fail",),
        title="torchrun failed before any rank started",
        message="torchrun failed before any rank started: {error}",
        cause="torch's launcher stopped on its own: its rendezvous with the other nodes' "
        "torchrun timed out or broke, or it could not start the worker program.",
        fix="cat {logs}/torchrun.log",
    ),
    Problem(
        id="dist.master-unreachable",
        commands=DIST,
        area="Distributed: the rendezvous",
        levels=("fail",),
        title="A rank cannot reach rank 0",
        message="rank {rank} could not reach rank 0 at {master} within {timeout:g} s: {reason}",
        cause="Under srun, torchrun or a PyTorchJob every rank connects to rank 0 at "
        "`MASTER_ADDR:MASTER_PORT`: rank 0 has not started or failed, or the address, the port "
        "or a firewall keeps them apart.",
        fix="check MASTER_ADDR and MASTER_PORT (the same on every rank: rank 0's host), then "
        "from here: nc -zv {host} {port}",
    ),
    Problem(
        id="dist.ranks-missing",
        commands=DIST,
        area="Distributed: the rendezvous",
        levels=("fail",),
        title="Ranks that never arrived",
        message="{count} of {world} ranks never arrived within {timeout:g} s: {ranks}",
        cause="Every rank says who it is when it starts; these never did: they crashed at "
        "start (the details show the last line they wrote, when the launcher kept it), were "
        "not started, or cannot reach the rendezvous.",
        fix="check those ranks' output, then that they reach the rendezvous at {endpoint} "
        "(MASTER_ADDR, the port, a firewall)",
    ),
    # -- smoke-test --distributed: the ranks ---------------------------------------------------
    Problem(
        id="dist.rank-exited",
        commands=DIST,
        area="Distributed: the ranks",
        levels=("fail",),
        title="A rank exited",
        message="rank {rank} ({where}) exited during {stage} ({code}){more}",
        cause="The process of that rank ended without its result: it crashed (a segfault, "
        "out of memory, a GPU error) or something killed it. The other ranks' own failures "
        "(a peer that went away, a timeout) follow from it and are listed in the details.",
        fix="its output is in {logs} (--verbose shows its last line)",
    ),
    Problem(
        id="dist.rank-hung",
        commands=DIST,
        area="Distributed: the ranks",
        levels=("fail",),
        title="A rank hung",
        message="rank {rank} ({where}) hung in {stage}: the other ranks waited {timeout:g} s "
        "for it{more}",
        cause="The rank was alive (its heartbeat went on) but never took its part, and the "
        "others timed out waiting; chatenv then stopped it, so the job ends. Its node was busy "
        "or swapping, its GPU stuck, or the path between the GPUs broken.",
        fix="if it is only slow (a busy or swapping node), give it longer: --timeout 60; if it "
        "hangs still, look at {host} (top, and nvidia-smi on a GPU node)",
    ),
    Problem(
        id="dist.rank-failed",
        commands=DIST,
        area="Distributed: the ranks",
        levels=("fail",),
        title="A rank failed",
        message="rank {rank} ({where}) failed in {stage}: {error}{more}",
        cause="The stage raised on that rank: the message is torch's (or NCCL's). `--verbose` "
        "shows every rank's state.",
        fix="chatenv doctor on that node checks its stack; --verbose shows every rank's state",
    ),
    Problem(
        id="dist.rank-no-gpu",
        commands=DIST,
        area="Distributed: the ranks",
        levels=("fail",),
        title="An NCCL rank on a node without a GPU",
        message="NCCL needs a GPU, and torch sees none on {host}",
        cause="A rank of an NCCL run started where torch sees no GPU (CUDA_VISIBLE_DEVICES "
        "empty, srun without --gpus, a CPU-only torch); it is reported as that rank's failure.",
    ),
    Problem(
        id="dist.rank-backends-differ",
        commands=DIST,
        area="Distributed: the ranks",
        levels=("fail",),
        title="Ranks that chose different backends",
        message="the ranks chose different backends ({groups}): give every rank the same --backend",
        cause="With `--backend auto` a rank that sees a GPU picks nccl and one that does not "
        "picks gloo; a process group needs one backend. It is reported as the ranks' failure "
        "in the process-group init.",
    ),
    Problem(
        id="dist.stage-timeout",
        commands=DIST,
        area="Distributed: the ranks",
        levels=("fail",),
        title="A collective timed out on every rank",
        message="{stage} timed out after {timeout:g} s on {ranks}: every rank took part, "
        "and the collective did not finish",
        cause="No rank was missing or stuck elsewhere: the data did not get through (a network "
        "too slow for --timeout, a broken P2P or InfiniBand path, a firewall between nodes "
        "for the ports NCCL or gloo open).",
        fix="raise --timeout if the network is slow; with NCCL, NCCL_P2P_DISABLE=1 or "
        "NCCL_IB_DISABLE=1 tells which path hangs",
    ),
    Problem(
        id="dist.job-deadline",
        commands=DIST,
        area="Distributed: the ranks",
        levels=("fail",),
        title="The job did not finish in time",
        message="the job did not finish within {deadline:g} s; chatenv stopped {ranks} in {stage}",
        cause="Each collective has --timeout, the rendezvous --rdzv-timeout; a rank stuck "
        "outside a collective (before it, in a loop, in a driver call) is ended by the job's "
        "deadline instead.",
        fix="raise --timeout if each collective needs longer; --verbose shows where each rank was",
    ),
    Problem(
        id="dist.wrong-sum",
        commands=DIST,
        area="Distributed: the ranks",
        levels=("fail",),
        title="The all-reduce sum is wrong",
        message="all-reduce returned a wrong sum on {count} of {world} ranks ({ranks}): value "
        "{index} is {got}, expected {expected}",
        cause="Every rank adds a known pattern, so the sum is known exactly; a wrong one means "
        "data corrupted on its way between GPUs or nodes (broken P2P in a VM, a bad link), "
        "not a slow run.",
        fix="run it again: a wrong sum that comes back is a broken path between the ranks; with "
        "NCCL, NCCL_P2P_DISABLE=1 chatenv smoke-test --distributed tells whether P2P is to blame",
    ),
    Problem(
        id="dist.wrong-broadcast",
        commands=DIST,
        area="Distributed: the ranks",
        levels=("fail",),
        title="The broadcast delivered wrong values",
        message="broadcast delivered wrong values on {count} of {world} ranks ({ranks}): value "
        "{index} is {got}, expected {expected}",
        cause="Rank 0 sends a known pattern; a rank that receives something else got corrupted "
        "data.",
        fix="run it again: wrong values that come back are a broken path between the ranks; with "
        "NCCL, NCCL_P2P_DISABLE=1 chatenv smoke-test --distributed tells whether P2P is to blame",
    ),
    Problem(
        id="dist.versions-differ",
        commands=DIST,
        area="Distributed: the ranks",
        levels=("warn",),
        title="Versions differ across ranks",
        message="{what} differ across ranks: {groups}",
        cause="Ranks with different torch, NCCL or CUDA versions may pass a smoke test and "
        "still hang or crash in a real job (a collective changed between versions); a "
        "different chatenv or driver is worth knowing too.",
        fix="install the same stack on every node: chatenv install local, with the same chatenv "
        "everywhere",
    ),
    Problem(
        id="dist.node-failed",
        commands=DIST,
        area="Distributed: the ranks",
        levels=("fail",),
        title="This node's workers failed",
        message="node {node} ({host}): torchrun exited {code}; the report on node 0 says which "
        "rank failed and why",
        cause="Printed by a node other than node 0 (which prints the whole report).",
        fix="cat {logs}/torchrun.log   (this node's workers' output is under {logs}/workers)",
    ),
    Problem(
        id="dist.rank-own-failure",
        commands=DIST,
        area="Distributed: the ranks",
        levels=("fail",),
        title="This rank failed",
        message="rank {rank} ({host}) failed in {stage}: {error}",
        cause="Printed on stderr by a rank other than rank 0 under srun, torchrun or a "
        "PyTorchJob; rank 0 prints the whole report, with the rank that caused the failure.",
        fix="read rank 0's report: it names the rank that started it",
    ),
    # -- smoke-test --distributed: NCCL --------------------------------------------------------
    Problem(
        id="dist.nccl-no-interface",
        commands=DIST,
        area="Distributed: NCCL",
        levels=("fail",),
        title="NCCL finds no network interface (NCCL_SOCKET_IFNAME)",
        message="NCCL found no network interface to use on {host} ({setting})",
        cause="NCCL logged `Bootstrap : no socket interface found`: `NCCL_SOCKET_IFNAME` names "
        "an interface this host does not have (a name from another machine, a container's "
        "`eth0` that is `ens5` here), or no interface is up.",
        fix="ip -br addr on {host}, then set NCCL_SOCKET_IFNAME to the interface that carries "
        "the nodes' traffic (NCCL_SOCKET_IFNAME=eth0), or unset it",
    ),
    Problem(
        id="dist.nccl-shm",
        commands=DIST,
        area="Distributed: NCCL",
        levels=("fail",),
        title="NCCL cannot create shared memory in /dev/shm",
        message="NCCL could not create its shared memory in /dev/shm on {host}: /dev/shm is "
        "full or too small",
        cause="NCCL logged `failed to extend /dev/shm/nccl-...`: GPUs of one node exchange "
        "data through /dev/shm, and a container gets 64 MB of it by default (Docker).",
        fix="docker run --shm-size=1g --ulimit memlock=-1 ...   (Kubernetes: an emptyDir with "
        "medium: Memory mounted at /dev/shm)",
    ),
    Problem(
        id="dist.shm-small",
        commands=DIST,
        area="Distributed: NCCL",
        levels=("warn",),
        title="/dev/shm is small for NCCL",
        message="/dev/shm on {host} is {size} for {ranks} GPU ranks (Docker's default is 64 MB; "
        "NCCL's guide asks for 1 GB)",
        cause="NCCL can exchange data between the GPUs of one node through /dev/shm; when it "
        "does and /dev/shm is small, the first large collective fails or hangs.",
        fix="docker run --shm-size=1g --ulimit memlock=-1 ...   (Kubernetes: an emptyDir with "
        "medium: Memory mounted at /dev/shm)",
    ),
    Problem(
        id="dist.nccl-no-ib",
        commands=DIST,
        area="Distributed: NCCL",
        levels=("warn",),
        title="NCCL uses TCP between nodes: no InfiniBand or RoCE",
        message="NCCL talks between nodes over TCP sockets, not InfiniBand/RoCE, on {hosts}: it "
        "found no IB device",
        cause="NCCL logged `NET/IB : No device found` and `Using network Socket`: no HCA, no "
        "driver, or a container without `/dev/infiniband`. It works, at a fraction of the "
        "bandwidth (the table shows it).",
        fix="ibv_devinfo on {host} lists the HCAs; in a container pass them in (docker run "
        "--device=/dev/infiniband --cap-add=IPC_LOCK ...); where TCP is all there is, "
        "NCCL_IB_DISABLE=1 says so",
    ),
    Problem(
        id="dist.nccl-p2p-off",
        commands=DIST,
        area="Distributed: NCCL",
        levels=("warn",),
        title="GPUs of one node do not use P2P",
        message="the GPUs on {host} exchange data through host memory (SHM), not P2P: {reason}",
        cause="NCCL's transport lines say `via SHM` between GPUs of one node and never "
        "`via P2P`: peer-to-peer is disabled, or the machine does not offer it (VMs often do "
        "not). It works, more slowly.",
        fix="nvidia-smi topo -p2p r on {host} (whether the GPUs can reach each other)",
    ),
    Problem(
        id="dist.nccl-p2p-suspect",
        commands=DIST,
        area="Distributed: NCCL",
        levels=("warn",),
        title="A rank got stuck while NCCL used P2P",
        message="a rank on {host} got stuck in a collective while NCCL used P2P between its GPUs",
        cause="P2P that the driver offers but the hardware does not carry (VMs, some "
        "consumer boards, PCIe ACS on) makes the first collective hang or return garbage.",
        fix="NCCL_P2P_DISABLE=1 chatenv smoke-test --distributed   (if that passes, P2P is "
        "broken on {host})",
    ),
    Problem(
        id="dist.nccl-warning",
        commands=DIST,
        area="Distributed: NCCL",
        levels=("warn",),
        title="NCCL warned",
        message="NCCL warned on {host} (rank {rank}): {line}",
        cause="A `NCCL WARN` line chatenv has no entry for; NCCL's own message says what.",
        fix="--verbose shows NCCL's warnings from every rank",
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
        message="unknown profile '{name}'{hint} (known: {known})",
        cause="Profiles are `api` (openai, python-dotenv), `local` (torch, transformers, "
        "tokenizers, safetensors, accelerate) and `all`. The fix is the line you typed with the "
        "profile it most likely meant (or `all`).",
        fix="{retyped}",
    ),
    Problem(
        id="install.not-a-user-profile",
        commands=INSTALL,
        area="Options and the target",
        levels=("usage",),
        title="A profile you do not install",
        message="'{name}' is not a profile you install (known: {known})",
        cause="`base` is what installing chatenv itself already installs.",
        fix="chatenv install all",
    ),
    Problem(
        id="install.unknown-torch-variant",
        commands=INSTALL,
        area="Options and the target",
        levels=("usage",),
        title="An unknown --torch variant",
        message="unknown torch variant '{text}'{hint} (known: {known})",
        cause="`--torch` takes auto, cpu or a CUDA variant PyTorch publishes (cu118 ... cu132; "
        "`13.0` and `cu13.0` are read as cu130). The fix is the line you typed with the "
        "variant it most likely meant (or auto).",
        fix="{retyped}",
    ),
    Problem(
        id="install.unknown-installer",
        commands=INSTALL,
        area="Options and the target",
        levels=("usage",),
        title="An unknown --installer",
        message="unknown installer '{name}'{hint} (known: {known})",
        cause="`--installer` takes auto, uv or pip. The fix is the line you typed with the "
        "installer it most likely meant (or auto).",
        fix="{retyped}",
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
        fix="python3 -m venv .venv && . .venv/bin/activate && {CHATENV_INSTALL} && chatenv "
        "install   (or: --python .venv/bin/python; or --system if you mean it)",
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
        id="install.no-rocm-for-platform",
        commands=INSTALL,
        area="Choosing the PyTorch build",
        levels=("error",),
        title="--torch rocmX.Y on a platform without ROCm builds",
        message="PyTorch publishes ROCm builds for Linux on x86_64 only, not {platform} on "
        "{machine}",
        cause="download.pytorch.org/whl/rocmX.Y holds Linux x86_64 wheels only.",
        fix="--torch auto",
    ),
    Problem(
        id="install.variant-not-shipped",
        commands=INSTALL,
        area="Choosing the PyTorch build",
        levels=("error",),
        title="No torch release within the pins ships this CUDA variant",
        message="no torch release allowed by the pins ({spec}) ships a {tag} wheel for {where}",
        cause="PyTorch builds each release for a few CUDA versions only (old ones are dropped, "
        "new ones added), and not every one for every platform: Linux aarch64 got CUDA wheels "
        "later and for fewer variants (torch 2.7: cu128 only). chatenv reads which wheels exist "
        "from the PyTorch index, or from its own table when the index cannot be reached.",
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
        id="install.no-rocm-build-runs",
        commands=INSTALL,
        area="Choosing the PyTorch build",
        levels=("warn",),
        title="No ROCm build of torch has kernels for this AMD GPU",
        message="no ROCm build of torch {series} has kernels for {gpus}: choosing the CPU build",
        cause="PyTorch's ROCm wheels are built for a list of GPU architectures; this GPU is "
        "not in it. HSA_OVERRIDE_GFX_VERSION lets ROCm run a sibling's kernels (an RX 6700 "
        "XT, gfx1031, runs gfx1030's with 10.3.0).",
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
        id="install.torch-index-unreachable",
        commands=INSTALL,
        area="Planning",
        levels=("error",),
        title="PyTorch's index cannot be reached, but the configured package index has torch",
        message="cannot reach {where} ({reason}) for torch; the package index the installer is "
        "configured with has torch {version}: {build}; nothing was changed",
        cause="chatenv takes torch from PyTorch's own index (download.pytorch.org, or the mirror "
        "named by --torch-index / CHATENV_TORCH_INDEX), which has one index per build (cpu, "
        "cu126, ...). Behind a corporate proxy or in an air-gapped network that index is often "
        "unreachable while a mirror of PyPI (PIP_INDEX_URL, pip.conf, uv.toml) answers. That "
        "index has torch too, but only the one build it carries: on PyPI, Linux x86_64 wheels "
        "are CUDA builds and macOS and Windows wheels CPU builds. `--torch-index configured` "
        "takes it; `--torch-index URL` names a mirror of PyTorch's index instead.",
        fix="{retyped}",
    ),
    Problem(
        id="install.torch-index-not-a-url",
        commands=INSTALL,
        area="Options and the target",
        levels=("usage",),
        title="--torch-index is not a URL",
        message="{source} {value!r} is not a URL: it takes the base of a PyTorch index mirror "
        "(https://host/path, laid out as https://download.pytorch.org/whl) or `configured`",
        cause="A mirror of PyTorch's index serves one simple index per build under one base "
        "(`<base>/cu126/torch/`), as download.pytorch.org/whl does; `configured` takes torch "
        "from the installer's own configured package index instead.",
        fix="chatenv install local --torch-index https://download.pytorch.org/whl",
    ),
    Problem(
        id="install.index-unreachable",
        commands=INSTALL,
        area="Planning",
        levels=("fail", "error"),
        title="The package index cannot be reached",
        message="cannot reach {where} ({reason}) while planning the {step} step; nothing was "
        "changed",
        cause="The installer's dry run could not reach PyPI or PyTorch's index "
        "(download.pytorch.org): no network, a proxy not configured for pip/uv, a firewall. "
        "A mirror of PyTorch's index is named with --torch-index URL or CHATENV_TORCH_INDEX; "
        "PyPI's mirror with PIP_INDEX_URL (pip) or UV_INDEX_URL (uv).",
        fix="check the network and proxy settings (HTTPS_PROXY), then run again; behind a "
        "mirror: export CHATENV_TORCH_INDEX=https://<mirror>/whl PIP_INDEX_URL=https://"
        "<mirror>/simple",
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
