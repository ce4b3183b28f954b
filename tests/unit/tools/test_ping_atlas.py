"""Ping's kernel timestamps and its RIPE Atlas record, checked against iputils and sagan."""

from __future__ import annotations

import re
import socket
import struct
import subprocess
import time

import pytest
from ripe.atlas.sagan import PingResult

from vantagepoint.testing import root_skip_reason, run_tool
from vantagepoint.tools import atlas
from vantagepoint.tools.base import ActionEnv, RunContext
from vantagepoint.tools.icmp import Received, round_trip_ms
from vantagepoint.tools.ping import Ping, Settings, _Probe, _Session, check_config

SKIP = root_skip_reason()
needs_root = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")
SILENT = "198.51.100.1"  # TEST-NET-2 through lo: nothing answers
MS = 1_000_000


def rtts(results):
    return [v for n, v, _ in results if n == "rtt_ms"]


def the_record(results):
    records = [v for n, v, _ in results if n == "atlas"]
    assert len(records) == 1
    return records[0]


def test_atlas_is_a_valid_request_and_only_emitted_when_requested():
    check_config({"target": "127.0.0.1"}, ["atlas", "rtt_ms"])
    spec = next(r for r in Ping.results if r.name == "atlas")
    assert (spec.type, spec.conditionable) == ("object", False)


def test_header_mapping():
    assert atlas.firmware("1.1") == 5011 and atlas.firmware("2") == 5020
    assert atlas.measurement_id("") == 0
    assert atlas.measurement_id("ping-a") == atlas.measurement_id("ping-a") > 0
    assert atlas.ping_stats([]) == {"min": -1, "avg": -1, "max": -1}
    assert atlas.ping_stats([1.0, 2.0004]) == {"min": 1.0, "avg": 1.5, "max": 2.0}


def test_kernel_timestamp_is_preferred_unless_the_clock_stepped():
    got = Received(b"", ("127.0.0.1", 0), perf_ns=10 * MS, kernel_ns=1_000_007 * MS, ttl=64)
    assert round_trip_ms(1_000_000 * MS, 2 * MS, got) == (7.0, True)
    stepped = Received(b"", (), perf_ns=10 * MS, kernel_ns=999_000 * MS, ttl=None)
    assert round_trip_ms(1_000_000 * MS, 2 * MS, stepped) == (8.0, False)
    without = Received(b"", (), perf_ns=10 * MS, kernel_ns=None, ttl=None)
    assert round_trip_ms(1_000_000 * MS, 2 * MS, without) == (8.0, False)


def _echo_reply(seq: int) -> bytes:
    return struct.pack("!BBHHH", 0, 0, 0, 0, seq) + b"payload"


def test_a_second_reply_is_a_duplicate_not_a_reply():
    tool = Ping(ActionEnv("op0", "dup"))
    tool.settings, tool.family, tool.raw = Settings("127.0.0.1"), socket.AF_INET, False
    tool.addr, tool.src_addr = ("127.0.0.1", 0), "127.0.0.1"
    emitted = []
    ctx = RunContext(lambda *r: emitted.append(r), lambda *a: None, end=time.time() + 5)
    session = _Session(tool, ctx)
    now = time.perf_counter_ns()
    session.pending[5] = _Probe(now, time.time_ns(), time.time(), now / 1e9 + 1, 0)
    session.tally.entries.append(None)
    session.tally.sent = 1
    for ttl in (64, 63):
        session._match(Received(_echo_reply(5), (), now + 2 * MS, None, ttl))
    record = tool.record(session.tally, time.time())
    assert (record["sent"], record["rcvd"], record["dup"], record["ttl"]) == (1, 1, 1, 64)
    assert record["result"] == [{"rtt": 2.0}, {"rtt": 2.0, "ttl": 63, "dup": 1}]
    assert [n for n, _, _ in emitted] == ["rtt_ms"]


def iputils_avg_ms(target: str) -> float:
    """iputils ping's average RTT over 5 requests."""
    out = subprocess.run(["ping", "-n", "-q", "-c", "5", "-i", "0.05", target],
                         check=True, capture_output=True, text=True, timeout=30).stdout
    return float(re.search(r"= [\d.]+/([\d.]+)/", out).group(1))


@needs_root
@pytest.mark.parametrize("target, af", [("127.0.0.1", 4), ("::1", 6)])
def test_loopback_rtt_agrees_with_iputils_and_sagan_reads_the_record(target, af):
    reference = iputils_avg_ms(target)
    config = {"target": target, "count": 5, "interval": 0.05, "size": 32}
    results, logs = run_tool(Ping, config, 10, requested=["atlas"],
                             env=ActionEnv("op0", "ping-lo", device="lo"))
    ours = rtts(results)
    assert len(ours) == 5 and all(v > 0 for v in ours)
    mean = sum(ours) / len(ours)
    assert mean < 10 * reference + 0.5 and reference < 10 * mean + 0.5, (mean, reference)
    assert "kernel receive timestamps" in logs[0][1]
    assert "(5 of 5 kernel-timestamped)" in logs[-1][1]

    record = the_record(results)
    assert {k: record[k] for k in ("type", "af", "dst_addr", "src_addr", "proto", "size",
                                   "sent", "rcvd", "dup", "lts", "prb_id", "step", "fw")} == {
        "type": "ping", "af": af, "dst_addr": target, "src_addr": target, "proto": "ICMP",
        "size": 32, "sent": 5, "rcvd": 5, "dup": 0, "lts": -1, "prb_id": 0, "step": None,
        "fw": 5011}
    assert record["msm_id"] == atlas.measurement_id("ping-lo")
    assert record["ttl"] == 64 and isinstance(record["timestamp"], int)

    parsed = PingResult(record)  # what Atlas users' parser makes of it
    assert not parsed.is_malformed and not parsed.is_error
    assert [p.rtt for p in parsed.packets] == [round(v, 3) for v in ours]
    assert (parsed.packets_sent, parsed.packets_received, parsed.af) == (5, 5, af)
    assert (parsed.rtt_min, parsed.rtt_max) == (round(min(ours), 3), round(max(ours), 3))
    assert parsed.rtt_average == round(sum(ours) / 5, 3)
    assert parsed.destination_address == target and parsed.protocol == "ICMP"


@needs_root
def test_silent_target_record_has_timeouts_and_minus_one():
    config = {"target": SILENT, "count": 3, "interval": 0.05, "timeout": 0.2}
    results, _ = run_tool(Ping, config, 10, requested=["atlas"],
                          env=ActionEnv("op0", "a", device="lo"))
    record = the_record(results)
    assert (record["sent"], record["rcvd"], record["min"], record["avg"], record["max"]) == (
        3, 0, -1, -1, -1)
    assert record["result"] == [{"x": "*"}] * 3 and record["ttl"] is None
    parsed = PingResult(record)
    assert [p.rtt for p in parsed.packets] == [None] * 3 and parsed.packets_received == 0


@needs_root
def test_no_record_unless_requested():
    results, _ = run_tool(Ping, {"target": "127.0.0.1", "count": 1}, 5)
    assert "atlas" not in {n for n, _, _ in results}
