"""``mqtt``: publish the alarm as JSON to an MQTT broker (paho-mqtt), QoS 1 by default."""

from __future__ import annotations

import json
import threading
from typing import Literal

import paho.mqtt.client as mqtt
from pydantic import Field

from vantagepoint.core.alarms.notifiers import Notice, NotifierConfig


class MqttConfig(NotifierConfig):
    kind: Literal["mqtt"]
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(1883, ge=1, le=65535)
    topic: str = Field("vantagepoint/alarms/{node}", min_length=1,
                       description="{node}, {execution} and {action} are filled in.")
    qos: int = Field(1, ge=0, le=2)
    username: str | None = None
    password: str | None = None
    timeout: float = Field(10.0, gt=0, le=120)


class MqttNotifier:
    """Keeps one connection (paho's network thread) and publishes each alarm on it."""

    Config = MqttConfig

    def __init__(self, name: str, config: MqttConfig):
        self.name, self.config = name, config
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()

    def notify(self, notice: Notice) -> None:
        a, c = notice.alarm, self.config
        topic = c.topic.format(node=a["node"], execution=a["execution"], action=a["action"])
        with self._lock:
            info = self._connected().publish(topic, json.dumps(notice.payload()), qos=c.qos)
        info.wait_for_publish(timeout=c.timeout)
        if not info.is_published():
            self._drop()
            raise RuntimeError(f"MQTT broker {c.host}:{c.port} did not take the alarm "
                               f"(rc {info.rc})")

    def _connected(self) -> mqtt.Client:
        if self._client is None:  # paho's loop reconnects on its own after a drop
            c = self.config
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                 client_id=f"vantagepoint-{self.name}")
            if c.username:
                client.username_pw_set(c.username, c.password)
            client.connect(c.host, c.port, keepalive=30)
            client.loop_start()
            self._client = client
        return self._client

    def _drop(self) -> None:
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()
            self._client = None

    def close(self) -> None:
        with self._lock:
            self._drop()
