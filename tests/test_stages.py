"""`chatenv setup`'s own decisions (chatenv.stages): which doctor failures stop it, which stages
run, when the key is asked for, and how each stage is summarised. Plain data in, plain data out."""

from __future__ import annotations

import pytest

from chatenv.results import CheckResult, Report
from chatenv.stages import (
    StageRun,
    build_report,
    key_stage,
    select,
    stage_result,
    triage,
)


def doctor(*results: CheckResult) -> Report:
    return Report("doctor", results)


def fail(id: str) -> CheckResult:
    section = id.split(".", 1)[0]
    return CheckResult.fail(id, f"{id} is broken", section=section, fix=f"fix {id}")


@pytest.mark.parametrize(
    "id",
    [
        "python.version",  # Python out of range: no later stage can change the interpreter
        "disk.space",  # under 1 GiB for models
        "gpu.driver",  # driver/library mismatch: needs a reboot
        "dotenv.git",  # the key file is tracked by git
        "network.ca.SSL_CERT_FILE",  # every HTTPS request would fail
        "frameworks.crashed",  # a check that crashed: unknown state
        "platform.timeout",
    ],
)
def test_failures_no_stage_repairs_stop_setup(id: str) -> None:
    found = triage(doctor(fail(id)), api=True)
    assert [r.id for r in found.blocking] == [id]
    assert found.not_blocking == ()


@pytest.mark.parametrize(
    "id",
    [
        "packages.pin.torch",  # outside its pin
        "packages.openai-v0",
        "packages.requirements",  # broken requirements in the stack
        "torch.build",  # a CUDA build this driver cannot run: install picks the build
        "torch.kernels",
    ],
)
def test_failures_install_repairs_do_not_stop_setup(id: str) -> None:
    found = triage(doctor(fail(id)), api=True)
    assert found.blocking == ()
    assert [r.id for r in found.repaired] == [id]
    assert found.not_blocking == (id,)


@pytest.mark.parametrize("id", ["openai.endpoint", "openai.env-file", "dotenv.git", "network.api"])
def test_api_failures_stop_setup_only_when_it_sets_the_api_up(id: str) -> None:
    assert [r.id for r in triage(doctor(fail(id)), api=True).blocking] == [id]
    without_api = triage(doctor(fail(id)), api=False)
    assert without_api.blocking == ()
    assert [r.id for r in without_api.unused] == [id]


def test_warnings_never_stop_setup() -> None:
    warned = CheckResult.warn("disk.space", "only 5 GiB", section="disk")
    missing = CheckResult.warn("packages.local", "local profile not installed", section="packages")
    assert triage(doctor(warned, missing), api=True) == triage(doctor(), api=True)


def test_network_hf_reach_failure_blocks_even_without_the_api() -> None:
    assert [r.id for r in triage(doctor(fail("network.hf")), api=False).blocking] == ["network.hf"]


@pytest.mark.parametrize("id", ["hf.whoami", "hf.model"])
def test_hub_access_failures_stop_setup_only_when_it_tests_local_generation(id: str) -> None:
    """A revoked token or a gated model it may not read fails the local smoke test; with
    --no-local nothing downloads a model."""
    assert [r.id for r in triage(doctor(fail(id)), api=True).blocking] == [id]
    without_local = triage(doctor(fail(id)), api=True, local=False)
    assert without_local.blocking == ()
    assert [r.id for r in without_local.unused] == [id]


@pytest.mark.parametrize(
    ("profiles", "local", "api", "expected"),
    [
        ((), True, True, (("all",), True, True)),
        (("local",), True, True, (("local",), True, False)),
        (("api",), True, True, (("api",), False, True)),
        (("all",), True, False, (("all",), True, False)),
        (("api", "local", "api"), False, True, (("api", "local"), False, True)),
    ],
)
def test_smoke_stages_follow_the_profiles_narrowed_by_the_flags(
    profiles: tuple[str, ...], local: bool, api: bool, expected: tuple[object, ...]
) -> None:
    chosen = select(profiles, local=local, api=api)
    assert (chosen.profiles, chosen.local, chosen.api) == expected


def test_why_the_api_is_not_set_up_names_the_flag_or_the_profile() -> None:
    assert "--no-api" in (select(("all",), local=True, api=False).no_api_reason or "")
    assert "profile local" in (select(("local",), local=True, api=True).no_api_reason or "")


API = select(("all",), local=True, api=True)


@pytest.mark.parametrize(
    ("key_source", "stdin", "yes", "runs"),
    [
        (None, "terminal", False, True),  # asked at the hidden prompt
        (None, "pipe", False, True),  # piped in
        (None, "pipe", True, True),  # --yes still takes a piped key
        (None, "terminal", True, False),  # --yes: no prompt
        (None, "none", False, False),  # /dev/null, closed, or an empty pipe
        ("the environment", "terminal", False, False),  # nothing to do
    ],
)
def test_configure_key_runs_only_when_the_key_is_missing_and_can_be_had(
    key_source: str | None, stdin: str, yes: bool, runs: bool
) -> None:
    reason = key_stage(API, key_source=key_source, stdin=stdin, yes=yes)
    assert (reason is None) is runs


def test_a_skipped_key_says_which_variable_or_flag_to_use_instead() -> None:
    reason = key_stage(API, key_source=None, stdin="none", yes=False)
    assert reason == (
        "no OPENAI_API_KEY, and stdin is not a terminal: set OPENAI_API_KEY, pipe the key in "
        '(printf %s "$KEY" | chatenv setup), or run on a terminal to be asked; --no-api sets up '
        "local models only"
    )
    with_yes = key_stage(API, key_source=None, stdin="terminal", yes=True)
    assert with_yes is not None and with_yes.startswith(
        "no OPENAI_API_KEY, and --yes asks nothing: "
    )
    local_only = select(("local",), local=True, api=True)
    skipped = key_stage(local_only, key_source=None, stdin="pipe", yes=False)
    assert "profile local" in (skipped or "")


def test_a_failed_stage_shows_the_failure_that_stopped_it_with_its_fix() -> None:
    report = doctor(fail("packages.pin.torch"), fail("disk.space"), fail("python.version"))
    found = triage(report, api=True)
    stage = StageRun(
        "doctor", "failed", elapsed_s=0.4, report=report, not_blocking=found.not_blocking
    )
    result = stage_result(stage)
    assert result.status.value == "fail"
    assert result.summary == "doctor (0.4 s): disk.space is broken (and 1 more)"
    assert result.fix == "fix disk.space"


def test_a_stage_that_went_past_repairable_failures_is_a_warning_naming_them() -> None:
    report = doctor(fail("torch.build"), CheckResult.ok("python.version", "3.12", section="python"))
    stage = StageRun("doctor", "ran", elapsed_s=0.1, report=report, not_blocking=("torch.build",))
    result = stage_result(stage)
    assert result.status.value == "warn"
    assert "not stopping setup: torch.build" in result.summary


def test_setup_exits_1_when_a_stage_failed_and_130_when_interrupted() -> None:
    ok = StageRun("doctor", "ran", elapsed_s=0.1, report=doctor())
    failed = StageRun("install", "failed", elapsed_s=1.0, report=Report("install", (fail("x.y"),)))
    skipped = StageRun("smoke-test", "skipped", reason="not run: install failed")
    passed = build_report([ok], selection=API, options={}, elapsed_s=0.1)
    assert passed.exit_code == 0 and passed.data["stopped_at"] is None
    stopped = build_report([ok, failed, skipped], selection=API, options={}, elapsed_s=1.1)
    assert stopped.exit_code == 1 and stopped.data["stopped_at"] == "install"
    assert [r.status.value for r in stopped.results] == ["ok", "fail", "skip"]
    interrupted = build_report([ok], selection=API, options={}, elapsed_s=0.1, interrupted=True)
    assert interrupted.exit_code == 130
    assert interrupted.to_json()["error"] == {"message": "interrupted", "fix": None}
