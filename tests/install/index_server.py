"""A real package index on 127.0.0.1: PEP 503 "simple" pages over HTTP, built from wheel files,
standing in for a mirror (Artifactory, Nexus, devpi) of PyPI or of the PyTorch index. Every
request is recorded, so a test can tell which index pip actually used."""

from __future__ import annotations

import html
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from packaging.utils import canonicalize_name, parse_wheel_filename

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@dataclass
class Index:
    """`trees` maps a URL prefix ("/pypi/simple", "/pytorch/cpu") to the wheel files served
    under it, one project page per distribution."""

    trees: dict[str, list[Path]]
    requests: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def page(self, path: str) -> tuple[int, bytes, str]:
        path = unquote(path.split("?", 1)[0])  # pip asks for torch-2.13.0%2Bcpu-...
        for prefix, wheels in self.trees.items():
            if not path.startswith(prefix + "/"):
                continue
            rest = path[len(prefix) + 1 :].strip("/")
            by_project: dict[str, list[Path]] = {}
            for wheel in wheels:
                name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
                by_project.setdefault(name, []).append(wheel)
            if not rest:
                links = "".join(f'<a href="{p}/">{p}</a>\n' for p in sorted(by_project))
                return 200, f"<html><body>\n{links}</body></html>\n".encode(), "text/html"
            project, _, file_name = rest.partition("/")
            if file_name:
                found = next((w for w in wheels if w.name == file_name), None)
                if found is not None:
                    return 200, found.read_bytes(), "application/octet-stream"
                return 404, b"not found", "text/plain"
            files = by_project.get(canonicalize_name(project))
            if files is None:
                return 404, b"not found", "text/plain"
            links = "".join(
                f'<a href="{html.escape(w.name)}">{html.escape(w.name)}</a><br/>\n' for w in files
            )
            return 200, f"<html><body>\n{links}</body></html>\n".encode(), "text/html"
        return 404, b"not found", "text/plain"


def serve(index: Index) -> Index:
    """Start the index on a free port (a daemon thread); `index.server.shutdown()` stops it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            index.requests.append(unquote(self.path))
            status, body, kind = index.page(self.path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    index.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=index.server.serve_forever, daemon=True).start()
    return index


@contextmanager
def serve_index(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """A PyPI stand-in for the wheels in `folder`: its index URL
    (`http://127.0.0.1:PORT/simple`) and the paths requested from it, for one `with` block."""
    index = serve(Index({"/simple": sorted(folder.glob("*.whl"))}))
    try:
        yield f"{index.url}/simple", index.requests
    finally:
        assert index.server is not None
        index.server.shutdown()
        index.server.server_close()
