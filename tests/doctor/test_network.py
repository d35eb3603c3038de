"""The network section against real sockets on 127.0.0.1: a TLS server with a certificate made
for the test, a closed port, a silent server, and an HTTP CONNECT proxy. Only the DNS failure is
faked (a real one would need a resolver outside this machine)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from chatenv.doctor import network
from chatenv.doctor.network import (
    Target,
    check_ca_bundles,
    check_network,
    check_reach,
    hide_password,
    proxy_for,
    reach,
)
from chatenv.results import Status
from chatenv.system.connect import SocketConnector
from chatenv.system.proxies import bypassed, env_proxies

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    """A self-signed certificate for localhost and 127.0.0.1, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return Cert(cert, key)


def _serve(handler, sock: socket.socket) -> threading.Thread:  # type: ignore[no-untyped-def]
    def loop() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


@contextlib.contextmanager
def tls_server(cert: Cert) -> Iterator[int]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert, cert.key)
    listener = socket.create_server(("127.0.0.1", 0))

    def handle(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)

    _serve(handle, listener)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@contextlib.contextmanager
def connect_proxy(status: str = "200 Connection established") -> Iterator[tuple[int, list[bytes]]]:
    """An HTTP proxy that answers CONNECT with `status` and, on 200, relays bytes both ways."""
    listener = socket.create_server(("127.0.0.1", 0))
    requests: list[bytes] = []

    def pipe(a: socket.socket, b: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := a.recv(65536):
                b.sendall(data)

    def handle(conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                return
            head += chunk
        requests.append(head)
        if not status.startswith("200"):
            conn.sendall(f"HTTP/1.1 {status}\r\n\r\n".encode())
            conn.close()
            return
        host, _, port = head.split(b" ")[1].decode().rpartition(":")
        upstream = socket.create_connection((host, int(port)))
        conn.sendall(f"HTTP/1.1 {status}\r\n\r\n".encode())
        threading.Thread(target=pipe, args=(conn, upstream), daemon=True).start()
        pipe(upstream, conn)

    _serve(handle, listener)
    try:
        yield listener.getsockname()[1], requests
    finally:
        listener.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_untrusted_certificate_fails_with_the_ca_bundle_fix(cert: Cert) -> None:
    with tls_server(cert) as port:
        target = Target("OpenAI-compatible API", f"https://localhost:{port}/v1", required=True)
        r = reach(target, {}, SocketConnector(), timeout=5)
    assert r.stage == "tls-verify" and r.error is not None and "self-signed" in r.error
    result = check_reach(r, {})
    assert result.status is Status.FAIL
    assert result.fix is not None and result.fix.startswith("export SSL_CERT_FILE=")


def test_trusted_through_ssl_cert_file_is_reachable(cert: Cert) -> None:
    environ = {"SSL_CERT_FILE": str(cert.cert)}
    with tls_server(cert) as port:
        target = Target("OpenAI-compatible API", f"https://localhost:{port}/v1", required=True)
        r = reach(target, environ, SocketConnector(), timeout=5)
    assert r.stage is None, r.error
    assert r.tls_version in ("TLSv1.2", "TLSv1.3") and "127.0.0.1" in r.addresses
    result = check_reach(r, environ)
    assert result.status is Status.OK and f"localhost:{port} reachable" in result.summary


def test_closed_port_fails_when_the_api_is_configured_and_warns_otherwise() -> None:
    port = _closed_port()
    api = Target(
        "OpenAI-compatible API",
        f"https://127.0.0.1:{port}/v1",
        required=True,
        variable="OPENAI_BASE_URL",
    )
    r = reach(api, {}, SocketConnector())
    assert r.stage == "connect"
    assert r.error == f"cannot connect to 127.0.0.1:{port}: connection refused"
    result = check_reach(r, {})
    assert result.status is Status.FAIL
    assert result.fix == f"start the server at {api.url}, or unset OPENAI_BASE_URL"
    hub_target = Target("Hugging Face Hub", f"https://127.0.0.1:{port}", variable="HF_ENDPOINT")
    hub = check_reach(reach(hub_target, {}, SocketConnector()), {})
    assert hub.status is Status.WARN and hub.fix is not None and hub.fix.endswith("HF_ENDPOINT")


def test_server_that_never_answers_times_out_quickly() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never speaks TLS
    try:
        port = listener.getsockname()[1]
        r = reach(
            Target("OpenAI API", f"https://127.0.0.1:{port}"), {}, SocketConnector(), timeout=0.5
        )
    finally:
        listener.close()
    assert r.stage == "timeout" and r.error is not None and "timed out" in r.error


def test_dns_failure_is_reported_as_dns() -> None:
    class NoDns(SocketConnector):
        def resolve(self, host: str, port: int, timeout: float) -> list[str]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    r = reach(Target("OpenAI API", "https://api.openai.com/v1", required=True), {}, NoDns())
    assert (
        r.stage == "dns" and r.error == "cannot resolve api.openai.com: Name or service not known"
    )
    assert check_reach(r, {}).status is Status.FAIL


def test_tunnel_through_an_http_proxy_like_the_client_would(cert: Cert) -> None:
    with tls_server(cert) as port, connect_proxy() as (proxy_port, requests):
        environ = {
            "HTTPS_PROXY": f"http://me:s3cret@127.0.0.1:{proxy_port}",
            "SSL_CERT_FILE": str(cert.cert),
        }
        r = reach(
            Target("OpenAI-compatible API", f"https://localhost:{port}/v1"),
            environ,
            SocketConnector(),
        )
    assert r.stage is None, r.error
    assert requests and requests[0].startswith(f"CONNECT localhost:{port} HTTP/1.1".encode())
    assert b"Proxy-Authorization: Basic bWU6czNjcmV0" in requests[0]
    result = check_reach(r, environ)
    assert f"via proxy http://me:****@127.0.0.1:{proxy_port}" in result.summary
    assert "s3cret" not in result.summary and "s3cret" not in str(result.data)


def test_proxy_that_refuses_the_tunnel_fails_at_the_proxy(cert: Cert) -> None:
    with connect_proxy("407 Proxy Authentication Required") as (proxy_port, _):
        environ = {"https_proxy": f"127.0.0.1:{proxy_port}"}
        r = reach(
            Target("OpenAI API", "https://api.openai.com/v1", required=True),
            environ,
            SocketConnector(),
        )
    assert r.stage == "proxy" and r.error is not None and "407" in r.error
    assert check_reach(r, environ).fix is not None


def test_proxy_variables_are_read_as_python_reads_them() -> None:
    environ = {
        "HTTPS_PROXY": "http://upper:1",
        "https_proxy": "http://lower:2",
        "NO_PROXY": ".corp.example,localhost",
    }
    assert env_proxies(environ)["https"] == "http://lower:2"
    assert proxy_for("https://api.openai.com/v1", environ) == "http://lower:2"
    assert proxy_for("https://llm.corp.example/v1", environ) is None
    assert proxy_for("http://localhost:8000/v1", environ) is None
    assert bypassed("anything.test", "*")
    assert not bypassed("notcorp.example", "corp.example")


def test_disagreeing_proxy_variables_warn() -> None:
    environ = {"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:2"}
    result = network.check_proxies(environ, ["https://api.openai.com/v1"])
    assert result.status is Status.WARN and result.fix == 'export HTTPS_PROXY="$https_proxy"'


def test_proxy_password_never_shows() -> None:
    assert hide_password("http://me:pw@proxy:3128") == "http://me:****@proxy:3128"
    result = network.check_proxies({"https_proxy": "http://me:pw@proxy:3128"}, ["https://x.test"])
    assert ":pw@" not in result.summary and ":pw@" not in str(result.data)


def test_ca_bundle_variables_pointing_nowhere_fail(cert: Cert, tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    results = {
        r.id: r
        for r in check_ca_bundles(
            {
                "SSL_CERT_FILE": str(cert.cert),
                "REQUESTS_CA_BUNDLE": str(tmp_path / "missing.pem"),
                "CURL_CA_BUNDLE": str(empty),
                "SSL_CERT_DIR": str(tmp_path),
            }
        )
    }
    assert results["network.ca.SSL_CERT_FILE"].status is Status.OK
    assert "(1 certificates)" in results["network.ca.SSL_CERT_FILE"].summary
    assert results["network.ca.REQUESTS_CA_BUNDLE"].status is Status.FAIL
    assert results["network.ca.CURL_CA_BUNDLE"].status is Status.FAIL
    assert results["network.ca.SSL_CERT_DIR"].status is Status.OK


def test_whole_section_against_local_servers(cert: Cert) -> None:
    closed = _closed_port()
    with tls_server(cert) as port:
        environ = {"SSL_CERT_FILE": str(cert.cert), "HF_ENDPOINT": f"https://127.0.0.1:{closed}"}
        targets = [
            Target("OpenAI-compatible API", f"https://localhost:{port}/v1", required=True),
            Target("Hugging Face Hub", environ["HF_ENDPOINT"]),
        ]
        results = {r.id: r for r in check_network(environ, targets, SocketConnector(), timeout=3)}
    assert results["network.proxy"].status is Status.OK
    assert results["network.api"].status is Status.OK
    assert results["network.hf"].status is Status.WARN
