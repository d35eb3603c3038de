"""The network section (skipped by --offline): proxies, CA bundles, whether the OpenAI API
host and the Hugging Face Hub answer a TLS handshake, and (with a key set) whether the API
server accepts the key: one `GET /models`, which costs no tokens (`chatenv.api.probe`).

It looks at the network the way the user's code will: the openai client (httpx2 under it) and
huggingface_hub read the proxy variables the way `urllib.request.getproxies_environment` does
(lowercase names win), and build their TLS context as `httpcore2._ssl.default_ssl_context`
does: SSL_CERT_FILE, else SSL_CERT_DIR, else the OS trust store (OpenSSL's compiled-in paths on
Linux, `truststore` on macOS and Windows). REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE are read by
requests-based tools (pip among them), not by the openai client.

Every socket goes through a `Connector`, so tests can run the checks against a TLS server on
127.0.0.1 and fake only what cannot be made real there (a DNS failure).
"""

from __future__ import annotations

import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.results import CheckResult, Status
from chatenv.system.hf_cache import is_offline
from chatenv.system.proxies import bypassed, env_proxies
from chatenv.system.tls import tls_context

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Mapping

    from chatenv.api.probe import KeyProbe
    from chatenv.doctor.context import Context
    from chatenv.keys.config import OpenAIConfig
    from chatenv.system.connect import Connector

#: Each target gets this long in all (DNS, connect, proxy CONNECT, TLS handshake).
TIMEOUT_S = 5.0
DNS_TIMEOUT_S = 3.0
HF_DEFAULT_ENDPOINT = "https://huggingface.co"
CA_VARIABLES = {
    "SSL_CERT_FILE": "the openai client (httpx2), huggingface_hub and OpenSSL",
    "SSL_CERT_DIR": "the openai client (httpx2), huggingface_hub and OpenSSL",
    "REQUESTS_CA_BUNDLE": "requests-based tools (pip, older huggingface_hub)",
    "CURL_CA_BUNDLE": "curl and requests-based tools",
}
PROXY_NAMES = ("https_proxy", "http_proxy", "all_proxy", "no_proxy")


# --- proxies -------------------------------------------------------------------------------


def proxy_for(url: str, environ: Mapping[str, str]) -> str | None:
    parts = urlsplit(url)
    proxies = env_proxies(environ)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or bypassed(parts.hostname or "", proxies.get("no", "")):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:****@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def check_proxies(environ: Mapping[str, str], targets: list[str]) -> CheckResult:
    set_vars = {k: v for k, v in environ.items() if k.lower() in PROXY_NAMES and v}
    data = {k: hide_password(v) for k, v in sorted(set_vars.items())}
    if not set_vars:
        return CheckResult.ok("network.proxy", "no proxy variables set: direct connections")
    details = [f"{k}={hide_password(v)}" for k, v in sorted(set_vars.items())]
    for url in targets:
        proxy = proxy_for(url, environ)
        host = urlsplit(url).hostname
        details.append(f"{host}: {'via ' + hide_password(proxy) if proxy else 'direct'}")
    disagree = sorted(
        k
        for k in set_vars
        if k.isupper() and k.lower() in set_vars and set_vars[k.lower()] != set_vars[k]
    )
    if disagree:
        return problem("network.proxy-case-mismatch").check(
            Status.WARN,
            "network.proxy",
            details=details,
            data=data,
            pairs=", ".join(f"{k} and {k.lower()}" for k in disagree),
            exports=" ".join(f'{k}="${k.lower()}"' for k in disagree),
        )
    return CheckResult.ok(
        "network.proxy", "proxy variables in effect: " + ", ".join(details), data=data
    )


# --- CA bundles ------------------------------------------------------------------------------


def check_ca_bundles(environ: Mapping[str, str]) -> list[CheckResult]:
    results = []
    for name, users in CA_VARIABLES.items():
        value = environ.get(name)
        if not value:
            continue
        want_dir = name == "SSL_CERT_DIR"
        data = {"name": name, "path": value}
        exists = os.path.isdir(value) if want_dir else os.path.isfile(value)
        if not exists:
            results.append(
                problem("network.ca-missing").check(
                    Status.FAIL,
                    f"network.ca.{name}",
                    data=data,
                    name=name,
                    value=value,
                    kind="folder" if want_dir else "file",
                    users=users,
                )
            )
            continue
        if not want_dir:
            try:
                with open(value, encoding="ascii", errors="replace") as f:
                    count = f.read().count("-----BEGIN CERTIFICATE-----")
            except OSError as exc:
                count, data["error"] = 0, str(exc)
            if count == 0:
                results.append(
                    problem("network.ca-not-pem").check(
                        Status.FAIL,
                        f"network.ca.{name}",
                        data=data,
                        name=name,
                        value=value,
                        users=users,
                    )
                )
                continue
            data["certificates"] = str(count)
            results.append(
                CheckResult.ok(
                    f"network.ca.{name}",
                    f"{name}={value} ({count} certificates), used by {users}",
                    data=data,
                )
            )
        else:
            results.append(
                CheckResult.ok(f"network.ca.{name}", f"{name}={value}, used by {users}", data=data)
            )
    return results


# --- reachability ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    label: str  # "OpenAI API"
    url: str
    #: fail (rather than warn) when unreachable: the user has set this one up to be used
    required: bool = False
    #: the variable that pointed chatenv at this URL, when one did (for the fix line)
    variable: str | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (443 if self.tls else 80)


@dataclass(frozen=True)
class Reach:
    target: Target
    proxy: str | None = None
    addresses: tuple[str, ...] = ()
    dns_ms: float | None = None
    connect_ms: float | None = None
    tls_ms: float | None = None
    tls_version: str | None = None
    #: where it failed: "dns", "connect", "timeout", "proxy", "tls-verify", "tls", "ca"
    stage: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "label": self.target.label,
            "url": self.target.url,
            "host": self.target.host,
            "port": self.target.port,
            "proxy": hide_password(self.proxy) if self.proxy else None,
            "addresses": list(self.addresses),
            "dns_ms": self.dns_ms,
            "connect_ms": self.connect_ms,
            "tls_ms": self.tls_ms,
            "tls_version": self.tls_version,
            "stage": self.stage,
            "error": self.error,
        }


def _ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)


def _oserror(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return exc.strerror or str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _proxy_connect(sock: socket.socket, target: Target, proxy_url: str) -> str | None:
    """Ask an HTTP proxy for a tunnel (CONNECT); None when it agreed, else its status line."""
    import base64

    parts = urlsplit(proxy_url)
    lines = [f"CONNECT {target.host}:{target.port} HTTP/1.1", f"Host: {target.host}:{target.port}"]
    if parts.username is not None:
        from urllib.parse import unquote

        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        lines.append("Proxy-Authorization: Basic " + base64.b64encode(pair.encode()).decode())
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer and len(answer) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    status = answer.split(b"\r\n", 1)[0].decode("latin-1").strip()
    code = status.split(" ")[1] if len(status.split(" ")) > 1 else ""
    return None if code.startswith("2") else (status or "no answer")


def reach(
    target: Target,
    environ: Mapping[str, str],
    connector: Connector,
    timeout: float = TIMEOUT_S,
    context_factory: Callable[[Mapping[str, str]], ssl.SSLContext] = tls_context,
) -> Reach:
    """DNS, TCP and (for https) a TLS handshake to the target, through the proxy the user's code
    would use. Never raises: every failure is a Reach with a stage and one-line error."""
    import ssl

    deadline = time.monotonic() + timeout
    proxy = proxy_for(target.url, environ)
    hop = urlsplit(proxy) if proxy else None
    host = (hop.hostname if hop else target.host) or ""
    port = (hop.port or 80) if hop else target.port
    if hop is not None and hop.scheme != "http":
        return Reach(
            target,
            proxy=proxy,
            stage="skipped",
            error=f"not checked through a {hop.scheme} proxy (only http:// proxies are)",
        )

    def failed(stage: str, error: str, **kw: object) -> Reach:
        return Reach(target, proxy=proxy, stage=stage, error=error, **kw)  # type: ignore[arg-type]

    started = time.monotonic()
    try:
        addresses = connector.resolve(host, port, min(DNS_TIMEOUT_S, timeout))
    except (OSError, TimeoutError) as exc:
        return failed("dns", f"cannot resolve {host}: {_oserror(exc)}")
    dns_ms = _ms(started)
    if not addresses:
        return failed("dns", f"cannot resolve {host}: no addresses")
    sock = None
    errors = []
    started = time.monotonic()
    for address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            sock = connector.connect(address, port, left)
            break
        except OSError as exc:
            errors.append(_oserror(exc))
    if sock is None:
        timed_out = not errors or all(e == "timed out" for e in errors)
        where = f"proxy {hide_password(proxy)}" if proxy else f"{target.host}:{target.port}"
        tried = f" (tried {len(errors)} addresses)" if len(errors) > 1 else ""
        return failed(
            "timeout" if timed_out else "connect",
            f"cannot connect to {where}: {errors[0] if errors else 'timed out'}{tried}",
            addresses=tuple(addresses),
            dns_ms=dns_ms,
        )
    connect_ms = _ms(started)
    known = {"addresses": tuple(addresses), "dns_ms": dns_ms, "connect_ms": connect_ms}
    with sock:
        sock.settimeout(max(deadline - time.monotonic(), 0.1))
        try:
            if proxy and target.tls:
                refused = _proxy_connect(sock, target, proxy)
                if refused:
                    return failed(
                        "proxy",
                        f"proxy {hide_password(proxy)} refused a tunnel to {target.host}: "
                        f"{refused}",
                        **known,
                    )
            if not target.tls:
                return Reach(target, proxy, tuple(addresses), dns_ms, connect_ms)
            try:
                context = context_factory(environ)
            except (OSError, ssl.SSLError) as exc:
                return failed("ca", f"cannot load the CA certificates: {_oserror(exc)}", **known)
            started = time.monotonic()
            with context.wrap_socket(sock, server_hostname=target.host) as tls:
                return Reach(
                    target,
                    proxy,
                    tuple(addresses),
                    dns_ms,
                    connect_ms,
                    _ms(started),
                    tls.version(),
                )
        except ssl.SSLCertVerificationError as exc:
            why = exc.verify_message or exc.reason or str(exc)
            return failed("tls-verify", f"certificate not trusted: {why}", **known)
        except ssl.SSLError as exc:
            return failed("tls", f"TLS handshake failed: {exc.reason or exc}", **known)
        except OSError as exc:
            stage = "timeout" if isinstance(exc, (TimeoutError, socket.timeout)) else "tls"
            return failed(stage, f"TLS handshake failed: {_oserror(exc)}", **known)


def check_reach(r: Reach, environ: Mapping[str, str]) -> CheckResult:
    t = r.target
    where = f"{t.host}:{t.port}"
    via = f" via proxy {hide_password(r.proxy)}" if r.proxy else ""
    data = r.to_json()
    check_id = f"network.{'api' if t.label.startswith('OpenAI') else 'hf'}"
    if r.stage == "skipped":
        return CheckResult.skip(check_id, f"{t.label} {where}{via}: {r.error}", data=data)
    if r.stage is None:
        timing = f"DNS {r.dns_ms:.0f} ms, connect {r.connect_ms:.0f} ms"
        if r.tls_ms is not None:
            timing += f", {r.tls_version} handshake {r.tls_ms:.0f} ms"
        return CheckResult.ok(check_id, f"{t.label} {where} reachable{via}: {timing}", data=data)
    status = Status.FAIL if t.required else Status.WARN
    local = t.host in ("localhost", "127.0.0.1", "::1")
    label, error = t.label, r.error
    if r.stage == "tls-verify":
        ca = environ.get("SSL_CERT_FILE")
        if ca:
            return problem("network.tls-untrusted-with-ca").check(
                status,
                check_id,
                data=data,
                label=label,
                where=where,
                via=via,
                error=error,
                ca=ca,
                host=t.host,
            )
        return problem("network.tls-untrusted").check(
            status, check_id, data=data, label=label, where=where, via=via, error=error
        )
    if r.stage == "dns":
        return problem("network.dns").check(status, check_id, data=data, label=label, error=error)
    if r.stage == "proxy":
        return problem("network.proxy-refused").check(
            status, check_id, data=data, label=label, error=error
        )
    if local:
        return problem("network.local-server-down").check(
            status,
            check_id,
            data=data,
            label=label,
            where=where,
            error=error,
            url=t.url,
            or_unset=f", or unset {t.variable}" if t.variable else "",
        )
    if r.proxy:
        return problem("network.unreachable-via-proxy").check(
            status,
            check_id,
            data=data,
            label=label,
            where=where,
            via=via,
            error=error,
            proxy=hide_password(r.proxy),
        )
    return problem("network.unreachable").check(
        status, check_id, data=data, label=label, where=where, via=via, error=error
    )


def targets_for(config: OpenAIConfig, environ: Mapping[str, str]) -> list[Target]:
    api = Target(
        "OpenAI API" if config.base_url is None else "OpenAI-compatible API",
        config.effective_base_url,
        required=config.key is not None or config.base_url is not None,
        variable="OPENAI_BASE_URL" if config.base_url else None,
    )
    targets = [api]
    if not is_offline(environ):
        hub = (environ.get("HF_ENDPOINT") or HF_DEFAULT_ENDPOINT).rstrip("/")
        variable = "HF_ENDPOINT" if environ.get("HF_ENDPOINT") else None
        targets.append(Target("Hugging Face Hub", hub, variable=variable))
    return targets


def check_network(
    environ: Mapping[str, str],
    targets: list[Target],
    connector: Connector,
    timeout: float = TIMEOUT_S,
) -> list[CheckResult]:
    results = [check_proxies(environ, [t.url for t in targets])]
    results.extend(check_ca_bundles(environ))
    usable = [t for t in targets if t.host]
    with ThreadPoolExecutor(max_workers=max(len(usable), 1)) as pool:
        reaches = list(pool.map(lambda t: reach(t, environ, connector, timeout), usable))
    results.extend(check_reach(r, environ) for r in reaches)
    if not any(t.label == "Hugging Face Hub" for t in targets):
        results.append(
            CheckResult.skip("network.hf", "Hugging Face Hub not checked: offline mode is on")
        )
    return results


# --- the key, asked of the server ------------------------------------------------------------


def check_api_key(probe: KeyProbe, masked: str) -> CheckResult:
    """What the server said to the key, as `gh auth status` says it (the key shown masked)."""
    from chatenv.api.failures import FailureKind

    server = probe.server.name
    where = server if server.startswith("the server at") else f"{server} at {probe.base_url}"
    data = {
        "base_url": probe.base_url,
        "server": probe.server.kind.value,
        "accepted": probe.model_ids is not None,
        "model_count": len(probe.model_ids) if probe.model_ids is not None else None,
        "latency_ms": round(probe.latency_s * 1000) if probe.latency_s is not None else None,
        "request_id": probe.request_id,
        "failure": probe.failure.to_json() if probe.failure else None,
    }
    failure = probe.failure
    if failure is None and probe.model_ids is not None:
        count, ms = len(probe.model_ids), data["latency_ms"]
        return CheckResult.ok(
            "network.api-key",
            f"key {masked} accepted by {where}: {count} model{'s' if count != 1 else ''} "
            f"listed (GET /models, {ms} ms)",
            data=data,
        )
    assert failure is not None
    if failure.kind is FailureKind.RATE_LIMITED:  # a server rate-limits only a key it accepted
        return CheckResult.ok(
            "network.api-key", f"key {masked} accepted by {where} (rate limited now)", data=data
        )
    if failure.key_rejected or failure.kind is FailureKind.AZURE_DEPLOYMENT_URL:
        return problem("network.api-key-refused").check(
            Status.FAIL,
            "network.api-key",
            data=data,
            masked=masked,
            url=probe.base_url,
            reason=failure.summary,
            api_fix=failure.fix or "",
        )
    return problem("network.api-key-unverified").check(
        Status.WARN,
        "network.api-key",
        data=data,
        masked=masked,
        url=probe.base_url,
        reason=failure.summary,
        api_fix=failure.fix or "",
    )


def key_results(
    config: OpenAIConfig, environ: Mapping[str, str], reached: list[CheckResult]
) -> list[CheckResult]:
    """One `GET /models` with the key, when there is a key and the API host answered."""
    from chatenv.api.failures import base_url_failure
    from chatenv.api.probe import KeyProbe, get_models
    from chatenv.api.servers import identify
    from chatenv.keys.mask import mask_url

    if config.key is None:
        return []
    masked = config.key.masked
    unusable = base_url_failure(config.effective_base_url)
    if unusable is not None:  # no request can succeed: say why, without making one
        url = config.effective_base_url
        probe = KeyProbe(mask_url(url), identify(url), failure=unusable)
        return [check_api_key(probe, masked)]
    api = next((r for r in reached if r.id == "network.api"), None)
    if api is None or api.status is not Status.OK:
        return [
            CheckResult.skip(
                "network.api-key", f"key {masked} not checked: the API host did not answer"
            )
        ]
    url = config.effective_base_url
    proxy = proxy_for(url, environ)
    try:
        context = tls_context(environ) if url.startswith("https:") else None
    except (OSError, ValueError) as exc:
        return [
            CheckResult.skip(
                "network.api-key", f"key {masked} not checked: no TLS context ({_oserror(exc)})"
            )
        ]
    return [check_api_key(get_models(config, proxy=proxy, context=context), masked)]


def collect(ctx: Context) -> list[CheckResult]:
    """Run only without --offline (doctor/sections.py skips it then, without importing this)."""
    reached = check_network(ctx.environ, targets_for(ctx.openai, ctx.environ), ctx.seams.sockets())
    return reached + key_results(ctx.openai, ctx.environ, reached)
