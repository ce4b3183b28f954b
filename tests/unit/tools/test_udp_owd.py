"""udp-owd on loopback: halves, the joiner, reflect mode, send-schedule accuracy."""

from __future__ import annotations

import statistics
import threading

import pytest

from vantagepoint.core.processors.owd_join import OwdJoin
from vantagepoint.testing import run_tool
from vantagepoint.testing.contract import refusal
from vantagepoint.tools.udp_owd import UdpOwd


def _pair(sender: dict, receiver: dict, seconds: float = 1.5):
    out: dict[str, list] = {}

    def receive():
        out["rx"], _ = run_tool(UdpOwd, receiver, seconds + 0.5)

    thread = threading.Thread(target=receive)
    thread.start()
    import time

    time.sleep(0.3)  # the receiver binds in init
    out["tx"], _ = run_tool(UdpOwd, sender, seconds)
    thread.join()
    return out["tx"], out["rx"]


def test_halves_join_into_one_way_delay():
    tx, rx = _pair({"role": "sender", "session": "s", "target": "127.0.0.1", "port": 18701,
                    "interval": 0.02, "count": 40},
                   {"role": "receiver", "session": "s", "port": 18701})
    sent = [v for n, v, _ in tx if n == "tx"]
    got = [v for n, v, _ in rx if n == "rx"]
    assert len(sent) == 40 and len(got) == 40
    snapshot = {"tasks": [{"actions": [
        {"name": "s", "node": "a", "tool": "udp-owd", "config": {"role": "sender",
                                                                 "session": "s"}},
        {"name": "r", "node": "b", "tool": "udp-owd", "config": {"role": "receiver",
                                                                 "session": "s"}}]}]}

    def fetch(action=None, name=None):
        rows = [("a", "s", "tx", v) for v in sent] + [("b", "r", "rx", v) for v in got]
        return [{"node": n, "action": a, "name": k, "ts": 0, "value": v}
                for n, a, k, v in rows if (action in (None, a)) and (name in (None, k))]

    derived = OwdJoin().process(snapshot, fetch, {"a": 1.0, "b": 1.5})
    by = {}
    for d in derived:
        by.setdefault(d.name, []).append(d.value)
    assert len(by["owd_ms"]) == 40 and all(0 < v < 5 for v in by["owd_ms"])
    assert by["loss"] == [0] * 40 and by["loss_pct"] == [0.0]
    assert len(by["ipdv_ms"]) == 39
    assert by["clock_error_ms"] == [0.5]
    assert {d.node for d in derived} == {"b"} and {d.action for d in derived} == {"r"}


def test_loss_is_counted_when_probes_vanish():
    derived = OwdJoin().process(
        {"tasks": [{"actions": [
            {"name": "s", "node": "a", "tool": "udp-owd",
             "config": {"role": "sender", "session": "x"}},
            {"name": "r", "node": "b", "tool": "udp-owd",
             "config": {"role": "receiver", "session": "x"}}]}]},
        lambda action=None, name=None: (
            [{"node": "a", "value": {"seq": i, "t_send_ns": i * 10**7}} for i in range(4)]
            if name == "tx" else
            [{"node": "b", "value": {"seq": i, "t_send_ns": i * 10**7,
                                     "t_recv_ns": i * 10**7 + 2 * 10**6}} for i in (0, 3)]),
        {})
    values = {d.name: d.value for d in derived if d.name in ("loss_pct", "owd_median_ms")}
    assert values == {"loss_pct": 50.0, "owd_median_ms": 2.0}
    assert [d.value for d in derived if d.name == "loss"] == [0, 1, 1, 0]
    assert not [d for d in derived if d.name == "ipdv_ms"]  # no consecutive pair arrived


def test_reflect_mode_closes_the_round_trip():
    tx, _ = _pair({"role": "sender", "session": "r", "target": "127.0.0.1", "port": 18702,
                   "interval": 0.02, "count": 30, "reflect": True, "timeout": 0.5},
                  {"role": "receiver", "session": "r", "port": 18702, "reflect": True})
    rtt = [v for n, v, _ in tx if n == "rtt_ms"]
    up = [v for n, v, _ in tx if n == "owd_up_ms"]
    down = [v for n, v, _ in tx if n == "owd_down_ms"]
    assert len(rtt) == 30
    for r, u, d in zip(rtt, up, down, strict=True):
        assert 0 < u + d <= r  # the reflector's turnaround is the difference
    assert [v for n, v, _ in tx if n == "loss_pct"] == [0.0]


def test_send_schedule_keeps_absolute_deadlines():
    tx, _ = _pair({"role": "sender", "session": "t", "target": "127.0.0.1", "port": 18703,
                   "interval": 0.01, "count": 100},
                  {"role": "receiver", "session": "t", "port": 18703}, seconds=2)
    times = [v["t_send_ns"] for n, v, _ in tx if n == "tx"]
    errors = [abs(t - (times[0] + i * 10**7)) / 10**7 for i, t in enumerate(times)]
    assert statistics.median(errors) < 0.05  # well under 5 % of the interval


@pytest.mark.parametrize("config", [
    {"role": "sender", "session": "s"},  # no target
    {"role": "observer", "session": "s"},
    {"role": "receiver", "session": "s", "size": 10},
])
def test_bad_config_is_refused(config):
    assert refusal(UdpOwd, config)


def test_kernel_transmit_stamp_falls_between_the_send_and_its_arrival():
    import socket
    import time

    from vantagepoint.tools.owdwire import (
        enable_timestamps,
        enable_tx_timestamps,
        receive,
        tx_timestamp,
    )

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        assert enable_tx_timestamps(tx) and enable_timestamps(rx)
        before = time.time_ns()
        for _ in range(2):  # datagrams 0 and 1: the stamp of 1 is asked for
            tx.sendto(b"x" * 64, rx.getsockname())
        wire = tx_timestamp(tx, 1)
        _, _, arrived = receive(rx)
        _, _, arrived = receive(rx)
        assert tx_timestamp(tx, 1) is None  # the error queue was drained
    assert wire is not None and before <= wire <= arrived
