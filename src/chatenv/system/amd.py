"""AMD GPUs, read from the files the amdgpu driver publishes (no ROCm tools, no new dependency):
its compute interface's topology under /sys/class/kfd, each GPU's DRM device under
/sys/class/drm, /dev/kfd, and libdrm's table of marketing names. Every path is read under a
root, so tests hand in a tree recorded from a real machine.

- /sys/class/kfd/kfd/topology/nodes/N/properties: one `name value` line each; a GPU node has
  `simd_count` > 0, `gfx_target_version` (major*10000 + minor*100 + stepping: 90402 is
  gfx942), `vendor_id` 4098 (0x1002), `device_id`, `location_id` (PCI bus/device/function),
  `drm_render_minor` (its /dev/dri/renderD<minor>) and `unique_id`. A GPU split into compute
  partitions (an MI300X in CPX mode) shows one node per partition, with the same unique_id:
  ROCm and torch count each partition as a device.
- /sys/class/drm/renderD<minor>/device/: `mem_info_vram_total`, `mem_info_vram_used`
  (bytes), `revision`, `product_name` (boards with a FRU EEPROM).
- /sys/module/amdgpu/version: the version of AMD's packaged (DKMS) driver; the driver built into
  the kernel has no such file.
- /usr/share/libdrm/amdgpu.ids: `device_id,\trevision,\tname` lines (libdrm's table).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatenv.records import dataclass, field
from chatenv.rocm_builds import gfx_from_override, gfx_from_target_version

if TYPE_CHECKING:
    from collections.abc import Mapping

AMD_VENDOR_ID = 4098  # 0x1002, as KFD writes it (decimal)
AMD_PCI_VENDOR = "0x1002"
TOPOLOGY = "sys/class/kfd/kfd/topology/nodes"
IDS_FILES = ("usr/share/libdrm/amdgpu.ids", "opt/amdgpu/share/libdrm/amdgpu.ids")


@dataclass(frozen=True)
class AmdGpu:
    index: int  # as ROCm and torch number the devices: GPU nodes in node order
    node: int  # the KFD topology node
    gfx: str | None  # "gfx942"
    name: str | None  # "AMD Instinct MI300X"
    device_id: str | None  # "0x74a1"
    pci: str | None  # "0000:05:00.0"
    compute_units: int | None
    memory_total: int | None  # bytes of VRAM
    memory_used: int | None
    unique_id: str | None
    render_minor: int | None

    @property
    def label(self) -> str:
        return f"GPU {self.index} {self.name or 'AMD GPU'} ({self.gfx or 'gfx unknown'})"

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "node": self.node,
            "gfx": self.gfx,
            "name": self.name,
            "device_id": self.device_id,
            "pci": self.pci,
            "compute_units": self.compute_units,
            "memory_total": self.memory_total,
            "memory_used": self.memory_used,
            "render_minor": self.render_minor,
        }


@dataclass(frozen=True)
class DeviceAccess:
    """Can this user open a device file? ("ok", "missing" or "no-permission")"""

    state: str
    path: str
    group: str | None = None  # the group that owns it (render, video), when it cannot be opened


@dataclass(frozen=True)
class AmdProbe:
    gpus: tuple[AmdGpu, ...] = ()
    #: the amdgpu driver's compute interface is there (/sys/class/kfd)
    kfd: bool = False
    dev_kfd: DeviceAccess = field(default_factory=lambda: DeviceAccess("missing", "/dev/kfd"))
    driver_version: str | None = None  # AMD's packaged driver; None: the in-kernel one
    driver_loaded: bool = False
    #: AMD display controllers on the PCI bus (read only when KFD shows no GPU)
    pci_amd: int | None = None
    #: HSA_OVERRIDE_GFX_VERSION as set, and the gfx name ROCm then assumes for every GPU
    override: str | None = None
    rocm_version: str | None = None  # /opt/rocm/.info/version, when ROCm is installed

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpus)

    @property
    def override_gfx(self) -> str | None:
        return gfx_from_override(self.override) if self.override else None

    def effective_gfx(self, gpu: AmdGpu) -> str | None:
        """The architecture ROCm treats this GPU as (HSA_OVERRIDE_GFX_VERSION wins)."""
        return self.override_gfx or gpu.gfx

    def chips(self) -> list[list[AmdGpu]]:
        """The GPUs grouped by physical chip (the partitions of one MI300X together)."""
        groups: dict[str, list[AmdGpu]] = {}
        for gpu in self.gpus:
            key = gpu.unique_id if gpu.unique_id not in (None, "0") else f"node{gpu.node}"
            groups.setdefault(key, []).append(gpu)
        return list(groups.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "gpus": [g.to_json() for g in self.gpus],
            "kfd": self.kfd,
            "dev_kfd": self.dev_kfd.state,
            "driver_version": self.driver_version,
            "driver_loaded": self.driver_loaded,
            "pci_amd": self.pci_amd,
            "HSA_OVERRIDE_GFX_VERSION": self.override,
            "rocm_version": self.rocm_version,
        }


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return None


def parse_properties(text: str) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, value = line.strip().partition(" ")
        try:
            values[name] = int(value)
        except ValueError:
            continue
    return values


def _pci_slot(props: Mapping[str, int]) -> str | None:
    location = props.get("location_id")
    if not location:
        return None
    bus, devfn = divmod(location, 256)
    return f"{props.get('domain', 0):04x}:{bus:02x}:{devfn >> 3:02x}.{devfn & 7}"


def _names(root: Path) -> dict[tuple[str, str], str]:
    for rel in IDS_FILES:
        text = _read(root / rel)
        if text is None:
            continue
        names: dict[tuple[str, str], str] = {}
        for line in text.splitlines():
            parts = [p.strip() for p in line.split(",", 2)]
            if len(parts) == 3 and not line.startswith("#"):
                names[(parts[0].lower(), parts[1].lower())] = parts[2]
        return names
    return {}


def _name(device: Path, device_id: str, names: dict[tuple[str, str], str]) -> str | None:
    product = _read(device / "product_name")
    if product:
        return product
    hex_id = device_id.removeprefix("0x").zfill(4)
    revision = (_read(device / "revision") or "").removeprefix("0x").zfill(2)
    if (hex_id, revision) in names:
        return names[(hex_id, revision)]
    return next((name for (d, _), name in names.items() if d == hex_id), None)


def _int_file(path: Path) -> int | None:
    text = _read(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _memory(node_dir: Path, device: Path, props: Mapping[str, int]) -> tuple[int | None, ...]:
    total = _int_file(device / "mem_info_vram_total")
    if total:
        return total, _int_file(device / "mem_info_vram_used")
    if props.get("local_mem_size"):
        return props["local_mem_size"], None
    banks = 0
    for bank in sorted((node_dir / "mem_banks").glob("*/properties")):
        bank_props = parse_properties(_read(bank) or "")
        if bank_props.get("heap_type") in (1, 2):  # frame buffer, public and private
            banks += bank_props.get("size_in_bytes", 0)
    return (banks or None), None


def _node_number(path: Path) -> int:
    return int(path.name) if path.name.isdigit() else 1 << 30


def read_gpus(root: Path) -> tuple[AmdGpu, ...]:
    try:
        nodes = sorted((root / TOPOLOGY).iterdir(), key=_node_number)
    except OSError:
        return ()
    names: dict[tuple[str, str], str] | None = None
    gpus: list[AmdGpu] = []
    for node_dir in nodes:
        props = parse_properties(_read(node_dir / "properties") or "")
        if not props.get("simd_count") or props.get("vendor_id") not in (AMD_VENDOR_ID, None):
            continue  # a CPU node
        minor = props.get("drm_render_minor")
        device = root / f"sys/class/drm/renderD{minor}/device"
        device_id = f"0x{props['device_id']:04x}" if props.get("device_id") else None
        if names is None:
            names = _names(root)
        total, used = _memory(node_dir, device, props)
        simd_per_cu = props.get("simd_per_cu") or 0
        gpus.append(
            AmdGpu(
                index=len(gpus),
                node=_node_number(node_dir),
                gfx=gfx_from_target_version(props.get("gfx_target_version", 0)),
                name=_name(device, device_id, names) if device_id else None,
                device_id=device_id,
                pci=_pci_slot(props),
                compute_units=props["simd_count"] // simd_per_cu if simd_per_cu else None,
                memory_total=total,
                memory_used=used,
                unique_id=str(props["unique_id"]) if "unique_id" in props else None,
                render_minor=minor,
            )
        )
    return tuple(gpus)


def _group_name(root: Path, gid: int) -> str | None:
    for line in (_read(root / "etc/group") or "").splitlines():
        parts = line.split(":")
        if len(parts) > 2 and parts[2] == str(gid):
            return parts[0]
    return None


def device_access(root: Path, rel: str, ids: tuple[int, tuple[int, ...]]) -> DeviceAccess:
    """Read and write permission on a device file, judged from its mode bits against this
    user's ids (`ids`: effective uid and groups), so a test can be any user."""
    path = root / rel
    shown = "/" + rel
    try:
        st = path.stat()
    except OSError:
        return DeviceAccess("missing", shown)
    uid, groups = ids
    rw = (stat.S_IRUSR | stat.S_IWUSR, stat.S_IRGRP | stat.S_IWGRP, stat.S_IROTH | stat.S_IWOTH)
    allowed = (
        uid == 0
        or (st.st_uid == uid and st.st_mode & rw[0] == rw[0])
        or (st.st_gid in groups and st.st_mode & rw[1] == rw[1])
        or st.st_mode & rw[2] == rw[2]
    )
    if allowed:
        return DeviceAccess("ok", shown)
    return DeviceAccess("no-permission", shown, _group_name(root, st.st_gid) or str(st.st_gid))


def pci_count(root: Path, vendor: str) -> int | None:
    """Display controllers (PCI class 0x03xxxx) of one vendor on the PCI bus; no driver needed."""
    try:
        entries = list((root / "sys/bus/pci/devices").iterdir())
    except OSError:
        return None
    count = 0
    for entry in entries:
        try:
            if (entry / "vendor").read_text().strip().lower() != vendor:
                continue
            if (entry / "class").read_text().strip().lower().startswith("0x03"):
                count += 1
        except OSError:
            continue
    return count


def this_user() -> tuple[int, tuple[int, ...]]:
    if not hasattr(os, "geteuid"):
        return 0, ()
    return os.geteuid(), (os.getegid(), *os.getgroups())


def probe(
    root: Path = Path("/"),
    environ: Mapping[str, str] | None = None,
    ids: tuple[int, tuple[int, ...]] | None = None,
) -> AmdProbe:
    """What the amdgpu driver says about this machine's AMD GPUs (never raises)."""
    environ = os.environ if environ is None else environ
    gpus = read_gpus(root)
    kfd = (root / "sys/class/kfd").exists()
    override = environ.get("HSA_OVERRIDE_GFX_VERSION") or None
    if not kfd and not gpus:
        pci = pci_count(root, AMD_PCI_VENDOR)
        return AmdProbe(pci_amd=pci, override=override, driver_loaded=_loaded(root))
    return AmdProbe(
        gpus=gpus,
        kfd=kfd,
        dev_kfd=device_access(root, "dev/kfd", ids or this_user()),
        driver_version=_read(root / "sys/module/amdgpu/version") or None,
        driver_loaded=_loaded(root),
        pci_amd=None,
        override=override,
        rocm_version=_read(root / "opt/rocm/.info/version") or None,
    )


def _loaded(root: Path) -> bool:
    return (root / "sys/module/amdgpu").is_dir()
