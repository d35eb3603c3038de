"""A Hugging Face hub on 127.0.0.1 (HF_ENDPOINT) that serves model folders and knows tokens.

It answers the requests huggingface_hub and transformers really make when they load a model that
is not cached (logged in `requests`): the model's metadata (`/api/models/{repo}`), its file tree
(`/api/models/{repo}/tree/{rev}/...`), and each file (`HEAD`/`GET /{repo}/resolve/{rev}/{file}`,
with the `X-Repo-Commit` and `ETag` headers and the `X-Error-Code` of a real 404); and the two
requests about tokens: `GET /api/whoami-v2` (HfApi.whoami) and
`GET /api/models/{repo}/auth-check` (HfApi.auth_check). `status` makes every request answer with
that HTTP status, `delay_s` makes it slow.

Where each answer's shape comes from:
- whoami-v2's body: huggingface.js `packages/hub/src/lib/who-am-i.ts` (`WhoAmIUser`, `AuthInfo`:
  type, name, fullname, orgs, auth.accessToken {displayName, role}); huggingface_hub reads `name`,
  `orgs[].name` and `auth.accessToken.{displayName,role}` (`_login.py`, `cli/auth.py`).
- a token the hub does not know (revoked, expired, mistyped): 401 with
  `X-Error-Message: Invalid credentials in Authorization header` on every endpoint, public models
  included (huggingface_hub `utils/_http.py` special-cases exactly that text and
  tests/test_utils_errors.py records it; sentence-transformers #3436 and langchain #31141 show
  public downloads failing so with a stale HF_TOKEN). whoami without a token: 401
  "Invalid username or password." (huggingface_hub `errors.py`, RepositoryNotFoundError).
- a gated model (`gated: "auto"` or `"manual"` in its public metadata): its files and its
  auth-check refuse with `X-Error-Code: GatedRepo`; without a token 401 "Access to model {id} is
  restricted. You must have access to it and be authenticated to access it. Please log in."
  (PuLID #97, ComfyUI_ExtraModels #99, LazySlide #52: real hub answers); with a token not on
  the authorized list 403 "Access to model {id} is restricted and you are not in the authorized
  list. Visit {endpoint}/{id} to ask for access." (huggingface_hub `errors.py`, GatedRepoError;
  tests/test_file_download.py; dataset-viewer #2083); a request awaiting review 403 "Your request
  to access model {id} is awaiting a review from the repo authors."
- a missing repo: 404 `X-Error-Code: RepoNotFound` (tests/test_utils_errors.py).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


@dataclass(frozen=True)
class User:
    name: str
    token_name: str = "laptop"
    role: str = "read"
    orgs: tuple[str, ...] = ()


@dataclass
class HubState:
    repos: dict[str, dict[str, bytes]] = field(default_factory=dict)
    gated: set[str] = field(default_factory=set)
    #: token -> its account; any other token is unknown (revoked) to this hub
    users: dict[str, User] = field(default_factory=dict)
    #: gated repo -> the accounts on its authorized list, and those whose request awaits review
    authorized: dict[str, set[str]] = field(default_factory=dict)
    pending: dict[str, set[str]] = field(default_factory=dict)
    status: int | None = None
    #: seconds to wait before answering anything
    delay_s: float = 0.0
    requests: list[tuple[str, str]] = field(default_factory=list)
    #: the token each request carried (None: no Authorization header), in request order
    tokens: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, repo_id: str, folder: Path, *, gated: bool = False) -> None:
        self.repos[repo_id] = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
        if gated:
            self.gated.add(repo_id)

    def add_user(self, token: str, name: str, **details: Any) -> None:
        self.users[token] = User(name, **details)

    def revoke(self, token: str) -> None:
        self.users.pop(token, None)

    def grant(self, repo_id: str, user: str) -> None:
        self.authorized.setdefault(repo_id, set()).add(user)

    def request_access(self, repo_id: str, user: str) -> None:
        self.pending.setdefault(repo_id, set()).add(user)


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

        def _error(
            self, code: int, error_code: str | None, message: str, *, send_body: bool
        ) -> None:
            body = json.dumps({"error": message}).encode()
            headers = {"Content-Type": "application/json", "X-Error-Message": message}
            if error_code:
                headers["X-Error-Code"] = error_code
            self._send(code, body, headers, send_body=send_body)

        def _answer(self, *, send_body: bool) -> None:
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
            with state.lock:  # the two lists stay in step while requests come in at once
                state.requests.append((self.command, self.path))
                state.tokens.append(token)
            if state.delay_s:
                time.sleep(state.delay_s)
            if state.status is not None:
                self._send(state.status, b"unavailable", {}, send_body=send_body)
                return
            if token is not None and token not in state.users:
                self._error(401, None, INVALID_CREDENTIALS, send_body=send_body)
                return
            user = state.users.get(token or "")
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            if parts == ["api", "whoami-v2"]:
                self._whoami(user, send_body=send_body)
            elif parts[:2] == ["api", "models"]:
                self._api(parts[2:], user, send_body=send_body)
            elif "resolve" in parts:
                at = parts.index("resolve")
                repo_id, name = "/".join(parts[:at]), "/".join(parts[at + 2 :])
                self._file(repo_id, name, user, send_body=send_body)
            else:
                self._error(404, "NotFound", "not found", send_body=send_body)

        def _whoami(self, user: User | None, *, send_body: bool) -> None:
            if user is None:
                self._error(401, None, "Invalid username or password.", send_body=send_body)
                return
            body = {
                "type": "user",
                "id": "6412a0c1e4b0a1b2c3d4e5f6",
                "name": user.name,
                "fullname": user.name.title(),
                "isPro": False,
                "avatarUrl": f"/avatars/{user.name}.svg",
                "orgs": [{"type": "org", "name": org, "roleInOrg": "read"} for org in user.orgs],
                "auth": {
                    "type": "access_token",
                    "accessToken": {"displayName": user.token_name, "role": user.role},
                },
            }
            data = json.dumps(body).encode()
            self._send(200, data, {"Content-Type": "application/json"}, send_body=send_body)

        def _gate(self, repo_id: str, user: User | None, *, send_body: bool) -> bool:
            """Refuse a gated repo's content as the hub does; True when it was refused."""
            if repo_id not in state.gated:
                return False
            if user is None:
                message = (
                    f"Access to model {repo_id} is restricted. You must have access to it and be "
                    "authenticated to access it. Please log in."
                )
                self._error(401, "GatedRepo", message, send_body=send_body)
                return True
            if user.name in state.authorized.get(repo_id, set()):
                return False
            if user.name in state.pending.get(repo_id, set()):
                message = (
                    f"Your request to access model {repo_id} is awaiting a review from the repo "
                    "authors."
                )
            else:
                message = (
                    f"Access to model {repo_id} is restricted and you are not in the authorized "
                    f"list. Visit http://{self.headers.get('Host')}/{repo_id} to ask for access."
                )
            self._error(403, "GatedRepo", message, send_body=send_body)
            return True

        def _api(self, parts: list[str], user: User | None, *, send_body: bool) -> None:
            cut = next(
                (i for i, p in enumerate(parts) if p in ("tree", "revision", "auth-check")),
                len(parts),
            )
            repo_id = "/".join(parts[:cut])
            files = state.repos.get(repo_id)
            if files is None:
                self._error(404, "RepoNotFound", "Repository not found", send_body=send_body)
                return
            if cut < len(parts) and parts[cut] == "auth-check":
                if not self._gate(repo_id, user, send_body=send_body):
                    self._send(
                        200, b"{}", {"Content-Type": "application/json"}, send_body=send_body
                    )
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

        def _file(self, repo_id: str, name: str, user: User | None, *, send_body: bool) -> None:
            files = state.repos.get(repo_id)
            if files is None:
                self._error(404, "RepoNotFound", "Repository not found", send_body=send_body)
            elif self._gate(repo_id, user, send_body=send_body):
                return
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
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield FakeHub(server, state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
