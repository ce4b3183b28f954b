"""The ``nats`` archiver: JetStream publish with acknowledgement (nats-py).

The idempotency key goes in the ``Nats-Msg-Id`` header, so JetStream itself drops a
re-sent message within the stream's duplicate window. A subject no stream takes is an
error. nats-py is asyncio; this sink keeps its own event loop in the draining thread.
"""

from __future__ import annotations

import asyncio

import nats
from nats.aio.client import Client as NatsClient
from pydantic import Field

from vantagepoint.archivers._tls import TlsOptions
from vantagepoint.archivers.base import Message, Sink


class NatsOptions(TlsOptions):
    servers: list[str] = Field(["nats://127.0.0.1:4222"], min_length=1)


class Nats(Sink):
    Options = NatsOptions
    options: NatsOptions

    def __init__(self, options: NatsOptions):
        super().__init__(options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._nc: NatsClient | None = None

    def send(self, messages: list[Message]) -> None:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._send(messages))

    async def _send(self, messages: list[Message]) -> None:
        if self._nc is None or not self._nc.is_connected:
            await self._close()
            self._nc = await nats.connect(
                self.options.servers, connect_timeout=self.options.timeout_seconds,
                allow_reconnect=False, max_reconnect_attempts=0, tls=self.options.context())
        js = self._nc.jetstream(timeout=self.options.timeout_seconds)
        for m in messages:
            await js.publish(m.topic, m.body(), headers={"Nats-Msg-Id": m.key})

    async def _close(self) -> None:
        nc, self._nc = self._nc, None
        if nc is not None and not nc.is_closed:
            await nc.close()

    def close(self) -> None:
        if self._loop is not None:
            self._loop.run_until_complete(self._close())
