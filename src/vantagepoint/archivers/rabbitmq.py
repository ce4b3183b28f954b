"""The ``rabbitmq`` archiver: AMQP 0-9-1 with publisher confirms (pika).

Messages are persistent, ``mandatory`` (a message no queue takes is an error, not a
silent loss) and carry the idempotency key as ``message_id``.
"""

from __future__ import annotations

import pika
from pydantic import Field

from vantagepoint.archivers._tls import TlsOptions, tls_context
from vantagepoint.archivers.base import Message, Sink


class RabbitOptions(TlsOptions):
    url: str = Field("amqp://guest:guest@127.0.0.1:5672/%2F", pattern=r"^amqps?://",
                     description="amqp:// or amqps:// URL of the broker.")
    exchange: str = Field("amq.topic", description="Exchange to publish to.")


class RabbitMQ(Sink):
    Options = RabbitOptions
    options: RabbitOptions

    def __init__(self, options: RabbitOptions):
        super().__init__(options)
        self._conn: pika.BlockingConnection | None = None
        self._channel = None

    def _connect(self) -> None:
        params = pika.URLParameters(self.options.url)
        params.socket_timeout = params.blocked_connection_timeout = self.options.timeout_seconds
        context = self.options.context()
        if context is not None or self.options.url.startswith("amqps://"):
            params.ssl_options = pika.SSLOptions(context or tls_context(), params.host)
        self._conn = pika.BlockingConnection(params)
        self._channel = self._conn.channel()
        self._channel.confirm_delivery()

    def send(self, messages: list[Message]) -> None:
        if self._conn is None or self._conn.is_closed:
            self.close()
            self._connect()
        for m in messages:
            self._channel.basic_publish(
                self.options.exchange, m.topic, m.body(), mandatory=True,
                properties=pika.BasicProperties(message_id=m.key, delivery_mode=2,
                                                content_type="application/json"))

    def idle(self) -> None:
        # BlockingConnection answers heartbeats only while called.
        if self._conn is not None and self._conn.is_open:
            try:
                self._conn.process_data_events(0)
            except pika.exceptions.AMQPError:
                self.close()

    def close(self) -> None:
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except pika.exceptions.AMQPError:
                pass
