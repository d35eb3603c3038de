"""The checks run after installing: doctor's package and torch checks on the target's metadata
(real dist-info and torch/version.py files), made strict where install knows more, plus whether
torch is the build chatenv chose."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.doctor.fixes import FixTarget
from chatenv.install.pins import load_pins
from chatenv.install.variant import Machine, choose
from chatenv.install.verify import check_packages, check_torch
from chatenv.installed import scan
from chatenv.results import Status
from chatenv.system.nvml import CudaVersion, DriverInfo, GpuInfo, GpuProbe, ProbeState
from tests.sites import write_dist, write_torch

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.results import CheckResult

HERE = FixTarget()
CPU_BOX = Machine("linux", "x86_64", GpuProbe(ProbeState.NO_LIBRARY))
H100_BOX = Machine(
    "linux",
    "x86_64",
    GpuProbe(
        ProbeState.OK,
        DriverInfo("580.65.06", CudaVersion(13, 0)),
        (GpuInfo(0, "NVIDIA H100", compute_capability=(9, 0)),),
    ),
)
OLD_DRIVER_H100 = Machine(
    "linux",
    "x86_64",
    GpuProbe(
        ProbeState.OK,
        DriverInfo("550.54.15", CudaVersion(12, 4)),
        (GpuInfo(0, "NVIDIA H100", compute_capability=(9, 0)),),
    ),
)


def _by_id(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.id: r for r in results}


def _api(site: Path, openai: str = "1.99.0", dotenv: str | None = "1.2.2") -> None:
    write_dist(site, "openai", openai, ["httpx>=0.23"])
    write_dist(site, "httpx", "0.28.1")
    if dotenv:
        write_dist(site, "python-dotenv", dotenv)


def _packages(site: Path, profiles: tuple[str, ...] = ("api",), target: FixTarget = HERE):  # type: ignore[no-untyped-def]
    return _by_id(check_packages(profiles, load_pins(), scan([str(site)]), {}, target))


def test_satisfied_profile_passes_every_check(tmp_path: Path) -> None:
    _api(tmp_path)
    results = _packages(tmp_path)
    assert {r.status for r in results.values()} == {Status.OK}
    assert set(results) == {"packages.api", "packages.requirements"}
    assert {r.section for r in results.values()} == {"verify"}


def test_missing_package_of_an_installed_profile_fails_with_the_fix(tmp_path: Path) -> None:
    # python-dotenv also comes with chatenv itself: doctor leaves it to the base profile, but
    # install has just installed api, so it must be there
    _api(tmp_path, dotenv=None)
    api = _packages(tmp_path)["packages.api"]
    assert api.status is Status.FAIL
    assert "python-dotenv missing" in api.summary
    assert api.fix == "chatenv install api"


def test_package_outside_its_pin_fails_with_the_fix(tmp_path: Path) -> None:
    _api(tmp_path, openai="4.1.0")
    pin = _packages(tmp_path)["packages.pin.openai"]
    assert pin.status is Status.FAIL
    assert pin.summary == "openai 4.1.0 is outside chatenv's pin <4,>=1.40"
    assert pin.fix == "chatenv install api"


def test_openai_v0_fails_with_the_explanation(tmp_path: Path) -> None:
    _api(tmp_path, openai="0.28.1")
    v0 = _packages(tmp_path)["packages.openai-v0"]
    assert v0.status is Status.FAIL and v0.fix is not None
    assert v0.fix.startswith("chatenv install api")


def test_nothing_of_a_profile_installed_fails(tmp_path: Path) -> None:
    _api(tmp_path)
    local = _packages(tmp_path, ("all",))["packages.local"]
    assert local.status is Status.FAIL and local.fix == "chatenv install local"


def test_fixes_name_the_target_interpreter(tmp_path: Path) -> None:
    _api(tmp_path, openai="4.1.0")
    write_dist(tmp_path, "leftpad", "1.0", ["absent>=1"])
    results = _packages(tmp_path, target=FixTarget("/work/my env/bin/python"))
    assert results["packages.pin.openai"].fix == (
        "chatenv install api --python '/work/my env/bin/python'"
    )
    assert results["packages.requirements"].fix == (
        "'/work/my env/bin/python' -m pip install 'absent>=1'"
    )


def test_broken_requirements_in_what_the_pins_pull_in_fail_with_the_first_and_a_count(
    tmp_path: Path,
) -> None:
    write_dist(tmp_path, "openai", "1.99.0", ["httpx>=0.23", "pydantic>=1.9"])
    write_dist(tmp_path, "pydantic", "1.8")
    write_dist(tmp_path, "python-dotenv", "1.2.2")
    result = _packages(tmp_path)["packages.requirements"]
    assert result.status is Status.FAIL
    assert result.summary.endswith("(and 1 more)")


def test_broken_requirement_of_a_dependency_fails_one_outside_the_closure_warns(
    tmp_path: Path,
) -> None:
    _api(tmp_path)
    write_dist(tmp_path, "httpx", "0.28.1", ["anyio>=4"])  # a dependency's dependency
    assert _packages(tmp_path)["packages.requirements"].status is Status.FAIL

    other = tmp_path / "other"
    _api(other)
    write_dist(other, "unrelated", "1.0", ["absent>=1"])
    result = _packages(other)["packages.requirements"]
    assert result.status is Status.WARN and "unrelated 1.0 requires absent" in result.summary


def test_extras_asked_for_by_the_pinned_packages_are_checked(tmp_path: Path) -> None:
    write_dist(tmp_path, "openai", "1.99.0", ["httpx[http2]>=0.23"])
    write_dist(tmp_path, "httpx", "0.28.1", ['h2>=3; extra == "http2"'])
    write_dist(tmp_path, "python-dotenv", "1.2.2")
    result = _packages(tmp_path)["packages.requirements"]
    assert result.status is Status.FAIL and "h2" in result.summary


# --- torch ------------------------------------------------------------------------------------


def _torch(site: Path, machine: Machine, choice_request: str = "auto", **kw):  # type: ignore[no-untyped-def]
    force = kw.pop("force", False)
    choice = choose(choice_request, machine, "2.13", force=force)
    build = scan([str(site)]).torch
    return _by_id(check_torch(build, choice, machine, ("local",), HERE, **kw))


def test_torch_build_that_is_not_the_chosen_one_fails_with_the_torch_fix(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cpu", None)
    results = _torch(tmp_path, H100_BOX, expect_variant="cu132")
    variant = results["torch.variant"]
    assert variant.status is Status.FAIL
    assert "chatenv chose cu132" in variant.summary
    assert variant.fix == "chatenv install local --torch auto"
    assert results["torch.build"].status is Status.WARN  # doctor's view: torch will not use it


def test_cpu_torch_on_a_cpu_box_passes_and_missing_torch_fails(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cpu", None)
    results = _torch(tmp_path, CPU_BOX)
    assert {r.status for r in results.values()} == {Status.OK}
    assert set(results) == {"torch.build", "torch.variant"}
    missing = _torch(tmp_path / "empty", CPU_BOX)
    assert missing["torch.variant"].status is Status.FAIL


def test_build_the_driver_cannot_run_fails_with_doctors_reason(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu130", "13.0")
    results = _torch(tmp_path, OLD_DRIVER_H100, "cu130", force=True)
    build = results["torch.build"]
    assert "needs a driver for CUDA 13.0" in build.summary
    # --force: the user asked for exactly this, so it warns instead of failing
    assert build.status is Status.WARN
    assert "installed anyway: --torch cu130 --force" in build.details
    unforced = _torch(tmp_path, OLD_DRIVER_H100)
    assert unforced["torch.build"].status is Status.FAIL
    assert unforced["torch.build"].fix == "chatenv install local --torch cu126"


def test_forced_build_is_a_warning(tmp_path: Path) -> None:
    write_torch(tmp_path, "2.13.0+cu130", "13.0")
    result = _torch(tmp_path, CPU_BOX, "cu130", force=True)["torch.variant"]
    assert result.status is Status.WARN and "--force" in result.summary
