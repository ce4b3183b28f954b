"""The agent's bus publisher: one PUB socket, safe to call from many threads.

No message is dropped silently: ZeroMQ's PUB drops frames for a subscriber
whose queue reached its high-water mark, so the HWM is 0 (no limit) and a slow
subscriber costs memory instead of messages; there is no size limit either
(ZMQ_MAXMSGSIZE stays -1), unlike the 8 KB cut of the old testbed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import zmq

from vantagepoint.bus.message import DATA_VERSION, check_topic, data_id, encode

UNLIMITED = 0  # a high-water mark of 0 means no limit


class BusClosed(RuntimeError):
    """Publishing on a closed bus (e.g. while the watchdog restarts it)."""


def ensure_ipc_dir(endpoint: str) -> None:
    """Create the directory of an ``ipc://`` endpoint (bind fails without it)."""
    if endpoint.startswith("ipc://"):
        Path(endpoint[len("ipc://"):]).parent.mkdir(parents=True, exist_ok=True)


class Publisher:
    """Stamps the common fields and sends ``<topic> <json>`` frames."""

    def __init__(self, endpoint: str, node_id: str, context: zmq.Context | None = None):
        self.endpoint, self.node_id = endpoint, node_id
        ensure_ipc_dir(endpoint)
        self._context = context or zmq.Context.instance()
        # XPUB is a PUB that also hears subscriptions, so the agent can wait for its own
        # recorder before publishing anything (PUB/SUB would lose the first messages).
        self._socket = self._context.socket(zmq.XPUB)
        self._socket.setsockopt(zmq.SNDHWM, UNLIMITED)
        self._socket.setsockopt(zmq.XPUB_VERBOSE, 1)  # hear every subscriber, not only the first
        self._socket.setsockopt(zmq.LINGER, 1000)
        self._socket.bind(endpoint)
        self._lock = threading.Lock()
        self._seq = 0
        self.sent = 0
        self.closed = False

    def publish(self, topic: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Send one message; return it as sent (with SequenceNumber and the other stamps)."""
        check_topic(topic)
        with self._lock:
            if self.closed:
                raise BusClosed(f"the bus on {self.endpoint} is closed; {topic} not sent")
            self._seq += 1
            body = {"SequenceNumber": self._seq, "Timestamp": round(time.time(), 6),
                    "DataId": data_id(topic), "DataVersion": DATA_VERSION,
                    "NodeId": self.node_id, **fields}
            self._socket.send(encode(topic, body), copy=False)
            self.sent += 1
        return body

    def wait_subscriber(self, prefix: str, timeout: float = 5.0) -> bool:
        """Wait until some subscriber subscribed to ``prefix``; False after ``timeout``."""
        wanted = b"\x01" + prefix.encode()
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            with self._lock:
                if self._socket.poll(int(min(left, 0.05) * 1000)):
                    if self._socket.recv() == wanted:
                        return True
        return False

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self._socket.close()
                self.closed = True
