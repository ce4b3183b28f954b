"""TLS client contexts: certificates are always verified, against a CA bundle if given.

There is deliberately no way to turn verification off anywhere;
a private CA is trusted by naming its bundle instead.
"""

from __future__ import annotations

import ssl
from pathlib import Path


def tls_context(ca_bundle: Path | None = None, client_cert: Path | None = None,
                client_key: Path | None = None) -> ssl.SSLContext:
    """A verifying client context, optionally presenting a client certificate."""
    context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    if client_cert is not None:
        context.load_cert_chain(str(client_cert), str(client_key) if client_key else None)
    return context
