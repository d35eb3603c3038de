"""The floor under `chatenv doctor --offline --json`: only what any doctor must do, written as
plainly as possible, so that bench_doctor.py can say how far above it chatenv is.

What doctor cannot avoid, and this script does: start the interpreter (with `site`, as the
console script does), read the metadata header of every installed distribution on sys.path
(name, version, requirements), try to load libnvidia-ml (and find it missing on a machine
without the driver), measure free disk space where models go, and write one JSON document.
Nothing else: no checks, no messages, no threads.

Two heavier variants, for comparison (bench_doctor.py prints doctor's ratio to each):
`--packaging` also checks every requirement's version range with packaging (the library any
correct `pip check` uses: its Version and SpecifierSet; names split off and normalised by
hand, lines with markers left out); `--importlib` reads the metadata the standard library's
way, `importlib.metadata` and its email parser, instead of by hand.

    python benchmarks/doctor_floor.py [--packaging | --importlib] > /dev/null
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sys


def distributions() -> list[dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for folder in sys.path:
        try:
            entries = os.scandir(folder or ".")
        except OSError:
            continue
        with entries:
            for entry in entries:
                if not entry.name.endswith((".dist-info", ".egg-info")):
                    continue
                name = "METADATA" if entry.name.endswith(".dist-info") else "PKG-INFO"
                try:
                    with open(os.path.join(entry.path, name), encoding="utf-8") as f:
                        head = f.read(65536).split("\n\n", 1)[0]
                except OSError:
                    continue
                fields: dict[str, object] = {"requires": []}
                for line in head.splitlines():
                    key, _, value = line.partition(": ")
                    if key in ("Name", "Version"):
                        fields[key.lower()] = value
                    elif key == "Requires-Dist":
                        fields["requires"].append(value)  # type: ignore[attr-defined]
                found.setdefault(str(fields.get("name", "")).lower(), fields)
    return list(found.values())


def distributions_by_importlib() -> list[dict[str, object]]:
    from importlib.metadata import distributions as found

    seen: dict[str, dict[str, object]] = {}
    for dist in found():
        meta = dist.metadata
        name = str(meta["Name"] or "")
        seen.setdefault(
            name.lower(),
            {
                "name": name,
                "version": meta["Version"],
                "requires": meta.get_all("Requires-Dist") or [],
            },
        )
    return list(seen.values())


def check_ranges(dists: list[dict[str, object]]) -> int:
    """How many requirements (without a marker) the installed versions fail: names and ranges
    split off by hand, versions and ranges compared with packaging."""
    import re

    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    def canonicalize_name(name: str) -> str:  # PEP 503, without packaging.utils' wheel tags
        return re.sub(r"[-_.]+", "-", name).lower()

    versions = {canonicalize_name(str(d.get("name", ""))): str(d.get("version")) for d in dists}
    line = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*\(?([^;()]*)\)?")
    broken = 0
    for dist in dists:
        for requirement in dist["requires"]:  # type: ignore[attr-defined]
            if ";" in requirement:
                continue
            parts = line.match(requirement)
            if parts is None:
                continue
            have = versions.get(canonicalize_name(parts[1]))
            try:
                if have is None or not SpecifierSet(parts[2].strip()).contains(
                    Version(have), prereleases=True
                ):
                    broken += 1
            except (InvalidSpecifier, InvalidVersion):
                continue
    return broken


def nvml() -> str:
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError as exc:
        return str(exc)
    return "loaded"


def main() -> None:
    home = os.path.expanduser("~")
    total, _used, free = shutil.disk_usage(home)
    dists = distributions_by_importlib() if "--importlib" in sys.argv else distributions()
    document = {
        "schema": 1,
        "python": sys.version,
        "distributions": dists,
        "broken": check_ranges(dists) if "--packaging" in sys.argv else None,
        "nvml": nvml(),
        "disk": {"total": total, "free": free},
    }
    sys.stdout.write(json.dumps(document))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
