"""The gpu section on the machines developers start on: a container not given the GPU (Docker
and Compose, Podman with CDI, Kubernetes), one given it without `compute` or with a CUDA image
newer than the host's driver, WSL 1 and 2 (a Linux driver inside WSL), a Mac, AMD GPUs.

Each machine is a tree in tmp_path the checks read from (tests/machines/ records where its
files and values came from) and NVML answering as tests/fakes/machines.py's real machines do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.doctor import gpu
from chatenv.doctor.context import Context, DoctorOptions, Seams
from chatenv.results import Status
from chatenv.system.host import Uname
from tests.fakes import machines as fake
from tests.machines import amd as amd_machines
from tests.machines import apple as mac
from tests.machines import linux

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.results import CheckResult

LINUX = Uname("Linux", "6.8.0-45-generic", "x86_64")


def collect(
    root: Path,
    lib: fake.Machine | None = None,
    environ: dict[str, str] | None = None,
    uname: Uname = LINUX,
    run: mac.SysctlRunner | None = None,
) -> dict[str, CheckResult]:
    seams = Seams(nvml=fake.nvml(lib or fake.cpu_box()), root=root, uname=uname, run=run)
    return {
        r.id: r for r in gpu.collect(Context(DoctorOptions(environ=environ or {}, seams=seams)))
    }


# -- containers without the GPU ----------------------------------------------------------------


def test_docker_without_gpus_names_docker_and_compose(tmp_path: Path) -> None:
    linux.host_gpu_on_pci(linux.docker(tmp_path))
    driver = collect(tmp_path)["gpu.driver"]
    assert driver.status is Status.WARN
    assert driver.summary == (
        "1 NVIDIA GPU on the PCI bus, but the container was started without GPU access "
        "(no /dev/nvidia* device files)"
    )
    assert driver.fix is not None
    assert driver.fix.startswith("docker run --gpus all ...")
    assert (
        "deploy.resources.reservations.devices" in driver.fix
        and "capabilities: [gpu]" in driver.fix
    )


def test_a_cuda_image_started_without_gpus_is_noticed_without_the_pci_bus(tmp_path: Path) -> None:
    """Docker Desktop's VM hides the host's PCI bus; the CUDA image still says it wants a GPU."""
    linux.docker(tmp_path)
    driver = collect(tmp_path, environ=dict(linux.CUDA_12_4_IMAGE))["gpu.driver"]
    assert driver.status is Status.WARN
    assert driver.summary.startswith("this image expects a GPU (NVIDIA_VISIBLE_DEVICES='all')")
    assert driver.fix is not None and "--gpus all" in driver.fix


def test_nvidia_visible_devices_void_is_named_as_the_reason(tmp_path: Path) -> None:
    linux.host_gpu_on_pci(linux.docker(tmp_path))
    driver = collect(tmp_path, environ={"NVIDIA_VISIBLE_DEVICES": "void"})["gpu.driver"]
    assert "NVIDIA_VISIBLE_DEVICES='void', which passes no GPU in" in driver.summary


def test_podman_gets_the_cdi_fix(tmp_path: Path) -> None:
    linux.host_gpu_on_pci(linux.podman(tmp_path))
    driver = collect(tmp_path)["gpu.driver"]
    assert driver.status is Status.WARN and driver.fix is not None
    assert driver.fix.startswith("podman run --device nvidia.com/gpu=all")
    assert "nvidia-ctk cdi generate" in driver.fix


def test_a_kubernetes_pod_gets_the_device_plugin_resource(tmp_path: Path) -> None:
    linux.host_gpu_on_pci(tmp_path)
    driver = collect(tmp_path, environ={"KUBERNETES_SERVICE_HOST": "10.96.0.1"})["gpu.driver"]
    assert driver.fix == "request the GPU in the pod spec (resources.limits: nvidia.com/gpu: 1)"


def test_a_container_without_a_gpu_anywhere_is_a_plain_cpu_skip(tmp_path: Path) -> None:
    linux.docker(tmp_path)
    driver = collect(tmp_path)["gpu.driver"]
    assert driver.status is Status.SKIP and "CPU-only" in driver.summary


# -- containers with the GPU -------------------------------------------------------------------


def test_capabilities_without_compute_warn(tmp_path: Path) -> None:
    linux.nvidia_device_files(linux.docker(tmp_path))
    env = {**linux.CUDA_12_4_IMAGE, "NVIDIA_DRIVER_CAPABILITIES": "utility"}
    results = collect(tmp_path, fake.one_h100(), env)
    caps = results["gpu.container.capabilities"]
    assert caps.status is Status.WARN
    assert caps.summary.startswith("NVIDIA_DRIVER_CAPABILITIES='utility' leaves out compute")
    assert caps.fix is not None and "NVIDIA_DRIVER_CAPABILITIES=compute,utility" in caps.fix


def test_all_capabilities_and_the_default_are_fine(tmp_path: Path) -> None:
    linux.nvidia_device_files(linux.docker(tmp_path))
    for value in ("all", "compute,utility", ""):
        env = {**linux.CUDA_12_4_IMAGE, "NVIDIA_DRIVER_CAPABILITIES": value}
        assert "gpu.container.capabilities" not in collect(tmp_path, fake.one_h100(), env)


def test_a_cuda_13_image_on_a_cuda_12_driver_warns_with_the_driver_it_needs(tmp_path: Path) -> None:
    linux.nvidia_device_files(linux.docker(tmp_path))
    results = collect(tmp_path, fake.one_h100("550.54.15", 12040), dict(linux.CUDA_13_0_IMAGE))
    cuda = results["gpu.container.cuda"]
    assert cuda.status is Status.WARN
    assert cuda.summary == (
        "this image's CUDA 13.0.1 (CUDA_VERSION) needs a driver for CUDA 13.x; the host's "
        "driver 550.54.15 supports CUDA 12.4"
    )
    assert cuda.fix is not None and "580 or newer" in cuda.fix and "CUDA 12.x" in cuda.fix


def test_a_newer_minor_cuda_image_runs_through_minor_version_compatibility(tmp_path: Path) -> None:
    linux.nvidia_device_files(linux.docker(tmp_path))
    env = {**linux.CUDA_12_4_IMAGE, "CUDA_VERSION": "12.6.3"}
    cuda = collect(tmp_path, fake.one_h100("550.54.15", 12040), env)["gpu.container.cuda"]
    assert cuda.status is Status.OK and "minor version compatibility" in cuda.summary


# -- WSL ---------------------------------------------------------------------------------------


def test_wsl2_with_the_windows_driver_says_where_the_gpu_comes_from(tmp_path: Path) -> None:
    linux.wsl2(tmp_path)
    results = collect(tmp_path, fake.one_h100())
    assert results["gpu.driver"].status is Status.OK
    assert any("Windows NVIDIA driver" in d for d in results["gpu.driver"].details)
    assert "gpu.wsl" not in results


def test_wsl2_without_the_windows_driver_points_at_windows(tmp_path: Path) -> None:
    linux.wsl2(tmp_path, windows_driver=False)
    driver = collect(tmp_path)["gpu.driver"]
    assert driver.status is Status.SKIP
    assert (
        driver.fix == "install the NVIDIA driver on Windows (not inside WSL), then: wsl --shutdown"
    )


def test_a_linux_driver_inside_wsl_is_named_with_the_packages_to_remove(tmp_path: Path) -> None:
    linux.linux_driver_inside_wsl(linux.wsl2(tmp_path))
    results = collect(tmp_path, fake.driver_not_loaded())
    found = results["gpu.wsl"]
    assert found.status is Status.WARN
    assert found.summary.startswith(
        "a Linux NVIDIA driver is installed inside WSL (libnvidia-compute-535, nvidia-driver-535)"
    )
    assert found.fix is not None
    assert found.fix.startswith(
        "sudo apt-get remove --purge libnvidia-compute-535 nvidia-driver-535"
    )
    assert "Windows NVIDIA driver" in found.fix


def test_wsl1_says_convert_to_wsl2_with_the_distro_name(tmp_path: Path) -> None:
    linux.wsl1(tmp_path)
    driver = collect(tmp_path, environ={"WSL_DISTRO_NAME": "Ubuntu-22.04"})["gpu.driver"]
    assert driver.status is Status.SKIP
    assert driver.fix == "wsl --set-version Ubuntu-22.04 2  # in PowerShell on Windows"


# -- a Mac -------------------------------------------------------------------------------------


def test_apple_silicon_reports_its_gpu_through_metal_and_unified_memory(tmp_path: Path) -> None:
    driver = collect(tmp_path, uname=mac.NATIVE, run=mac.SysctlRunner(mac.M2_PRO))["gpu.driver"]
    assert driver.status is Status.OK
    assert driver.summary == (
        "Apple M2 Pro: its GPU through Metal (torch's mps device), sharing 16.0 GiB of unified "
        "memory with the CPU"
    )


def test_an_intel_mac_has_no_gpu_for_torch(tmp_path: Path) -> None:
    run = mac.SysctlRunner(mac.INTEL_MAC, mac.INTEL_MAC_STDERR, 1)
    driver = collect(tmp_path, uname=mac.INTEL, run=run)["gpu.driver"]
    assert driver.status is Status.SKIP and driver.summary.startswith("an Intel Mac")


# -- AMD ---------------------------------------------------------------------------------------


def test_an_mi300x_is_one_line_with_its_partitions(tmp_path: Path) -> None:
    results = collect(amd_machines.write_mi300x(tmp_path))
    assert results["gpu.driver"].summary == "no NVIDIA GPU (the AMD GPUs are below)"
    assert results["gpu.amd"].summary == "AMD's amdgpu driver 6.10.5; 8 AMD GPUs"
    chip = results["gpu.amd.0"]
    assert chip.status is Status.OK
    assert chip.summary == (
        "GPU 0-7: AMD Instinct MI300X (gfx942), 304 compute units, 8 compute partitions: ROCm "
        "and torch see 8 devices"
    )


def test_a_radeon_card_shows_name_gfx_and_memory(tmp_path: Path) -> None:
    results = collect(amd_machines.write_rx7900xtx(tmp_path))
    assert results["gpu.amd"].summary == "the amdgpu driver built into the kernel; 1 AMD GPU"
    assert results["gpu.amd.0"].summary == (
        "GPU 0: AMD Radeon RX 7900 XTX (gfx1100), 96 compute units, 22.5 of 24.0 GiB free"
    )


def test_hsa_override_is_reported(tmp_path: Path) -> None:
    env = {"HSA_OVERRIDE_GFX_VERSION": "10.3.0"}
    results = collect(amd_machines.write_rx6700xt(tmp_path), environ=env)
    assert "(gfx1031, run as gfx1030)" in results["gpu.amd.0"].summary
    assert (
        "HSA_OVERRIDE_GFX_VERSION=10.3.0: ROCm treats every GPU as gfx1030"
        in results["gpu.amd"].details
    )


def test_an_amd_gpu_in_a_container_without_dev_kfd_gets_the_device_flags(tmp_path: Path) -> None:
    amd_machines.write_rx7900xtx(linux.docker(tmp_path))
    (tmp_path / "dev/kfd").unlink()
    found = collect(tmp_path)["gpu.amd"]
    assert found.status is Status.WARN
    assert found.fix is not None and found.fix.startswith(
        "docker run --device=/dev/kfd --device=/dev/dri --group-add video"
    )


def test_an_amd_gpu_in_a_pod_without_dev_kfd_gets_the_amd_resource(tmp_path: Path) -> None:
    amd_machines.write_mi300x(tmp_path)
    (tmp_path / "dev/kfd").unlink()
    found = collect(tmp_path, environ={"KUBERNETES_SERVICE_HOST": "10.96.0.1"})["gpu.amd"]
    assert found.fix == "request the GPU in the pod spec (resources.limits: amd.com/gpu: 1)"


def test_an_amd_gpu_without_the_compute_driver_is_a_skip_with_modprobe(tmp_path: Path) -> None:
    device = tmp_path / "sys/bus/pci/devices/0000:03:00.0"
    device.mkdir(parents=True)
    (device / "vendor").write_text("0x1002\n")
    (device / "class").write_text("0x030000\n")
    found = collect(tmp_path)["gpu.amd"]
    assert found.status is Status.SKIP and found.fix is not None
    assert found.fix.startswith("sudo modprobe amdgpu")


def test_no_permission_on_dev_kfd_names_the_group_to_join(tmp_path: Path) -> None:
    import os

    from chatenv.system import amd

    amd_machines.write_rx7900xtx(tmp_path)
    os.chown(tmp_path / "dev/kfd", 0, 110)  # root:render 0660, as udev makes it
    found = gpu.check_amd_driver(amd.probe(tmp_path, {}, ids=(1000, (1000,))), None)
    assert found.status is Status.WARN
    assert (
        found.summary
        == "not allowed to open /dev/kfd (group render): ROCm and torch see no AMD GPU"
    )
    assert found.fix == "sudo usermod -aG render $USER  # then log out and in again"
