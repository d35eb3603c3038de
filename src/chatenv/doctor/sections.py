"""The sections of `chatenv doctor`, in the order the report shows them, each with its time
budget (seconds from the common start; they all run at once)."""

from __future__ import annotations

from chatenv.doctor import (
    deep,
    disk,
    dotenv_hygiene,
    extensions,
    frameworks,
    gpu,
    loading,
    network,
    openai_config,
    packages,
    platform,
    python_env,
    torch_build,
)
from chatenv.doctor.runner import Section

SECTIONS: tuple[Section, ...] = (
    Section("platform", platform.collect, budget_s=3.0),
    Section("python", python_env.collect, budget_s=5.0),
    Section("packages", packages.collect, budget_s=5.0),
    Section("gpu", gpu.collect, budget_s=8.0),
    Section("torch", torch_build.collect, budget_s=8.0),
    # --deep also imports each extension in a child process (extensions.TIMEOUT_S)
    Section("extensions", extensions.collect, budget_s=extensions.TIMEOUT_S + 5.0),
    Section("loading", loading.collect, budget_s=5.0),
    # --deep imports torch in a child process (deep.TIMEOUT_S); without --deep it returns at once
    Section("deep", deep.collect, budget_s=deep.TIMEOUT_S + 5.0),
    Section("frameworks", frameworks.collect, budget_s=5.0),
    Section("disk", disk.collect, budget_s=5.0),
    Section("openai", openai_config.collect, budget_s=5.0),
    Section("dotenv", dotenv_hygiene.collect, budget_s=8.0),
    Section("network", network.collect, budget_s=network.TIMEOUT_S + 3.0),
)
