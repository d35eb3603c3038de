"""The checks run after installing: pins, the dependency closure, the torch build."""

from __future__ import annotations

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from chatenv.install.pins import Pin
from chatenv.install.variant import Machine, choose
from chatenv.install.verify import check_dependencies, check_pins, check_torch_build
from chatenv.installed import BrokenRequirement, TorchBuild
from chatenv.results import Status
from chatenv.system.nvml import CudaVersion, DriverInfo, GpuInfo, GpuProbe, ProbeState

PINS = (Pin("openai", SpecifierSet(">=1.40,<4")), Pin("python-dotenv", SpecifierSet(">=1.2.2")))
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


def test_pins_ok_missing_and_out_of_range_each_get_a_fix() -> None:
    results = check_pins(PINS, {"openai": "0.28.1", "python-dotenv": None}, ("api",))
    assert [r.status for r in results] == [Status.FAIL, Status.FAIL]
    assert results[0].summary == "openai 0.28.1 is outside the pins (<4,>=1.40)"
    assert results[0].fix == "chatenv install api --upgrade"
    assert results[1].fix == "chatenv install api"
    ok = check_pins(PINS, {"openai": "1.99.0", "python-dotenv": "1.2.2"}, ("api",))
    assert all(r.status is Status.OK for r in ok)


def test_dependency_problems_fail_with_the_first_and_a_count() -> None:
    problems = [
        BrokenRequirement("openai", "1.50.0", Requirement("httpx>=0.23"), None),
        BrokenRequirement("openai", "1.50.0", Requirement("pydantic>=1.9"), "1.8"),
    ]
    result = check_dependencies(problems, ("api",))
    assert result.status is Status.FAIL
    assert result.summary.endswith("(and 1 more)")
    assert check_dependencies([], ("api",)).status is Status.OK


def test_torch_build_that_is_not_the_chosen_one_fails_with_the_torch_fix() -> None:
    choice = choose("auto", H100_BOX, "2.13")
    result = check_torch_build(
        TorchBuild("2.13.0+cpu", None), choice, H100_BOX, ("local",), expect_variant="cu132"
    )
    assert result.status is Status.FAIL
    assert "chatenv chose cu132" in result.summary
    assert result.fix == "chatenv install local --torch auto"


def test_cpu_torch_on_a_cpu_box_passes_and_missing_torch_fails() -> None:
    choice = choose("auto", CPU_BOX, "2.13")
    assert (
        check_torch_build(TorchBuild("2.13.0+cpu", None), choice, CPU_BOX, ("local",)).status
        is Status.OK
    )
    assert check_torch_build(None, choice, CPU_BOX, ("local",)).status is Status.FAIL


def test_forced_build_is_a_warning() -> None:
    choice = choose("cu130", CPU_BOX, "2.13", force=True)
    result = check_torch_build(
        TorchBuild("2.13.0+cu130", CudaVersion(13, 0)), choice, CPU_BOX, ("local",)
    )
    assert result.status is Status.WARN and "--force" in result.summary
