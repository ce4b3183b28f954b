"""TLS options of archivers: certificates are always verified, against a CA bundle if given."""

from __future__ import annotations

import ssl
from pathlib import Path

from pydantic import Field

from vantagepoint.archivers.base import SinkOptions
from vantagepoint.tls import tls_context


class TlsOptions(SinkOptions):
    """TLS for a broker connection (verification always on)."""

    tls: bool = Field(False, description="Connect with TLS.")
    ca_bundle: Path | None = Field(None, description="CA certificates that sign the server's.")
    client_cert: Path | None = Field(None, description="Client certificate (PEM), if required.")
    client_key: Path | None = Field(None, description="Key of the client certificate (PEM).")

    def context(self) -> ssl.SSLContext | None:
        if not (self.tls or self.ca_bundle):
            return None
        return tls_context(self.ca_bundle, self.client_cert, self.client_key)
