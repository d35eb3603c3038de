"""`doctor --deep`: import torch in a child process and ask it directly.

The static checks (torch_build) predict; this confirms. torch is imported in a subprocess with a
time limit, so a crash or a hang in CUDA initialisation cannot take doctor with it. The child
prints one JSON line; `check_deep` (pure) turns it, the static facts and the environment into
results, and when CUDA is unavailable, into the reason why.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chatenv import torch_builds
from chatenv.doctor import gpu as gpu_section
from chatenv.doctor import torch_build
from chatenv.doctor.runner import DoctorOptions
from chatenv.installed import TorchBuild
from chatenv.results import CheckResult
from chatenv.system.nvml import GpuProbe, ProbeState
from chatenv.system.proc import ProcResult

#: importing torch on a cold 2-core machine takes several seconds; CUDA init can take more
TIMEOUT_S = 90.0
MARKER = "CHATENV-DEEP "

# Runs in the child. Prints one line: MARKER + JSON. Each step is guarded so that one failure
# (a GPU without kernels) still reports the others.
SCRIPT = r"""
import json, sys, time, warnings
out = {"python": sys.version.split()[0]}
start = time.perf_counter()
try:
    import torch
except BaseException as exc:
    out["import_error"] = f"{type(exc).__name__}: {exc}".strip()
    print("CHATENV-DEEP " + json.dumps(out), flush=True)
    raise SystemExit(0)
out["import_s"] = round(time.perf_counter() - start, 3)
out["version"] = torch.__version__
out["cuda"] = torch.version.cuda
out["hip"] = getattr(torch.version, "hip", None)
try:
    x = torch.ones(64, 64)
    out["cpu_op"] = float((x @ x).sum().item()) == 64.0 ** 3
except BaseException as exc:
    out["cpu_op_error"] = f"{type(exc).__name__}: {exc}".strip()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        out["available"] = bool(torch.cuda.is_available())
        out["device_count"] = int(torch.cuda.device_count())
    except BaseException as exc:
        out["available"] = False
        out["device_count"] = 0
        out["cuda_error"] = f"{type(exc).__name__}: {exc}".strip()
out["warnings"] = [str(w.message).strip() for w in caught]
try:
    out["arch_list"] = list(torch.cuda.get_arch_list())
except BaseException:
    out["arch_list"] = []
try:
    out["mps"] = bool(torch.backends.mps.is_available())
except BaseException:
    out["mps"] = False
devices = []
if out["available"]:
    for i in range(out["device_count"]):
        d = {"index": i}
        try:
            d["name"] = torch.cuda.get_device_name(i)
            major, minor = torch.cuda.get_device_capability(i)
            d["capability"] = f"{major}.{minor}"
            t = time.perf_counter()
            a = torch.ones(256, 256, device=f"cuda:{i}")
            value = float((a @ a).sum().item())
            torch.cuda.synchronize(i)
            d["op_s"] = round(time.perf_counter() - t, 4)
            d["op_ok"] = value == 256.0 ** 3
        except BaseException as exc:
            d["error"] = f"{type(exc).__name__}: {exc}".strip()
        devices.append(d)
out["devices"] = devices
print("CHATENV-DEEP " + json.dumps(out), flush=True)
"""


@dataclass(frozen=True)
class DeepAnswer:
    """What the child reported, or why it reported nothing."""

    data: Mapping[str, Any] = field(default_factory=dict)
    #: the child crashed, timed out or printed no answer: one line saying which
    failure: str | None = None
    stderr_tail: tuple[str, ...] = ()


def parse_answer(done: ProcResult, timeout: float) -> DeepAnswer:
    tail = tuple(line for line in done.stderr.strip().splitlines()[-5:] if line.strip())
    if done.timed_out:
        return DeepAnswer(
            failure=f"importing torch did not finish within {timeout:g}s", stderr_tail=tail
        )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(MARKER):
            try:
                return DeepAnswer(json.loads(line[len(MARKER) :]), stderr_tail=tail)
            except ValueError:
                break
    why = tail[-1] if tail else f"exit status {done.returncode}"
    if done.returncode < 0:
        why = f"killed by signal {-done.returncode}" + (f": {tail[-1]}" if tail else "")
    return DeepAnswer(failure=f"the torch child process crashed ({why})", stderr_tail=tail)


def run_child(options: DoctorOptions, timeout: float = TIMEOUT_S) -> DeepAnswer:
    env = dict(options.environ)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    done = options.seams.runner()(
        [sys.executable, "-c", SCRIPT], timeout=timeout, env=env, cwd=options.cwd
    )
    return parse_answer(done, timeout)


def why_no_cuda(
    build: TorchBuild | None,
    found: GpuProbe,
    environ: Mapping[str, str],
    answer: Mapping[str, Any],
) -> tuple[str, str, str | None]:
    """Why `torch.cuda.is_available()` is False: (status, reason, fix)."""
    if not answer.get("cuda") and not answer.get("hip"):
        if found.has_gpu:
            best = torch_build.suggest_variant(found)
            return (
                "warn",
                "torch is a CPU-only build, and this machine has an NVIDIA GPU",
                f"chatenv install local --torch {best or 'cpu'}",
            )
        return "skip", "torch is a CPU-only build, and there is no NVIDIA GPU here to use", None
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if (
        visible is not None
        and found.has_gpu
        and not gpu_section.visible_indices(visible, found.gpus)
    ):
        return (
            "warn",
            f"CUDA_VISIBLE_DEVICES={visible!r} hides every GPU",
            "unset CUDA_VISIBLE_DEVICES",
        )
    if found.state in (ProbeState.NO_LIBRARY, ProbeState.NO_DRIVER, ProbeState.NO_DEVICE):
        return (
            "warn",
            "no NVIDIA driver or GPU: this CUDA build of torch runs on the CPU",
            "chatenv install local --torch cpu  # or install the NVIDIA driver",
        )
    if found.state is ProbeState.VERSION_MISMATCH:
        return "fail", "the NVIDIA driver and its kernel module differ", "sudo reboot"
    cuda = answer.get("cuda")
    if found.driver is not None and isinstance(cuda, str):
        from chatenv.system.nvml import CudaVersion

        variant = torch_builds.variant_for_cuda(CudaVersion.parse(cuda))
        if variant and not torch_builds.driver_supports_on(
            variant, found.driver.version, found.driver.cuda, sys.platform
        ):
            best = torch_build.suggest_variant(found)
            return (
                "fail",
                f"the driver ({found.driver.version}, CUDA {found.driver.cuda}) is too old for "
                f"this CUDA {cuda} build",
                f"chatenv install local --torch {best or 'cpu'}",
            )
    said = [w for w in answer.get("warnings", []) if w] + [answer.get("cuda_error") or ""]
    reason = next((s.splitlines()[0] for s in said if s), "torch gives no reason")
    reason = reason.removeprefix("CUDA initialization: ")
    return "fail", f"CUDA initialisation failed: {reason}", "nvidia-smi  # does the driver answer?"


def check_deep(
    answer: DeepAnswer,
    build: TorchBuild | None,
    found: GpuProbe,
    environ: Mapping[str, str],
) -> list[CheckResult]:
    if answer.failure:
        return [
            CheckResult.fail(
                "deep.import",
                answer.failure,
                details=answer.stderr_tail,
                fix="python -c 'import torch'  # shows the full error",
            )
        ]
    data = dict(answer.data)
    if "import_error" in data:
        return [
            CheckResult.fail(
                "deep.import",
                f"import torch fails: {str(data['import_error']).splitlines()[0]}",
                details=answer.stderr_tail,
                data=data,
                fix="chatenv install local  # reinstalls torch",
            )
        ]
    results: list[CheckResult] = []
    cpu = "a CPU matmul works" if data.get("cpu_op") else "a CPU matmul FAILED"
    took = float(data.get("import_s") or 0)
    import_line = f"torch {data.get('version')} imports in {took:.1f} s; {cpu}"
    if data.get("cpu_op"):
        results.append(CheckResult.ok("deep.import", import_line, data=data))
    else:
        results.append(
            CheckResult.fail(
                "deep.import",
                import_line,
                details=[str(data.get("cpu_op_error", ""))],
                data=data,
                fix="chatenv install local  # reinstalls torch",
            )
        )
    arch_list = [str(a) for a in data.get("arch_list") or []]
    if not data.get("available"):
        status, reason, fix = why_no_cuda(build, found, environ, data)
        mps = "; Apple MPS is available" if data.get("mps") else ""
        make = {
            "ok": CheckResult.ok,
            "warn": CheckResult.warn,
            "fail": CheckResult.fail,
            "skip": CheckResult.skip,
        }[status]
        results.append(
            make(
                "deep.cuda",
                f"torch.cuda.is_available() is False: {reason}{mps}",
                details=[f"torch said: {w}" for w in data.get("warnings", [])],
                data={"arch_list": arch_list, "reason": reason},
                fix=fix,
            )
        )
        return results
    count = int(data.get("device_count") or 0)
    results.append(
        CheckResult.ok(
            "deep.cuda",
            f"torch.cuda.is_available(): {count} device{'s' if count != 1 else ''}, "
            f"arch list {' '.join(arch_list) or 'empty'}",
            data={"arch_list": arch_list, "device_count": count},
        )
    )
    for device in data.get("devices", []):
        index = device.get("index")
        name = device.get("name") or f"cuda:{index}"
        if device.get("error") or not device.get("op_ok"):
            error = str(device.get("error") or "wrong result").splitlines()[0]
            best = torch_build.suggest_variant(found)
            fix = (
                f"chatenv install local --torch {best}"
                if best and "no kernel image" in error
                else "nvidia-smi  # is the GPU healthy and free?"
            )
            results.append(
                CheckResult.fail(
                    f"deep.gpu.{index}",
                    f"cuda:{index} {name}: a 256x256 matmul failed: {error}",
                    data=device,
                    fix=fix,
                )
            )
        else:
            ms = float(device.get("op_s") or 0) * 1000
            results.append(
                CheckResult.ok(
                    f"deep.gpu.{index}",
                    f"cuda:{index} {name} (compute {device.get('capability')}): "
                    f"a 256x256 matmul is right ({ms:.1f} ms)",
                    data=device,
                )
            )
    return results


def collect(options: DoctorOptions) -> list[CheckResult]:
    if not options.deep:
        return [
            CheckResult.skip(
                "deep.import",
                "not run: --deep imports torch in a subprocess and runs an op on each GPU",
            )
        ]
    build = torch_build.torch_for_run(options)
    if build is None:
        return [
            CheckResult.skip("deep.import", "torch is not installed", fix="chatenv install local")
        ]
    answer = run_child(options)
    return check_deep(answer, build, gpu_section.gpu_probe(options), options.environ)
