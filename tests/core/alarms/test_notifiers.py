"""Each notifier delivers to its real endpoint: SMTP (aiosmtpd), MQTT (Mosquitto), a command,
an HTTP server; a bad configuration is refused with the field named."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import sys
import threading

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import IN_CI
from tests.core.alarms.conftest import WRITE_STDIN, Hook
from tests.support import free_port, wait_until
from vantagepoint.core.alarms.notifiers import Notice, build_notifiers
from vantagepoint.errors import Invalid

MQTT = ("127.0.0.1", 1883)


def notice(alarm_id: int = 7) -> Notice:
    alarm = {"id": alarm_id, "execution": 3, "node": "n1", "action": "a",
             "condition": "p95(rtt_ms, 60s) > 150", "result": "rtt_ms", "value": 180.5,
             "ts": 1700000000.25, "raised_at": 1700000000.5, "origin": "node"}
    return Notice(alarm, "rtt", "alice")


def one(config: dict):
    return build_notifiers({"x": config}, [])["x"]


class _Inbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's API
        self.messages.append(envelope)
        return "250 OK"


def test_email_reaches_an_smtp_server():
    inbox, port = _Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        one({"kind": "email", "host": "127.0.0.1", "port": port, "sender": "vp@example.org",
             "to": ["ops@example.org", "me@example.org"]}).notify(notice())
    finally:
        controller.stop()
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == ["ops@example.org", "me@example.org"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"].strip() == ("[vantagepoint] alarm 7: p95(rtt_ms, 60s) > 150 on n1 "
                                  "(rtt/a, execution 3)")
    assert "value 180.5 at 1700000000.250" in message.get_content()


def _broker_up() -> bool:
    try:
        socket.create_connection(MQTT, timeout=1).close()
        return True
    except OSError:
        return False


def test_mqtt_reaches_the_broker():
    if not _broker_up():
        if IN_CI:
            pytest.fail("no MQTT broker at 127.0.0.1:1883 (CI=true: this test must run)")
        pytest.skip("no MQTT broker (Mosquitto) at 127.0.0.1:1883")
    import paho.mqtt.client as mqtt

    got, subscribed = [], threading.Event()
    topic = f"vantagepoint-test/{free_port()}/{{node}}"
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: got.append((m.topic, json.loads(m.payload)))
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect(*MQTT)
    sub.subscribe(topic.replace("{node}", "+"), qos=1)
    sub.loop_start()
    try:
        assert subscribed.wait(10)
        notifier = one({"kind": "mqtt", "topic": topic})
        notifier.notify(notice(1))
        notifier.notify(notice(2))
        wait_until(lambda: len(got) == 2, timeout=10, what="two MQTT messages")
        notifier.close()
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert [t for t, _ in got] == [topic.replace("{node}", "n1")] * 2
    assert [body["alarm"]["id"] for _, body in got] == [1, 2]


def test_command_gets_the_alarm_and_a_failure_is_raised(tmp_path):
    out = tmp_path / "got.jsonl"
    one({"kind": "command", "argv": [sys.executable, "-c", WRITE_STDIN, str(out)]}).notify(
        notice())
    assert json.loads(out.read_text())["alarm"]["condition"] == "p95(rtt_ms, 60s) > 150"
    failing = one({"kind": "command", "argv": [sys.executable, "-c",
                                               "import sys; sys.exit('no pager')"]})
    with pytest.raises(RuntimeError, match="exited with 1: no pager"):
        failing.notify(notice())


def test_webhook_gives_up_at_once_on_a_refusal():
    hook = Hook()
    try:
        hook.fail_first = 100
        notifier = one({"kind": "webhook", "url": hook.url, "attempts": 3, "backoff": 0.01})
        with pytest.raises(RuntimeError, match="after 3 attempt"):
            notifier.notify(notice())
        assert hook.attempts == 3  # 503 is worth retrying
    finally:
        hook.close()


def test_bad_configuration_names_each_field():
    with pytest.raises(Invalid) as caught:
        build_notifiers({"hook": {"kind": "webhook", "url": "not a url", "attempts": 0},
                         "pager": {"kind": "sms"},
                         "mail": {"kind": "email", "host": "h", "sender": "x@y", "to": [],
                                  "colour": "red"}},
                        ["log", "missing"])
    pointers = {p.pointer for p in caught.value.problems}
    assert pointers == {"/notifiers/hook/url", "/notifiers/hook/attempts",
                        "/notifiers/pager/kind", "/notifiers/mail/to",
                        "/notifiers/mail/colour", "/default_notifiers/1"}
