"""The TLS context a client of the user's would verify with: the openai client (httpx2) and
huggingface_hub build theirs as `httpcore2._ssl.default_ssl_context` does: SSL_CERT_FILE, else
SSL_CERT_DIR, else the OS trust store (OpenSSL's compiled-in paths on Linux, `truststore` on
macOS and Windows). doctor's reachability checks and its Hugging Face requests share it."""

from __future__ import annotations

import os
import platform
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping


def tls_context(environ: Mapping[str, str], system: str | None = None) -> ssl.SSLContext:
    """The context the openai client would verify with (see the module docstring)."""
    import ssl

    if environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=environ["SSL_CERT_FILE"])
    if environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=environ["SSL_CERT_DIR"])
    if (system or platform.system()) in ("Windows", "Darwin"):
        try:
            import truststore

            return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        except ImportError:
            return ssl.create_default_context()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
    if cafile or capath:
        ctx.load_verify_locations(cafile, capath)
    else:
        ctx.load_default_certs()
    return ctx
