"""`python -m chatenv.problems`: print docs/troubleshooting.md as the table gives it;
`--write PATH` writes it there, `--check PATH` exits 1 (saying how to fix it) when the page at
PATH differs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chatenv.problems.page import render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chatenv.problems", description=__doc__)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", metavar="PATH", type=Path, help="write the page to PATH")
    action.add_argument("--check", metavar="PATH", type=Path, help="compare the page at PATH")
    args = parser.parse_args(argv)
    page = render()
    if args.write is not None:
        args.write.write_text(page, encoding="utf-8")
        return 0
    if args.check is not None:
        try:
            current = args.check.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot read {args.check}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        if current != page:
            print(
                f"error: {args.check} is not what the table of problems gives\n"
                f"  fix: python -m chatenv.problems --write {args.check}",
                file=sys.stderr,
            )
            return 1
        return 0
    sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
