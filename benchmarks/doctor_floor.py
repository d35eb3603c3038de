"""The floor under `chatenv doctor --offline --json`: only what any doctor must do, written as
plainly as possible, so that bench_doctor.py can say how far above it chatenv is.

What doctor cannot avoid, and this script does: start the interpreter (with `site`, as the
console script does), read the metadata header of every installed distribution on sys.path
(name, version, requirements), try to load libnvidia-ml (and find it missing on a machine
without the driver), measure free disk space where models go, and write one JSON document.
Nothing else: no checks, no messages, no threads.

    python benchmarks/doctor_floor.py > /dev/null
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


def nvml() -> str:
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError as exc:
        return str(exc)
    return "loaded"


def main() -> None:
    home = os.path.expanduser("~")
    total, _used, free = shutil.disk_usage(home)
    document = {
        "schema": 1,
        "python": sys.version,
        "distributions": distributions(),
        "nvml": nvml(),
        "disk": {"total": total, "free": free},
    }
    sys.stdout.write(json.dumps(document))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
