"""scripts/torch_lag.py, run as a subprocess against a PyPI JSON page and a PyTorch index served
on 127.0.0.1. The pages are built from chatenv's own table, so the agreeing case is exact and
each lag is one deliberate difference. PyPI's JSON layout (`releases` -> version -> files with
`yanked`) is the real API's (pypi.org/pypi/torch/json)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from chatenv import torch_builds as tb
from chatenv.install.torch_lag import TARGETS

if TYPE_CHECKING:
    from collections.abc import Iterator

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "torch_lag.py"

_PLATFORM_TAG = {
    ("linux", "x86_64"): "manylinux_2_28_x86_64",
    ("linux", "aarch64"): "manylinux_2_28_aarch64",
    ("win32", "AMD64"): "win_amd64",
}


def _index_page(extra: dict[tuple[str, str], list[str]]) -> str:
    """Every wheel the table says exists (cp312), plus `extra` (series, machine) -> tags."""
    names = []
    for target in TARGETS:
        tag = _PLATFORM_TAG[(target.platform, target.machine)]
        for series in tb.known_series():
            variants = list(tb.cuda_wheels(series, target.platform, target.machine))
            variants += extra.get((series, target.machine), [])
            names += [f"torch-{series}.0+{v}-cp312-cp312-{tag}.whl" for v in variants]
    return (
        "<html><body>\n" + "\n".join(f'<a href="/{n}">{n}</a>' for n in names) + "\n</body></html>"
    )


def _pypi(*versions: str) -> str:
    return json.dumps({"releases": {v: [{"yanked": False}] for v in versions}})


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        pages = self.server.pages  # type: ignore[attr-defined]
        body = pages.get(self.path)
        if body is None:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.pages = {}  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _run(server: ThreadingHTTPServer) -> subprocess.CompletedProcess[str]:
    base = f"http://127.0.0.1:{server.server_address[1]}"
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--pypi", f"{base}/pypi/torch/json", "--torch-index", base],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_nothing_to_do_when_table_pins_and_indexes_agree(server: ThreadingHTTPServer) -> None:
    """PyPI's newest torch is the one the pins allow; every wheel the table names exists."""
    server.pages = {  # type: ignore[attr-defined]
        "/pypi/torch/json": _pypi("2.12.1", "2.13.1", "2.14.0rc2"),
        "/torch/": _index_page({}),
    }
    done = _run(server)
    assert done.stdout.splitlines()[0] == "torch on PyPI: 2.13.1"  # the rc is not a release
    # 2.15's assumed arch lists are the one standing item while ASSUMED_ARCHES holds it
    todo = [line for line in done.stdout.splitlines() if line.startswith("  - ")]
    assert todo == [
        f"  - table: torch {s}'s arch lists are assumed; replace them with the "
        "release's TORCH_CUDA_ARCH_LIST once published, and drop it from "
        "ASSUMED_ARCHES"
        for s in sorted(tb.ASSUMED_ARCHES)
    ]
    assert "Linux aarch64 cp312: table and index agree for 2.15, 2.14" in done.stdout
    assert done.returncode == (1 if tb.ASSUMED_ARCHES else 0)


def test_a_newer_release_and_a_new_variant_are_each_a_thing_to_do(
    server: ThreadingHTTPServer,
) -> None:
    server.pages = {  # type: ignore[attr-defined]
        "/pypi/torch/json": _pypi("2.13.1", "2.16.0"),
        "/torch/": _index_page({("2.15", "x86_64"): ["cu134"]}),
    }
    done = _run(server)
    assert done.returncode == 1
    out = done.stdout
    assert "pins: torch 2.16.0 is out, the pins (<2.14,>=2.4) stop at 2.13" in out
    assert "table: torch 2.16 is out, the table ends at 2.15" in out
    assert "Linux x86_64 cp312: torch 2.15 has cu134 on the index, not in the table" in out


def test_a_wheel_the_table_promises_but_the_index_lacks_is_reported(
    server: ThreadingHTTPServer,
) -> None:
    page = _index_page({}).replace(
        '<a href="/torch-2.7.0+cu128-cp312-cp312-manylinux_2_28_aarch64.whl">'
        "torch-2.7.0+cu128-cp312-cp312-manylinux_2_28_aarch64.whl</a>\n",
        "",
    )
    server.pages = {"/pypi/torch/json": _pypi("2.13.1"), "/torch/": page}  # type: ignore[attr-defined]
    out = _run(server).stdout
    assert (
        "Linux aarch64 cp312: the table lists cu128 for torch 2.7, the index has no such wheel"
        in out
    )


def test_unreadable_indexes_exit_2_with_the_reason(server: ThreadingHTTPServer) -> None:
    done = _run(server)  # serves nothing: every page is a 404
    assert done.returncode == 2
    assert "could not read:" in done.stdout
