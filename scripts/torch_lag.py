"""Print how far chatenv's torch knowledge lags behind the package indexes.

Compares the newest torch on PyPI with the pins (src/chatenv/install/pins.toml) and the build
table (src/chatenv/torch_builds.py), and, for Linux x86_64, Linux aarch64 and Windows x86_64,
the CUDA variants the table says each release has with the wheels the PyTorch index lists.

    python scripts/torch_lag.py [--pypi URL] [--torch-index URL]

Exit status: 0 nothing to do, 1 something lags (each item is printed), 2 an index could not be
read. README's "Adding a PyTorch release" says what to do with the output.
"""

from __future__ import annotations

import argparse
import sys

from chatenv.install import torch_index, torch_lag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pypi", default=torch_lag.PYPI_JSON, help="PyPI's JSON page for torch")
    parser.add_argument(
        "--torch-index", default=torch_index.DEFAULT_INDEX, help="the PyTorch index or a mirror"
    )
    args = parser.parse_args(argv)
    report = torch_lag.lag(pypi=args.pypi, index=args.torch_index)
    print(torch_lag.render(report))
    return torch_lag.exit_code(report)


if __name__ == "__main__":
    sys.exit(main())
