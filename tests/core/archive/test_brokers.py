"""The mqtt, rabbitmq and nats archivers deliver to the real brokers on 127.0.0.1.

Each test uses its own topic/queue/stream, so parallel runs do not see each other's
messages. Outside CI a missing broker skips with the reason; under CI=true it fails.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from tests.core.archive.support import need_broker, upload, wait_status
from tests.support import wait_until

KEYS = {f"n1/spool-aaaa/{i}" for i in range(1, 6)}


@pytest.fixture
def tag() -> str:
    return f"vptest_{uuid.uuid4().hex[:10]}"


def test_mqtt(archiving, tag):
    need_broker("Mosquitto", 1883)
    import paho.mqtt.client as mqtt

    got: list[mqtt.MQTTMessage] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_message = lambda _c, _u, msg: got.append(msg)
    sub.connect("127.0.0.1", 1883)
    sub.subscribe(f"{tag}/#", qos=1)
    sub.loop_start()
    try:
        client = archiving({"name": "mq", "kind": "mqtt",
                            "topic": tag + "/{node}/{action}/{name}"})
        upload(client, 5)
        wait_status(client, "mq", "5 delivered", delivered=5, backlog=0)
        wait_until(lambda: len(got) >= 5, what="5 MQTT messages")
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert {m.topic for m in got} == {f"{tag}/n1/a/rtt_ms"}
    keys = {dict(m.properties.UserProperty)["idempotency-key"] for m in got}
    assert keys == KEYS
    assert sorted(json.loads(m.payload)["value"] for m in got) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_rabbitmq(archiving, tag):
    need_broker("RabbitMQ", 5672)
    import pika

    conn = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
    channel = conn.channel()
    queue = channel.queue_declare(tag, exclusive=True).method.queue
    channel.queue_bind(queue, "amq.topic", routing_key=f"{tag}.#")
    try:
        client = archiving({"name": "rabbit", "kind": "rabbitmq",
                            "topic": tag + ".{node}.{action}.{name}"})
        upload(client, 5)
        wait_status(client, "rabbit", "5 delivered", delivered=5, backlog=0)
        got = []
        while len(got) < 5:
            method, props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                conn.sleep(0.1)
                continue
            got.append((method.routing_key, props.message_id, json.loads(body)))
    finally:
        conn.close()
    assert {key for key, _, _ in got} == {f"{tag}.n1.a.rtt_ms"}
    assert {mid for _, mid, _ in got} == KEYS
    assert sorted(body["value"] for _, _, body in got) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_rabbitmq_unroutable_is_an_error_not_a_loss(archiving, tag):
    need_broker("RabbitMQ", 5672)
    client = archiving({"name": "nowhere", "kind": "rabbitmq", "topic": tag + ".{node}",
                        "retry": {"backoff_seconds": 0.2}})
    upload(client, 2)
    stuck = wait_status(client, "nowhere", "a failed attempt", failures=lambda n: n >= 1)
    assert stuck["delivered"] == 0 and stuck["backlog"] == 2
    assert "Unroutable" in stuck["last_error"]


async def _stream(tag: str, create: bool):
    import nats

    nc = await nats.connect("nats://127.0.0.1:4222")
    js = nc.jetstream()
    try:
        if create:
            await js.add_stream(name=tag, subjects=[f"{tag}.>"])
            return None
        info = await js.stream_info(tag)
        messages = [await js.get_msg(tag, seq) for seq in range(1, info.state.messages + 1)]
        await js.delete_stream(tag)
        return messages
    finally:
        await nc.close()


def test_nats_jetstream(archiving, tag):
    need_broker("NATS", 4222)
    asyncio.run(_stream(tag, create=True))
    client = archiving({"name": "js", "kind": "nats", "topic": tag + ".{node}.{action}.{name}"})
    upload(client, 5)
    wait_status(client, "js", "5 delivered", delivered=5, backlog=0)
    got = asyncio.run(_stream(tag, create=False))
    assert {m.subject for m in got} == {f"{tag}.n1.a.rtt_ms"}
    assert {m.headers["Nats-Msg-Id"] for m in got} == KEYS
    assert sorted(json.loads(m.data)["value"] for m in got) == [0.0, 1.0, 2.0, 3.0, 4.0]
