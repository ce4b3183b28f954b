"""The ``http`` archiver: POST each batch as JSON to a URL (httpx).

Body: ``{"messages": [{"key", "topic", "payload"}, ...]}``; any answer but 2xx is a
failure and the batch is sent again later, so a receiver dedupes on ``key``.
"""

from __future__ import annotations

import httpx
from pydantic import AnyHttpUrl, Field

from vantagepoint.archivers._tls import TlsOptions, tls_context
from vantagepoint.archivers.base import Message, Sink


class HttpOptions(TlsOptions):
    url: AnyHttpUrl
    headers: dict[str, str] = Field(default_factory=dict,
                                    description="Extra headers, e.g. Authorization.")


class Http(Sink):
    Options = HttpOptions
    options: HttpOptions

    def __init__(self, options: HttpOptions):
        super().__init__(options)
        self._client: httpx.Client | None = None

    def send(self, messages: list[Message]) -> None:
        if self._client is None:
            o = self.options
            self._client = httpx.Client(timeout=o.timeout_seconds, headers=o.headers,
                                        verify=tls_context(o.ca_bundle, o.client_cert,
                                                           o.client_key))
        body = {"messages": [{"key": m.key, "topic": m.topic, "payload": m.payload}
                             for m in messages]}
        self._client.post(str(self.options.url), json=body).raise_for_status()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
