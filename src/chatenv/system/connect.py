"""Sockets behind a seam: the two operations doctor's reachability check needs (resolve a host
with a time limit, open a TCP connection), so tests can run the checks against a TLS server on
127.0.0.1 and fake only what cannot be made real there (a DNS failure)."""

from __future__ import annotations

import socket
import threading
from typing import Protocol


class Connector(Protocol):
    """The two socket operations the reachability check needs."""

    def resolve(self, host: str, port: int, timeout: float) -> list[str]:
        """IP addresses for a host; raises OSError (socket.gaierror, TimeoutError)."""
        ...

    def connect(self, address: str, port: int, timeout: float) -> socket.socket:
        """A connected TCP socket; raises OSError."""
        ...


class SocketConnector:
    """The real network."""

    def resolve(self, host: str, port: int, timeout: float) -> list[str]:
        # getaddrinfo has no timeout of its own: wait for it in a daemon thread.
        box: dict[str, object] = {}

        def lookup() -> None:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                box["addresses"] = list(dict.fromkeys(str(info[4][0]) for info in infos))
            except OSError as exc:
                box["error"] = exc

        thread = threading.Thread(target=lookup, daemon=True, name="doctor-dns")
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"DNS lookup took longer than {timeout:g}s")
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        addresses = box["addresses"]
        assert isinstance(addresses, list)
        return addresses

    def connect(self, address: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection((address, port), timeout=timeout)
