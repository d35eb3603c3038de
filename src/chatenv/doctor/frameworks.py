"""The frameworks section: TensorFlow and JAX, reported when installed (from metadata, never
imported). They are not part of chatenv's stack, but many users arrive from their tutorials,
and a CUDA-enabled TensorFlow or JAX beside torch is worth knowing about when memory or
nvidia-* packages collide."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.results import CheckResult

if TYPE_CHECKING:
    from chatenv.doctor.context import Context
    from chatenv.installed import Installed

#: framework -> distributions that provide it (first installed one is reported)
FRAMEWORKS: dict[str, tuple[str, ...]] = {
    "TensorFlow": (
        "tensorflow",
        "tensorflow-cpu",
        "tensorflow-gpu",
        "tensorflow-macos",
        "tensorflow-intel",
        "tf-nightly",
    ),
    "JAX": ("jax",),
}
#: distributions that add GPU support to a framework
GPU_PLUGINS: dict[str, tuple[str, ...]] = {
    "TensorFlow": ("tensorflow-metal",),
    "JAX": ("jax-cuda12-plugin", "jax-cuda13-plugin", "jax-metal"),
}


def check_frameworks(installed: Installed) -> list[CheckResult]:
    results = []
    for framework, names in FRAMEWORKS.items():
        dist = next((installed.get(n) for n in names if installed.get(n)), None)
        if dist is None:
            continue
        plugins = [
            f"{p} {installed.version(p)}" for p in GPU_PLUGINS[framework] if installed.get(p)
        ]
        extra = [f"jaxlib {installed.version('jaxlib')}"] if framework == "JAX" else []
        if framework == "JAX" and installed.get("jaxlib") is None:
            extra = ["jaxlib missing: jax cannot run without it"]
        summary = f"{framework} {dist.version} ({dist.display_name})"
        if plugins:
            summary += f" with {', '.join(plugins)}"
        results.append(
            CheckResult.ok(
                f"frameworks.{framework.lower()}",
                summary,
                details=extra,
                data={
                    "distribution": dist.name,
                    "version": dist.version,
                    "gpu_plugins": plugins,
                },
            )
        )
    if not results:
        results.append(
            CheckResult.skip(
                "frameworks.none", "neither TensorFlow nor JAX is installed (not needed)"
            )
        )
    return results


def collect(ctx: Context) -> list[CheckResult]:
    return check_frameworks(ctx.installed)
