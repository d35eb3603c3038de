"""A Hugging Face hub on 127.0.0.1 that serves model folders, for the download path.

It answers the requests huggingface_hub and transformers really make when they load a model that
is not cached (logged in `requests`): the model's metadata (`/api/models/{repo}`), its file tree
(`/api/models/{repo}/tree/{rev}/...`), and each file (`HEAD`/`GET /{repo}/resolve/{rev}/{file}`,
with the `X-Repo-Commit` and `ETag` headers and the `X-Error-Code` of a real 404). A repo can be
marked gated (files refused with 403 `GatedRepo`, metadata public, as on the real hub), and
`status` makes every request answer with that HTTP status, `delay_s` makes it slow.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class HubState:
    repos: dict[str, dict[str, bytes]] = field(default_factory=dict)
    gated: set[str] = field(default_factory=set)
    status: int | None = None
    #: seconds to wait before answering anything
    delay_s: float = 0.0
    requests: list[tuple[str, str]] = field(default_factory=list)

    def add(self, repo_id: str, folder: Path, *, gated: bool = False) -> None:
        self.repos[repo_id] = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
        if gated:
            self.gated.add(repo_id)


class FakeHub:
    def __init__(self, server: ThreadingHTTPServer, state: HubState) -> None:
        self._server = server
        self.state = state

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def downloaded(self) -> list[str]:
        """The files whose content was sent (GET of a resolve URL)."""
        return [
            path.split("/resolve/", 1)[1].split("/", 1)[1]
            for method, path in self.state.requests
            if method == "GET" and "/resolve/" in path
        ]


def _handler(state: HubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def _send(
            self, code: int, body: bytes, headers: dict[str, str], *, send_body: bool
        ) -> None:
            self.send_response(code)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def _error(self, code: int, error_code: str, message: str, *, send_body: bool) -> None:
            body = json.dumps({"error": message}).encode()
            headers = {"Content-Type": "application/json", "X-Error-Code": error_code}
            self._send(code, body, headers, send_body=send_body)

        def _answer(self, *, send_body: bool) -> None:
            state.requests.append((self.command, self.path))
            if state.delay_s:
                time.sleep(state.delay_s)
            if state.status is not None:
                self._send(state.status, b"unavailable", {}, send_body=send_body)
                return
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            if parts[:2] == ["api", "models"]:
                self._api(parts[2:], send_body=send_body)
            elif "resolve" in parts:
                at = parts.index("resolve")
                self._file("/".join(parts[:at]), "/".join(parts[at + 2 :]), send_body=send_body)
            else:
                self._error(404, "NotFound", "not found", send_body=send_body)

        def _api(self, parts: list[str], *, send_body: bool) -> None:
            cut = next((i for i, p in enumerate(parts) if p in ("tree", "revision")), len(parts))
            repo_id = "/".join(parts[:cut])
            files = state.repos.get(repo_id)
            if files is None:
                self._error(404, "RepoNotFound", "Repository not found", send_body=send_body)
                return
            if cut < len(parts) and parts[cut] == "tree":
                folder = "/".join(parts[cut + 2 :])
                listing = [
                    {"type": "file", "path": name, "size": len(data), "oid": _sha1(data)}
                    for name, data in files.items()
                    if (folder and name.startswith(folder + "/")) or (not folder)
                ]
                if folder and not listing:
                    self._error(404, "EntryNotFound", "Entry not found", send_body=send_body)
                    return
                body = json.dumps(listing).encode()
            else:
                body = json.dumps(
                    {
                        "id": repo_id,
                        "modelId": repo_id,
                        "sha": COMMIT,
                        "private": False,
                        "gated": "auto" if repo_id in state.gated else False,
                        "siblings": [{"rfilename": name} for name in files],
                    }
                ).encode()
            self._send(200, body, {"Content-Type": "application/json"}, send_body=send_body)

        def _file(self, repo_id: str, name: str, *, send_body: bool) -> None:
            files = state.repos.get(repo_id)
            if files is None:
                self._error(404, "RepoNotFound", "Repository not found", send_body=send_body)
            elif repo_id in state.gated:
                self._error(
                    403, "GatedRepo", "Access to this model is restricted", send_body=send_body
                )
            elif name not in files:
                self._error(404, "EntryNotFound", "Entry not found", send_body=send_body)
            else:
                data = files[name]
                headers = {
                    "Content-Type": "application/octet-stream",
                    "X-Repo-Commit": COMMIT,
                    "ETag": f'"{_sha1(data)}"',
                }
                self._send(200, data, headers, send_body=send_body)

    return Handler


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        # a client that gave up (a timeout test) closes the socket mid-answer: not an error
        pass


@contextmanager
def fake_hub() -> Iterator[FakeHub]:
    state = HubState()
    server = _Server(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeHub(server, state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
