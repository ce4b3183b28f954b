"""Interface byte counters come from the kernel."""

from __future__ import annotations

import socket

from vantagepoint.agent.traffic import read_counters, traffic_since


def test_loopback_traffic_is_counted():
    base = read_counters({"lo", "no-such-device"})
    assert set(base) == {"lo"}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(10):
            s.sendto(b"x" * 1000, ("127.0.0.1", 9))
    assert traffic_since(base) >= 10_000


def test_nothing_known_gives_none():
    assert traffic_since({}) is None
