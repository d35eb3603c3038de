"""Which torch wheels exist, read from a PyTorch index over HTTP: a real server on 127.0.0.1
serves PEP 503 pages whose file names are recorded from download.pytorch.org's listing
(tests/install/data/README.md says which are recorded and which constructed)."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.specifiers import SpecifierSet

from chatenv.install.command import observe_machine
from chatenv.install.target import probe_interpreter
from chatenv.install.torch_index import WheelTarget, read_offered
from chatenv.install.variant import Machine, choose
from chatenv.system.seams import Seams, http_get
from tests.fakes import machines as fake

if TYPE_CHECKING:
    from collections.abc import Iterator

PAGE = (Path(__file__).parent / "data" / "pytorch_whl_torch.html").read_text()
LINES = [line for line in PAGE.splitlines() if "<a href=" in line]


def _variant_page(tag: str) -> str:
    return (
        "<html><body>\n" + "\n".join(x for x in LINES if f"/whl/{tag}/" in x) + "\n</body></html>"
    )


class _Index(BaseHTTPRequestHandler):
    """/whl/torch/ and /whl/<tag>/torch/ as download.pytorch.org lays them out; /mirror/ has only
    the per-variant pages; /broken/ answers 500."""

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        parts = self.path.strip("/").split("/")
        body = None
        if parts[0] == "whl" and parts[1:] == ["torch"]:
            body = PAGE
        elif parts[0] in ("whl", "mirror") and len(parts) == 3 and parts[2] == "torch":
            body = _variant_page(parts[1])
        if parts[0] == "broken":
            self.send_error(500)
            return
        if body is None:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def index() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: ThreadingHTTPServer, path: str = "whl") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/{path}"


LINUX = WheelTarget("linux", "x86_64", "3.12.3")
ARM = WheelTarget("linux", "aarch64", "3.12.3")
WINDOWS = WheelTarget("win32", "AMD64", "3.12.10")


def test_linux_x86_64_variants_per_release(index: ThreadingHTTPServer) -> None:
    offered = read_offered(_url(index), LINUX)
    assert offered.source == "index" and offered.where == _url(index) + "/torch/"
    assert offered.variants("2.7") == ("cu128", "cu118")
    assert offered.variants("2.14") == ("cu132", "cu130", "cu126")  # cpu and rocm are not CUDA
    assert offered.variants("2.15") == ("cu132", "cu130")  # the rc1 wheel is skipped
    assert offered.variants("2.3") == ()


def test_aarch64_sees_only_its_own_wheels(index: ThreadingHTTPServer) -> None:
    offered = read_offered(_url(index), ARM)
    assert offered.variants("2.7") == ("cu128",)  # no cu118 for aarch64, recorded
    assert offered.variants("2.6") == ("cu126",)  # the linux_aarch64 platform tag counts
    assert offered.variants("2.11") == ("cu126",)


def test_windows_and_the_python_tag_must_match(index: ThreadingHTTPServer) -> None:
    assert read_offered(_url(index), WINDOWS).variants("2.14") == ("cu132", "cu130")
    # 2.7.0+cu118 is recorded for cp310 and cp312 only; cp313t wheels do not fit cp313
    assert read_offered(_url(index), WheelTarget("linux", "x86_64", "3.13.1")).variants("2.7") == (
        "cu128",
    )


def test_a_mirror_without_the_root_page_is_read_page_by_page(index: ThreadingHTTPServer) -> None:
    offered = read_offered(_url(index, "mirror"), ARM, tags=("cu118", "cu126", "cu128"))
    assert offered.source == "index"
    assert offered.variants("2.7") == ("cu128",)
    assert offered.variants("2.6") == ("cu126",)


@pytest.mark.parametrize("path", ["broken", "nothing-here/at-all"])
def test_an_index_that_does_not_answer_falls_back_to_the_table(
    index: ThreadingHTTPServer, path: str
) -> None:
    offered = read_offered(_url(index, path), ARM, tags=("cu128",))
    assert offered.source == "table"
    assert offered.note is not None
    assert offered.variants("2.7") == ("cu128",)  # the table knows aarch64 too


def test_an_unreachable_index_falls_back_to_the_table_with_the_reason() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    port = server.server_address[1]
    server.server_close()  # nothing listens there any more
    offered = read_offered(f"http://127.0.0.1:{port}/whl", LINUX)
    assert offered.source == "table"
    assert offered.note is not None and "did not answer" in offered.note
    assert "refused" in offered.note.lower()


def test_aarch64_cu118_for_torch_2_7_is_refused_from_what_the_index_lists(
    index: ThreadingHTTPServer,
) -> None:
    h100 = fake.probe(fake.one_h100(driver="570.86.15", cuda=12080))
    arm = Machine("linux", "aarch64", h100, read_offered(_url(index), ARM))
    choice = choose("cu118", arm, "2.7", spec=SpecifierSet(">=2.4,<2.8"))
    assert choice.refusal is not None and "cu118 wheel for Linux aarch64" in choice.refusal
    auto = choose("auto", arm, "2.7", spec=SpecifierSet(">=2.4,<2.8"))
    assert auto.variant == "cu128"
    assert any("per the PyTorch index" in r for r in auto.reasons)
    assert auto.to_json()["wheels_from"]["source"] == "index"


def test_install_reads_the_index_only_on_a_machine_with_a_gpu(
    index: ThreadingHTTPServer,
) -> None:
    target = probe_interpreter(sys.executable)
    seams = Seams(fetch=http_get)
    before = len(index.requests)  # type: ignore[attr-defined]
    cpu = observe_machine(target, fake.probe(fake.cpu_box()), seams, _url(index))
    assert cpu.offered is None and len(index.requests) == before  # type: ignore[attr-defined]
    gpu = observe_machine(target, fake.probe(fake.eight_h100()), seams, _url(index))
    assert gpu.offered is not None and gpu.offered.source == "index"
    assert index.requests[before:] == ["/whl/torch/"]  # type: ignore[attr-defined]
