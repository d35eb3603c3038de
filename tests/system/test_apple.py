"""A Mac's chip, memory, macOS and Rosetta from one sysctl call, through the runner seam with the
recorded answers of real Macs (tests/machines/apple.py): nothing here runs macOS."""

from __future__ import annotations

from chatenv.system import apple
from chatenv.system.host import Uname
from tests.machines import apple as mac


def test_an_m2_pro_is_read_from_one_sysctl_call() -> None:
    runner = mac.SysctlRunner(mac.M2_PRO)
    facts = apple.observe(runner, mac.NATIVE)
    assert facts is not None
    assert len(runner.calls) == 1 and runner.calls[0][1:] == apple.NAMES
    assert facts.chip == "Apple M2 Pro" and facts.model == "Mac14,9"
    assert facts.memory_bytes == 16 * 2**30
    assert (facts.performance_cores, facts.efficiency_cores) == (8, 4)
    assert facts.apple_silicon and not facts.translated and not facts.rosetta
    assert facts.macos == "14.4.1"


def test_an_x86_64_python_on_apple_silicon_is_rosetta() -> None:
    facts = apple.observe(mac.SysctlRunner(mac.M2_PRO_UNDER_ROSETTA), mac.ROSETTA)
    assert facts is not None and facts.rosetta and facts.translated
    # the real version, whatever the translated Python believes
    assert facts.macos == "14.4.1" and facts.python_macos == "10.16"


def test_an_intel_mac_is_not_apple_silicon_and_its_unknown_names_cost_nothing_else() -> None:
    runner = mac.SysctlRunner(mac.INTEL_MAC, mac.INTEL_MAC_STDERR, returncode=1)
    facts = apple.observe(runner, mac.INTEL)
    assert facts is not None
    assert facts.chip is not None and facts.chip.startswith("Intel(R) Core(TM) i9")
    assert facts.apple_silicon is None and not facts.rosetta
    assert facts.memory_bytes == 16 * 2**30 and facts.error is None


def test_a_macos_vm_is_told_by_its_model() -> None:
    facts = apple.observe(mac.SysctlRunner(mac.VIRTUAL_MAC), mac.NATIVE)
    assert facts is not None and facts.virtual_machine


def test_no_sysctl_is_started_on_linux() -> None:
    runner = mac.SysctlRunner("")
    assert apple.observe(runner, Uname("Linux", "6.8.0", "x86_64")) is None
    assert runner.calls == []


def test_a_sysctl_that_says_nothing_leaves_its_error() -> None:
    facts = apple.observe(mac.SysctlRunner("", "sysctl: permission denied", 1), mac.NATIVE)
    assert facts is not None and facts.error == "sysctl: permission denied"
    assert facts.chip is None and not facts.rosetta


def test_each_torch_release_needs_its_macos_for_mps() -> None:
    assert apple.mps_min_macos("2.4") == (12, 3)
    assert apple.mps_min_macos("2.5") == (13, 0)
    assert apple.mps_min_macos("2.9") == (13, 0)
    assert apple.mps_min_macos("2.10") == (14, 0)
    assert apple.mps_min_macos("2.13") == (14, 0)
    assert apple.mps_min_macos("1.11") is None
    assert apple.version_tuple("14.4.1") == (14, 4) and apple.version_tuple("26") == (26, 0)
