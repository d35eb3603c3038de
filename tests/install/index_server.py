"""A package index on 127.0.0.1: the PEP 503 "simple" pages pip and uv read (`/simple/` lists
the projects, `/simple/<name>/` links each file of one), serving the wheels of a folder
(`tests.install.packages.make_wheel`). With it a real installer resolves and downloads over
HTTP, as from PyPI, without the network."""

from __future__ import annotations

import html
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def _project(file_name: str) -> str:
    if file_name.endswith(".whl"):
        return canonicalize_name(parse_wheel_filename(file_name)[0])
    return canonicalize_name(parse_sdist_filename(file_name)[0])


def _page(title: str, links: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f'<a href="{html.escape(href)}">{html.escape(text)}</a><br/>\n' for href, text in links
    )
    return (
        f"<!DOCTYPE html>\n<html><head><title>{html.escape(title)}</title></head><body>\n"
        f"{body}</body></html>\n"
    ).encode()


class _Index(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    folder: Path
    requests: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Index

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        files = sorted(p for p in self.server.folder.iterdir() if p.suffix in (".whl", ".gz"))
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if parts == ["simple"]:
            names = sorted({_project(p.name) for p in files})
            return self._send(200, _page("Simple index", [(f"{n}/", n) for n in names]))
        if len(parts) == 2 and parts[0] == "simple":
            wanted = canonicalize_name(parts[1])
            links = [(f"../../files/{p.name}", p.name) for p in files if _project(p.name) == wanted]
            if links:
                return self._send(200, _page(f"Links for {wanted}", links))
        if len(parts) == 2 and parts[0] == "files":
            path = self.server.folder / parts[1]
            if path.is_file():
                return self._send(200, path.read_bytes(), "application/octet-stream")
        return self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, kind: str = "text/html") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve_index(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """The index URL (`http://127.0.0.1:PORT/simple`) for the files in `folder`, and the paths
    requested from it."""
    server = _Index(("127.0.0.1", 0), _Handler)
    server.folder = folder
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple", server.requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
