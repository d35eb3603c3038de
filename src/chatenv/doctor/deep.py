"""`doctor --deep`: import torch in a child process and ask it directly.

The static checks (torch_build) predict; this confirms. torch is imported in a subprocess with a
time limit, so a crash or a hang in CUDA initialisation cannot take doctor with it. The child
prints one JSON line; `check_deep` (pure) turns it, the static facts and the environment into
results, and when CUDA is unavailable, into the reason why. On a Mac it also asks about MPS
(built, available, torch's own words when it is not, a matmul on it when it is) and says why
not: a torch without MPS, an x86_64 Python under Rosetta, a macOS older than this torch needs.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from chatenv import torch_builds
from chatenv.install.variant import suggest
from chatenv.problems import problem
from chatenv.records import dataclass, field
from chatenv.results import CheckResult, Status
from chatenv.system.cuda_devices import visible_indices
from chatenv.system.nvml import ProbeState

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chatenv.doctor.context import Context
    from chatenv.installed import TorchBuild
    from chatenv.system.apple import AppleFacts
    from chatenv.system.nvml import GpuProbe
    from chatenv.system.proc import ProcResult

#: importing torch on a cold 2-core machine takes several seconds; CUDA init can take more
TIMEOUT_S = 90.0
MARKER = "CHATENV-DEEP "

# Runs in the child. Prints one line: MARKER + JSON. Each step is guarded so that one failure
# (a GPU without kernels) still reports the others.
SCRIPT = r"""
import json, platform, sys, time, warnings
out = {"python": sys.version.split()[0], "platform": sys.platform, "machine": platform.machine()}
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
if sys.platform == "darwin":
    out["mac_ver"] = platform.mac_ver()[0]
    try:
        out["mps_built"] = bool(torch.backends.mps.is_built())
    except BaseException:
        out["mps_built"] = False
    mps = {}
    if out["mps_built"] and not out["mps"]:
        try:
            torch.ones(1, device="mps")
        except BaseException as exc:
            out["mps_error"] = f"{type(exc).__name__}: {exc}".strip()
    if out["mps"]:
        try:
            mps["name"] = torch.backends.mps.get_name()
            mps["cores"] = int(torch.backends.mps.get_core_count())
        except BaseException:
            pass
        try:
            t = time.perf_counter()
            a = torch.ones(256, 256, device="mps")
            value = float((a @ a).sum().item())
            torch.mps.synchronize()
            mps["op_s"] = round(time.perf_counter() - t, 4)
            mps["op_ok"] = value == 256.0 ** 3
        except BaseException as exc:
            mps["error"] = f"{type(exc).__name__}: {exc}".strip()
    out["mps_device"] = mps
devices = []
if out["available"]:
    for i in range(out["device_count"]):
        d = {"index": i}
        try:
            d["name"] = torch.cuda.get_device_name(i)
            major, minor = torch.cuda.get_device_capability(i)
            d["capability"] = f"{major}.{minor}"
            if out["hip"]:
                d["gfx"] = getattr(torch.cuda.get_device_properties(i), "gcnArchName", None)
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
    #: what to do about `failure`
    failure_fix: str | None = None


def parse_answer(done: ProcResult, timeout: float) -> DeepAnswer:
    tail = tuple(line for line in done.stderr.strip().splitlines()[-5:] if line.strip())
    if done.timed_out:
        failure, fix = problem("deep.timeout").pair(timeout=timeout)
        return DeepAnswer(failure=failure, stderr_tail=tail, failure_fix=fix)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(MARKER):
            try:
                return DeepAnswer(json.loads(line[len(MARKER) :]), stderr_tail=tail)
            except ValueError:
                break
    why = tail[-1] if tail else f"exit status {done.returncode}"
    if done.returncode < 0:
        why = f"killed by signal {-done.returncode}" + (f": {tail[-1]}" if tail else "")
    failure, fix = problem("deep.crashed").pair(why=why)
    return DeepAnswer(failure=failure, stderr_tail=tail, failure_fix=fix)


def run_child(ctx: Context, timeout: float = TIMEOUT_S) -> DeepAnswer:
    env = dict(ctx.environ)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    done = ctx.seams.runner()(
        [sys.executable, "-c", SCRIPT], timeout=timeout, env=env, cwd=ctx.options.cwd
    )
    return parse_answer(done, timeout)


def why_no_cuda(
    build: TorchBuild | None,
    found: GpuProbe,
    environ: Mapping[str, str],
    answer: Mapping[str, Any],
    mps: str = "",
) -> tuple[str, str, str | None]:
    """Why `torch.cuda.is_available()` is False: (status, the line saying so, fix). `mps` ends
    the line (a note that Apple's MPS is available)."""
    if not answer.get("cuda") and not answer.get("hip"):
        if found.has_gpu:
            best = suggest(found)
            line, fix = problem("deep.cpu-build-with-gpu").pair(variant=best or "cpu", mps=mps)
            return "warn", line, fix
        # not a problem: nothing to use CUDA with
        return (
            "skip",
            "torch.cuda.is_available() is False: torch is a CPU-only build, and there is no "
            f"NVIDIA GPU here to use{mps}",
            None,
        )
    if answer.get("hip") and not answer.get("cuda") and not found.has_gpu:
        line, fix = problem("deep.rocm-no-gpu").pair(mps=mps)
        return "warn", line, fix
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and found.has_gpu and not visible_indices(visible, found.gpus):
        line, fix = problem("deep.gpus-hidden").pair(visible=visible, mps=mps)
        return "warn", line, fix
    if found.state in (ProbeState.NO_LIBRARY, ProbeState.NO_DRIVER, ProbeState.NO_DEVICE):
        line, fix = problem("deep.no-driver").pair(mps=mps)
        return "warn", line, fix
    if found.state is ProbeState.VERSION_MISMATCH:
        line, fix = problem("deep.version-mismatch").pair(mps=mps)
        return "fail", line, fix
    cuda = answer.get("cuda")
    if found.driver is not None and isinstance(cuda, str):
        from chatenv.system.nvml import CudaVersion

        variant = torch_builds.variant_for_cuda(CudaVersion.parse(cuda))
        if variant and not torch_builds.driver_supports(
            variant, found.driver.version, found.driver.cuda, sys.platform
        ):
            best = suggest(found)
            line, fix = problem("deep.driver-too-old").pair(
                driver=found.driver.version,
                driver_cuda=found.driver.cuda,
                cuda=cuda,
                variant=best or "cpu",
                mps=mps,
            )
            return "fail", line, fix
    said = [w for w in answer.get("warnings", []) if w] + [answer.get("cuda_error") or ""]
    reason = next((s.splitlines()[0] for s in said if s), "torch gives no reason")
    reason = reason.removeprefix("CUDA initialization: ")
    line, fix = problem("deep.cuda-init-failed").pair(reason=reason, mps=mps)
    return "fail", line, fix


def check_mps(data: Mapping[str, Any], apple: AppleFacts | None) -> CheckResult:
    """MPS on a Mac, as torch answered it; when it is not available, the reason."""
    from chatenv.system.apple import mps_min_macos, version_tuple

    version = str(data.get("version") or "")
    found = {k: data.get(k) for k in ("mps", "mps_built", "mps_error", "machine", "mac_ver")}
    if not data.get("mps_built"):
        return problem("deep.mps-not-built").check(
            Status.WARN, "deep.mps", data=found, version=version
        )
    if data.get("mps"):
        return _mps_op(dict(data.get("mps_device") or {}))
    if data.get("machine") == "x86_64" and apple is not None and apple.rosetta:
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        return problem("deep.mps-rosetta").check(
            Status.WARN, "deep.mps", data=found, version=python
        )
    needs = mps_min_macos(torch_builds.release_series(version))
    macos = apple.macos if apple is not None else data.get("mac_ver")
    have = version_tuple(str(macos or ""))
    if needs is not None and have is not None and have < needs:
        return problem("deep.mps-macos-too-old").check(
            Status.WARN,
            "deep.mps",
            data=found,
            version=version,
            needs=f"{needs[0]}.{needs[1]}",
            macos=macos,
        )
    said = str(data.get("mps_error") or "torch gives no reason").splitlines()[0]
    reason = said.removeprefix("RuntimeError: ")
    if apple is not None and apple.virtual_machine:
        reason += f" (this Mac is a virtual machine: {apple.model})"
    return problem("deep.mps-unavailable").check(Status.WARN, "deep.mps", data=found, reason=reason)


def _mps_op(device: dict[str, Any]) -> CheckResult:
    name = device.get("name") or "Apple GPU"
    cores = f" ({device['cores']} GPU cores)" if device.get("cores") else ""
    if device.get("error") or not device.get("op_ok"):
        error = str(device.get("error") or "wrong result").splitlines()[0]
        return problem("deep.mps-op-failed").check(
            Status.FAIL, "deep.mps", data=device, name=name, error=error
        )
    ms = float(device.get("op_s") or 0) * 1000
    return CheckResult.ok(
        "deep.mps",
        f"mps: {name}{cores}: a 256x256 matmul is right ({ms:.1f} ms)",
        data=device,
    )


def check_deep(
    answer: DeepAnswer,
    build: TorchBuild | None,
    found: GpuProbe,
    environ: Mapping[str, str],
    apple: AppleFacts | None = None,
) -> list[CheckResult]:
    if answer.failure:
        return [
            CheckResult.fail(
                "deep.import", answer.failure, details=answer.stderr_tail, fix=answer.failure_fix
            )
        ]
    data = dict(answer.data)
    if "import_error" in data:
        return [
            problem("deep.import-error").check(
                Status.FAIL,
                "deep.import",
                details=answer.stderr_tail,
                data=data,
                error=str(data["import_error"]).splitlines()[0],
            )
        ]
    results: list[CheckResult] = []
    took = float(data.get("import_s") or 0)
    if data.get("cpu_op"):
        import_line = f"torch {data.get('version')} imports in {took:.1f} s; a CPU matmul works"
        results.append(CheckResult.ok("deep.import", import_line, data=data))
    else:
        results.append(
            problem("deep.cpu-op-failed").check(
                Status.FAIL,
                "deep.import",
                details=[str(data.get("cpu_op_error", ""))],
                data=data,
                version=data.get("version"),
                seconds=took,
            )
        )
    arch_list = [str(a) for a in data.get("arch_list") or []]
    if data.get("platform") == "darwin":
        results.append(check_mps(data, apple))
    if not data.get("available"):
        mps = "; Apple MPS is available" if data.get("mps") else ""
        status, line, fix = why_no_cuda(build, found, environ, data, mps)
        reason = line.removeprefix("torch.cuda.is_available() is False: ").removesuffix(mps)
        results.append(
            CheckResult(
                id="deep.cuda",
                status=Status(status),
                summary=line,
                details=tuple(f"torch said: {w}" for w in data.get("warnings", [])),
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
            no_kernels = "no kernel image" in error
            best = suggest(found) if no_kernels else None
            if data.get("hip") and "invalid device function" in error:
                failed = problem("deep.rocm-gpu-no-kernels").check(
                    Status.FAIL,
                    f"deep.gpu.{index}",
                    data=device,
                    index=index,
                    name=name,
                    error=error,
                )
            elif best:
                failed = problem("deep.gpu-no-kernels").check(
                    Status.FAIL,
                    f"deep.gpu.{index}",
                    data=device,
                    index=index,
                    name=name,
                    error=error,
                    variant=best,
                )
            else:
                failed = problem("deep.gpu-op-failed").check(
                    Status.FAIL,
                    f"deep.gpu.{index}",
                    data=device,
                    index=index,
                    name=name,
                    error=error,
                )
            results.append(failed)
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


def collect(ctx: Context) -> list[CheckResult]:
    """Run only with --deep (doctor/sections.py skips it otherwise, without importing this)."""
    build = ctx.torch
    if build is None:
        return [problem("torch.not-installed").check(Status.SKIP, "deep.import", python_option="")]
    answer = run_child(ctx)
    return check_deep(answer, build, ctx.gpus, ctx.environ, ctx.apple)
