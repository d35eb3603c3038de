"""Which proxy a URL goes through, read from the environment as the openai client (httpx2 under
it) and urllib read it. doctor's network checks and the API failure messages both use this, so
they name the same proxy."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Mapping


def env_proxies(environ: Mapping[str, str]) -> dict[str, str]:
    """scheme -> proxy URL, as `urllib.request.getproxies_environment` reads them (and so
    httpx2): any case first, then lowercase names override; HTTP_PROXY is ignored under CGI."""
    proxies: dict[str, str] = {}
    for name, value in environ.items():
        lower = name.lower()
        if value and lower.endswith("_proxy"):
            proxies[lower[:-6]] = value
    if "REQUEST_METHOD" in environ:
        proxies.pop("http", None)
    for name, value in environ.items():
        if name.endswith("_proxy"):
            if value:
                proxies[name.lower()[:-6]] = value
            else:
                proxies.pop(name.lower()[:-6], None)
    return proxies


def bypassed(host: str, no_proxy: str) -> bool:
    """Does NO_PROXY exempt this host? (`*`, exact names, domain suffixes, `.domain`.)"""
    host = host.lower().strip("[]")
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if "://" in entry:
            entry = urlsplit(entry).hostname or ""
        entry = entry.removeprefix("*").lstrip(".").strip("[]")
        if entry.count(":") == 1:  # host:port (not an IPv6 address)
            entry = entry.partition(":")[0]
        if host == entry or host.endswith("." + entry):
            return True
    return False
