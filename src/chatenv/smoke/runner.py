"""Run the stages the user asked for, in order, and collect one report.

The local stage runs first (the train stage needs its model); the API stage does not depend on
it. A stage that was asked for and could not start because an earlier one failed is a skipped
result, so the report still names every requested stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatenv.records import dataclass
from chatenv.results import CheckResult, Report, Status
from chatenv.smoke import train
from chatenv.smoke.api_stage import run_api
from chatenv.smoke.common import no_progress
from chatenv.smoke.local import quiet_transformers, run_local

if TYPE_CHECKING:
    from chatenv.smoke.api_stage import ApiOptions
    from chatenv.smoke.common import Progress
    from chatenv.smoke.local import LocalOptions

COMMAND = "smoke-test"
STAGES = ("local", "train", "api")


@dataclass(frozen=True)
class SmokeOptions:
    #: None: --no-local
    local: LocalOptions | None
    train: bool = False
    #: None: --no-api
    api: ApiOptions | None = None


def run(options: SmokeOptions, progress: Progress = no_progress) -> Report:
    results: list[CheckResult] = []
    if options.local is not None:
        local = run_local(options.local, progress)
        results.extend(local.results)
        if options.train:
            if local.ok and local.loaded and local.generation and local.stack:
                with quiet_transformers(local.stack.transformers):
                    results.append(
                        train.run_train(local.loaded, local.generation, local.stack.torch, progress)
                    )
            else:
                results.append(
                    CheckResult.skip(
                        f"{train.SECTION}.step",
                        "not run: the local stage did not get a model to generate",
                        section=train.SECTION,
                    )
                )
        # free the model before the API stage; a GPU's memory goes back to the driver
        del local
    if options.api is not None:
        results.extend(run_api(options.api, progress))
    return Report(command=COMMAND, results=tuple(results), data={"stages": stages(results)})


def stages(results: list[CheckResult]) -> dict[str, Any]:
    """Each requested stage's overall status: the worst of its results."""
    order = [Status.FAIL, Status.WARN, Status.OK, Status.SKIP]
    found: dict[str, Status] = {}
    for result in results:
        stage = result.section
        current = found.get(stage)
        if current is None or order.index(result.status) < order.index(current):
            found[stage] = result.status
    return {stage: found[stage].value for stage in STAGES if stage in found}
