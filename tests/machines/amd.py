"""AMD GPUs as the amdgpu driver shows them: sysfs trees of real machines, written under a root
the checks read from. Nothing here has an AMD GPU; every value says where it came from.

- An Instinct MI300X: the KFD topology `properties` files are those of a real 8 x MI300X node
  in CPX partition mode (each GPU shows as 8 KFD nodes of 38 compute units, one render node
  each), captured in ROCm/k8s-device-plugin `testdata/topo-mi300-cpx` (commit 4e0e694e,
  "Topology aware gpu allocation"): CPU node 0 and GPU node 2 verbatim below; nodes 3-9, the
  other partitions of the same GPU, differ from node 2 only in `simd_id_base` (+40 each),
  `location_id` (+1: PCI function 1-7) and `drm_render_minor` (+1), as in the capture. Its
  `local_mem_size` is 0 and the capture has no DRM files, so its memory is not known here.
- A Radeon RX 7900 XTX and a Radeon RX 6700 XT: `gfx_target_version` 110000 (gfx1100) and
  100301 (gfx1031) from LLVM's AMDGPU processor table, encoded as the kernel's kfd_topology.c
  writes it (major*10000 + minor*100 + stepping); PCI ids 0x744c rev 0xc8 and 0x73df rev 0xc1
  from libdrm's amdgpu.ids; 96 and 40 compute units (two SIMDs per RDNA CU) and 24 / 12 GiB
  from AMD's spec sheets; `mem_info_vram_total` 25753026560 (a 7900 XTX's, 24 GiB less the
  firmware reserve) and 12868124672 (6700 XT) as the amdgpu driver's sysfs reports them
  (Documentation/gpu/amdgpu/driver-misc.rst documents the files).
- libdrm's `amdgpu.ids` lines are the table's own (mesa/drm `data/amdgpu.ids`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tests.sites import torch_version_py, write_dist

if TYPE_CHECKING:
    from pathlib import Path

#: ROCm/k8s-device-plugin testdata/topo-mi300-cpx/topology/nodes/0/properties (the CPU node)
MI300X_CPU_NODE = """\
cpu_cores_count 96
simd_count 0
mem_banks_count 1
caches_count 0
io_links_count 33
p2p_links_count 31
cpu_core_id_base 0
simd_id_base 0
max_waves_per_simd 0
lds_size_in_kb 0
gds_size_in_kb 0
num_gws 0
wave_front_size 0
array_count 0
simd_arrays_per_engine 0
cu_per_simd_array 0
simd_per_cu 0
max_slots_scratch_cu 0
gfx_target_version 0
vendor_id 0
device_id 0
location_id 0
domain 0
drm_render_minor 0
hive_id 0
num_sdma_engines 0
num_sdma_xgmi_engines 0
num_sdma_queues_per_engine 0
num_cp_queues 0
max_engine_clk_ccompute 2750
"""

#: ... nodes/2/properties: the first CPX partition of the first MI300X
MI300X_PARTITION = """\
cpu_cores_count 0
simd_count 152
mem_banks_count 1
caches_count 80
io_links_count 63
p2p_links_count 1
cpu_core_id_base 0
simd_id_base 2147488064
max_waves_per_simd 8
lds_size_in_kb 64
gds_size_in_kb 0
num_gws 64
wave_front_size 64
array_count 4
simd_arrays_per_engine 1
cu_per_simd_array 10
simd_per_cu 4
max_slots_scratch_cu 32
gfx_target_version 90402
vendor_id 4098
device_id 29857
location_id 1280
domain 0
drm_render_minor 128
hive_id 15188982192727901047
num_sdma_engines 2
num_sdma_xgmi_engines 0
num_sdma_queues_per_engine 8
num_cp_queues 24
max_engine_clk_fcompute 2100
local_mem_size 0
fw_version 177
capability 2893521536
debug_prop 1511
sdma_fw_version 24
unique_id 16404946649897475633
num_xcc 1
max_engine_clk_ccompute 2750
"""

AMDGPU_IDS = """\
# List of AMDGPU IDs
#
# Syntax:
# device_id,\trevision_id,\tproduct_name        <-- single tab after comma

1.0.0
73DF,\tC0,\tAMD Radeon RX 6750 XT
73DF,\tC1,\tAMD Radeon RX 6700 XT
744C,\tC8,\tAMD Radeon RX 7900 XTX
744C,\tCC,\tAMD Radeon RX 7900 XT
74A1,\t00,\tAMD Instinct MI300X
"""


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _driver(root: Path, version: str | None) -> None:
    """/sys/class/kfd, /dev/kfd, the amdgpu module (with AMD's packaged driver's version file
    when `version` is given), libdrm's name table and /etc/group's render line."""
    (root / "sys/class/kfd/kfd/topology/nodes").mkdir(parents=True, exist_ok=True)
    (root / "sys/module/amdgpu").mkdir(parents=True, exist_ok=True)
    if version:
        _write(root, "sys/module/amdgpu/version", version + "\n")
    _write(root, "dev/kfd", "")
    os.chmod(root / "dev/kfd", 0o660)
    _write(root, "usr/share/libdrm/amdgpu.ids", AMDGPU_IDS)
    _write(root, "etc/group", "root:x:0:\nvideo:x:44:\nrender:x:110:\n")


def write_mi300x(root: Path, partitions: int = 8) -> Path:
    """One MI300X in CPX mode (8 partitions) next to the CPU node, as in the capture.
    ROCm's amdgpu-dkms 6.10.5 (its `ROCk module version`) as the packaged driver."""
    _driver(root, "6.10.5")
    nodes = root / "sys/class/kfd/kfd/topology/nodes"
    _write(root, f"{nodes.relative_to(root)}/0/properties", MI300X_CPU_NODE)
    for i in range(partitions):
        text = (
            MI300X_PARTITION.replace(
                "simd_id_base 2147488064", f"simd_id_base {2147488064 + 40 * i}"
            )
            .replace("location_id 1280", f"location_id {1280 + i}")
            .replace("drm_render_minor 128", f"drm_render_minor {128 + i}")
        )
        _write(root, f"{nodes.relative_to(root)}/{2 + i}/properties", text)
        _write(root, f"sys/class/drm/renderD{128 + i}/device/revision", "0x00\n")
    return root


def _card(
    root: Path,
    node: int,
    minor: int,
    target: int,
    device_id: int,
    revision: str,
    cus: int,
    vram: int,
) -> None:
    """One Radeon GPU as KFD node `node` with render minor `minor`. RDNA has two SIMD32 units
    per compute unit (kfd_topology.c's simd_per_cu), so simd_count is twice the CUs."""
    _write(
        root,
        f"sys/class/kfd/kfd/topology/nodes/{node}/properties",
        "cpu_cores_count 0\n"
        f"simd_count {cus * 2}\n"
        "mem_banks_count 1\n"
        "wave_front_size 32\n"
        "simd_per_cu 2\n"
        f"gfx_target_version {target}\n"
        "vendor_id 4098\n"
        f"device_id {device_id}\n"
        f"location_id {768 + 256 * node}\n"
        "domain 0\n"
        f"drm_render_minor {minor}\n"
        "local_mem_size 0\n"
        "unique_id 0\n",
    )
    device = f"sys/class/drm/renderD{minor}/device"
    _write(root, f"{device}/revision", revision + "\n")
    _write(root, f"{device}/mem_info_vram_total", f"{vram}\n")
    _write(root, f"{device}/mem_info_vram_used", f"{vram // 16}\n")


def _desktop(root: Path) -> None:
    """The in-kernel amdgpu driver (no version file) and a 16-core CPU as KFD node 0."""
    _driver(root, None)
    _write(
        root,
        "sys/class/kfd/kfd/topology/nodes/0/properties",
        "cpu_cores_count 16\nsimd_count 0\ngfx_target_version 0\n",
    )


def write_rx7900xtx(root: Path) -> Path:
    _desktop(root)
    _card(root, 1, 128, 110000, 0x744C, "0xc8", 96, 25753026560)
    return root


def write_rx6700xt(root: Path) -> Path:
    _desktop(root)
    _card(root, 1, 128, 100301, 0x73DF, "0xc1", 40, 12868124672)
    return root


def write_rx7900xtx_with_igpu(root: Path) -> Path:
    """The machine of a public ROCm report: GPU 0 an RX 7900 XTX (gfx1100, 1002:744c), GPU 1
    the Ryzen CPU's integrated "AMD Radeon Graphics" (gfx1036, 1002:13c0, 2 CUs, 512 MiB
    carved out of RAM), torch 2.5.1+rocm6.2, HIP 6.2.41133-dd7f95766."""
    write_rx7900xtx(root)
    _card(root, 2, 129, 100306, 0x13C0, "0xc1", 2, 512 * 2**20)
    return root


def rocblas_files(arches: tuple[str, ...]) -> dict[str, str]:
    """torch/lib/rocblas/library as a ROCm wheel lays it out: per architecture a lazy-loading
    Tensile catalogue and a kernel object (`TensileLibrary_lazy_<gfx>.dat`,
    `Kernels.so-000-<gfx>.hsaco`; gfx90a twice, with and without xnack), plus files of no
    architecture, and a generic target that is no GPU's name."""
    files = {"torch/lib/rocblas/library/TensileManifest.txt": ""}
    for gfx in arches:
        files[f"torch/lib/rocblas/library/TensileLibrary_lazy_{gfx}.dat"] = ""
        suffixes = ("-xnack-", "-xnack+") if gfx == "gfx90a" else ("",)
        for suffix in suffixes:
            files[f"torch/lib/rocblas/library/Kernels.so-000-{gfx}{suffix}.hsaco"] = ""
    files["torch/lib/rocblas/library/Kernels.so-000-gfx11-generic.hsaco"] = ""
    return files


#: `torch.version.hip` of torch 2.5.1+rocm6.2, as collect_env reports it ("ROCM used to build
#: PyTorch: 6.2.41133-dd7f95766")
HIP_6_2 = "6.2.41133-dd7f95766"
#: the default: the architectures chatenv's table gives the build's variant
TABLE = ("table",)


def write_torch_rocm(
    site: Path,
    version: str = "2.5.1+rocm6.2",
    hip: str = HIP_6_2,
    arches: tuple[str, ...] | None = TABLE,
) -> Path:
    """An installed ROCm torch: version.py as its build writes it (`cuda` None, `hip` the HIP
    version) and its rocBLAS kernel files: the table's architectures for its variant by
    default, `arches` when given, no rocblas folder at all when None."""
    from chatenv.rocm_builds import ARCHES, variant_of

    files = {
        "torch/__init__.py": "raise ImportError('this test torch must be read, never imported')\n",
        "torch/version.py": torch_version_py(version, None, hip),
    }
    if arches == TABLE:
        arches = ARCHES[variant_of(version) or "rocm6.2"]
    if arches is not None:
        files.update(rocblas_files(arches))
    return write_dist(site, "torch", version, files=files)
