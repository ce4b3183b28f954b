"""Bus frames: one ZeroMQ frame per message, ``<topic> <json>``, single-line JSON.

Every message carries SequenceNumber, Timestamp (UTC epoch seconds with
microseconds), DataId (the topic family), DataVersion and NodeId beside the
topic's own fields. Topic names and fields follow the existing testbed so
experiments written for it run unchanged.
"""

from __future__ import annotations

import json
import re
from typing import Any

PREFIX = "MONROE.META"
NODE_EVENT = "MONROE.META.NODE.EVENT"
GPS = "MONROE.META.DEVICE.GPS"
SENSOR = "MONROE.META.NODE.SENSOR"
MODEM = "MONROE.META.DEVICE.MODEM"
DATA_VERSION = 1
COMMON = ("SequenceNumber", "Timestamp", "DataId", "DataVersion", "NodeId")
TOPIC = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
MAX_TOPIC = 200


class BadMessage(ValueError):
    """A frame that is not ``<topic> <json object>`` with the common fields."""


def modem_topic(modem_id: str, event: str) -> str:
    """``MONROE.META.DEVICE.MODEM.<id>.<EVENT>`` (id: ICCID, else the interface name)."""
    return f"{MODEM}.{modem_id}.{event}"


def sensor_topic(kind: str) -> str:
    return f"{SENSOR}.{kind}"


def data_id(topic: str) -> str:
    """The topic family: the modem's id and event are dropped, the sensor kind kept."""
    if topic.startswith(MODEM + "."):
        return MODEM
    return topic


def check_topic(topic: str) -> str:
    if not isinstance(topic, str) or len(topic) > MAX_TOPIC or not TOPIC.match(topic):
        raise BadMessage(f"topic {topic!r} is not dot-separated words of [A-Za-z0-9_-] "
                         f"(at most {MAX_TOPIC} characters)")
    return topic


def encode(topic: str, body: dict[str, Any]) -> bytes:
    """The frame for ``body`` on ``topic`` (compact, single-line JSON)."""
    return f"{topic} {json.dumps(body, separators=(',', ':'), allow_nan=False)}".encode()


def decode(frame: bytes) -> tuple[str, dict[str, Any]]:
    """Topic and body of a frame; BadMessage naming what is wrong."""
    text = frame.decode("utf-8", errors="strict") if isinstance(frame, bytes) else frame
    topic, sep, payload = text.partition(" ")
    if not sep:
        raise BadMessage("the frame has no space between topic and JSON")
    check_topic(topic)
    try:
        body = json.loads(payload)
    except ValueError as exc:
        raise BadMessage(f"{topic}: the payload is not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise BadMessage(f"{topic}: the payload is not a JSON object")
    missing = [f for f in COMMON if f not in body]
    if missing:
        raise BadMessage(f"{topic}: missing field(s) {', '.join(missing)}")
    return topic, body
