#!/usr/bin/env python3
"""Merge `chatenv doctor --json` reports from many nodes into one table.

    python merge_reports.py reports/*.json            # only the checks that are not ok everywhere
    python merge_reports.py --all reports/*.json      # every check
    python merge_reports.py --markdown reports/*.json # a Markdown table, e.g. for a wiki page

Each report names its node in its "host" field (older reports: the file name is used). Exits 1
when any node has a failed check, so a cluster health job can fail on it. Standard library only,
so it runs wherever Python does, chatenv installed or not.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MARKS = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "-"}


def load(paths: list[Path]) -> dict[str, dict[str, str]]:
    """node -> {check id -> status}"""
    nodes: dict[str, dict[str, str]] = {}
    for path in paths:
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SystemExit(f"merge_reports: {path}: not a chatenv JSON report ({exc})") from None
        if not isinstance(report, dict) or "results" not in report:
            raise SystemExit(f"merge_reports: {path}: not a chatenv JSON report (no results)")
        node = str(report.get("host") or path.stem)
        if node in nodes:
            node = f"{node} ({path})"
        nodes[node] = {r["id"]: r["status"] for r in report["results"]}
    return nodes


def table(nodes: dict[str, dict[str, str]], *, show_all: bool) -> list[list[str]]:
    ids: list[str] = []
    for statuses in nodes.values():
        ids.extend(i for i in statuses if i not in ids)
    rows = [["check", *nodes]]
    for check in ids:
        cells = [MARKS.get(s.get(check, ""), "?") if check in s else "" for s in nodes.values()]
        if show_all or any(c not in ("ok", "-", "") for c in cells):
            rows.append([check, *cells])
    failed = ["FAIL" if "fail" in s.values() else "ok" for s in nodes.values()]
    rows.append(["(node)", *failed])
    return rows


def render(rows: list[list[str]], *, markdown: bool) -> str:
    if markdown:
        head, *body = rows
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--all", action="store_true", help="show checks that are ok everywhere")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    nodes = load(args.reports)
    print(render(table(nodes, show_all=args.all), markdown=args.markdown))
    return 1 if any("fail" in s.values() for s in nodes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
