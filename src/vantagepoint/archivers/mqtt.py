"""The ``mqtt`` archiver: each result a QoS 1 (by default) MQTT 5 message (paho-mqtt).

The idempotency key travels as the user property ``idempotency-key``.
"""

from __future__ import annotations

from typing import Literal

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import Field

from vantagepoint.archivers._tls import TlsOptions
from vantagepoint.archivers.base import Message, Sink


class MqttOptions(TlsOptions):
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(1883, ge=1, le=65535)
    qos: Literal[0, 1, 2] = 1
    username: str | None = None
    password: str | None = None
    client_id: str = ""


class Mqtt(Sink):
    Options = MqttOptions
    default_topic = "vantagepoint/results/{node}/{action}/{name}"
    options: MqttOptions

    def __init__(self, options: MqttOptions):
        super().__init__(options)
        self._client: mqtt.Client | None = None

    def _connect(self) -> mqtt.Client:
        o = self.options
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=o.client_id,
                             protocol=mqtt.MQTTv5)
        if o.username:
            client.username_pw_set(o.username, o.password)
        context = o.context()
        if context is not None:
            client.tls_set_context(context)
        client.connect(o.host, o.port, keepalive=30)
        client.loop_start()
        return client

    def send(self, messages: list[Message]) -> None:
        if self._client is None or not self._client.is_connected():
            self.close()
            self._client = self._connect()
        infos = [self._client.publish(m.topic, m.body(), qos=self.options.qos,
                                      properties=_properties(m.key)) for m in messages]
        for info in infos:
            info.wait_for_publish(timeout=self.options.timeout_seconds)
            if not info.is_published():
                raise TimeoutError(f"the MQTT broker did not acknowledge within "
                                   f"{self.options.timeout_seconds:g} s")

    def close(self) -> None:
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()
            self._client = None


def _properties(key: str) -> Properties:
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [("idempotency-key", key)]
    return props
