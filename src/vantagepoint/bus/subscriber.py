"""Subscribe to a node's metadata bus by topic prefix.

Needs only pyzmq and the standard library, so an experiment may import it
(``from vantagepoint.bus.subscriber import Subscriber``) or copy this file.
From a shell: ``python -m vantagepoint.bus.subscriber ENDPOINT [PREFIX ...]``
prints one ``<topic> <json>`` line per message.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any

import zmq

DEFAULT_ENDPOINT = os.environ.get("VANTAGE_BUS_ENDPOINT", "ipc:///monroe/bus/metadata.ipc")


class Subscriber:
    """A SUB socket on ``endpoint`` for every topic starting with one of ``prefixes``."""

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT,
                 prefixes: Iterable[str] = ("MONROE.META",), context: zmq.Context | None = None):
        self._socket = (context or zmq.Context.instance()).socket(zmq.SUB)
        self._socket.setsockopt(zmq.RCVHWM, 0)  # no limit: queue rather than drop
        self._socket.setsockopt(zmq.LINGER, 0)
        for prefix in prefixes:
            self._socket.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        self._socket.connect(endpoint)

    def recv_frame(self, timeout: float | None = None) -> bytes | None:
        """The next raw frame, or None after ``timeout`` seconds (None waits for ever)."""
        if timeout is not None and not self._socket.poll(int(timeout * 1000)):
            return None
        return self._socket.recv()

    def recv(self, timeout: float | None = None) -> tuple[str, dict[str, Any]] | None:
        """The next (topic, message), or None after ``timeout`` seconds."""
        frame = self.recv_frame(timeout)
        if frame is None:
            return None
        topic, _, payload = frame.partition(b" ")
        return topic.decode(), json.loads(payload)

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        while True:
            message = self.recv()
            if message is not None:
                yield message

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> Subscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str]) -> int:
    endpoint = argv[0] if argv else DEFAULT_ENDPOINT
    with Subscriber(endpoint, argv[1:] or ["MONROE.META"]) as sub:
        for frame in iter(sub.recv_frame, None):
            sys.stdout.write(frame.decode(errors="replace") + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(0)
