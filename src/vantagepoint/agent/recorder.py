"""The agent's own bus subscriber: every message goes to the stream spool, then the core."""

from __future__ import annotations

import logging
import threading
import time

import zmq

from vantagepoint.agent.streams import StreamSpool
from vantagepoint.bus.message import PREFIX, BadMessage, decode

log = logging.getLogger(__name__)
POLL_MS = 200


class Recorder:
    """A SUB on the bus for every ``MONROE.META`` topic, writing each message it gets."""

    def __init__(self, endpoint: str, spool: StreamSpool, context: zmq.Context | None = None):
        self.endpoint, self.spool = endpoint, spool
        self._context = context or zmq.Context.instance()
        self._socket = self._context.socket(zmq.SUB)
        self._socket.setsockopt(zmq.RCVHWM, 0)  # no limit: queue rather than drop
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.SUBSCRIBE, PREFIX.encode())
        self._socket.connect(endpoint)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bus-recorder", daemon=True)
        self.recorded = self.refused = 0
        self.last_message = time.monotonic()

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop after writing every message already received."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while True:
                if self._socket.poll(POLL_MS):
                    self._record(self._socket.recv())
                elif self._stop.is_set():
                    return
        finally:
            self._socket.close()

    def _record(self, frame: bytes) -> None:
        self.last_message = time.monotonic()
        try:
            topic, body = decode(frame)
            self.spool.add_metadata(topic, float(body["Timestamp"]), body)
        except (BadMessage, UnicodeDecodeError, TypeError, ValueError) as exc:
            self.refused += 1
            log.warning("bus message not recorded: %s", exc)
            return
        self.recorded += 1
