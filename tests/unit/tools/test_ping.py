"""The ping tool, with real ICMP packets on loopback."""

from __future__ import annotations

import ctypes
import fcntl
import multiprocessing
import os
import socket
import struct
import threading
import time

import pytest

from vantagepoint.errors import ToolError
from vantagepoint.testing import ToolContract, root_skip_reason, run_tool
from vantagepoint.tools.base import ActionEnv, RunContext
from vantagepoint.tools.ping import Ping, checksum, echo_request, parse_reply

SKIP = root_skip_reason()
needs_root = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")
NOBODY = 65534
# A TEST-NET-2 address (RFC 5737) that nothing answers; sent through lo it
# never leaves the machine.
SILENT = "198.51.100.1"


class TestPingContract(ToolContract):
    tool_class = Ping
    valid_config = {"target": "127.0.0.1", "count": 3, "interval": 0.05}
    invalid_configs = [
        {},
        {"target": ""},
        {"target": "127.0.0.1", "count": 0},
        {"target": "127.0.0.1", "interval": 0.001},
        {"target": "127.0.0.1", "size": 65001},
        {"target": "127.0.0.1", "timeout": 0},
        {"target": "127.0.0.1", "ttl": 256},
        {"target": "no-such-host.invalid"},
    ]
    skip_reason = SKIP


def by_name(results):
    named: dict[str, list] = {}
    for name, value, _ in results:
        named.setdefault(name, []).append(value)
    return named


def summary(results):
    return {n: v[0] for n, v in by_name(results).items() if n != "rtt_ms"}


def test_checksum_of_a_known_header():
    # Echo request id=1 seq=1 with no payload sums to 0xF7FD.
    assert checksum(struct.pack("!BBHHH", 8, 0, 0, 1, 1)) == 0xF7FD
    packet = echo_request(socket.AF_INET, 1, 1, b"abc")
    assert checksum(packet) == 0  # a packet with its checksum sums to zero


def test_parse_reply_reads_echo_replies_only():
    reply = struct.pack("!BBHHH", 0, 0, 0, 0x1234, 7) + b"payload"
    assert parse_reply(reply, socket.AF_INET, raw=False) == (0x1234, 7)
    header = bytes([0x45]) + bytes(19)  # raw IPv4 sockets deliver the IP header first
    assert parse_reply(header + reply, socket.AF_INET, raw=True) == (0x1234, 7)
    request = echo_request(socket.AF_INET6, 1, 2, b"")
    assert parse_reply(request, socket.AF_INET6, raw=True) is None
    assert parse_reply(b"\x81\x00", socket.AF_INET6, raw=False) is None


def test_unresolvable_target_is_refused_at_init():
    with pytest.raises(ToolError, match="cannot resolve ping target 'no-such-host.invalid'"):
        run_tool(Ping, {"target": "no-such-host.invalid"}, 1)


def test_unknown_requested_result_is_refused():
    with pytest.raises(ToolError, match="does not produce result 'jitter_ms'"):
        run_tool(Ping, {"target": "127.0.0.1"}, 1, requested=["jitter_ms"])


@needs_root
@pytest.mark.parametrize("target", ["127.0.0.1", "::1", "localhost"])
def test_loopback_replies_all(target):
    started = time.time()
    results, logs = run_tool(Ping, {"target": target, "count": 5, "interval": 0.05}, 10)
    rtts = [(v, ts) for n, v, ts in results if n == "rtt_ms"]
    assert len(rtts) == 5
    assert all(0 < v < 200 for v, _ in rtts)
    sends = sorted(ts for _, ts in rtts)
    assert started <= sends[0] and sends[-1] - sends[0] >= 0.15  # stamped at send, spaced
    s = summary(results)
    assert (s["sent"], s["received"], s["loss_pct"]) == (5, 5, 0.0)
    assert s["rtt_min_ms"] <= s["rtt_avg_ms"] <= s["rtt_max_ms"]
    assert "5 packets" in logs[0][1] and "5 received" in logs[-1][1]


@needs_root
def test_silent_target_is_all_loss_and_no_rtt():
    config = {"target": SILENT, "count": 2, "interval": 0.1, "timeout": 0.3}
    results, _ = run_tool(Ping, config, 5, env=ActionEnv("op0", "a", device="lo"))
    assert summary(results) == {"sent": 2, "received": 0, "loss_pct": 100.0}


@needs_root
def test_binds_to_device_lo():
    config = {"target": "127.0.0.1", "count": 2, "interval": 0.05, "size": 1000, "ttl": 1}
    results, logs = run_tool(Ping, config, 5, env=ActionEnv("op0", "a", device="lo"))
    assert summary(results)["received"] == 2
    assert "from op0 (lo)" in logs[0][1]


@needs_root
def test_nonexistent_device_is_refused_at_init():
    with pytest.raises(ToolError, match="device 'nosuchdev0' does not exist"):
        run_tool(Ping, {"target": "127.0.0.1"}, 1, env=ActionEnv("op0", "a", device="nosuchdev0"))


@needs_root
def test_pings_until_the_end_of_the_period():
    started = time.monotonic()
    results, _ = run_tool(Ping, {"target": "127.0.0.1", "interval": 0.2}, 1.0)
    assert time.monotonic() - started < 2.0
    s = summary(results)
    assert 3 <= s["sent"] <= 6 and s["received"] == s["sent"]


@needs_root
def test_cancel_stops_promptly():
    tool = Ping(ActionEnv("op0", "a"))
    tool.init({"target": "127.0.0.1", "interval": 0.5}, [])
    ctx = RunContext(lambda *a: None, lambda *a: None, end=time.time() + 60)
    threading.Timer(0.3, ctx.stop).start()
    started = time.monotonic()
    try:
        tool.run(ctx)
    finally:
        tool.finish()
    assert time.monotonic() - started < 2.0


def _bring_up_lo() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sock:
        ifreq = fcntl.ioctl(sock, 0x8913, struct.pack("16sH22x", b"lo", 0))  # SIOCGIFFLAGS
        flags = struct.unpack("16sH22x", ifreq)[1] | 0x1  # IFF_UP
        fcntl.ioctl(sock, 0x8914, struct.pack("16sH22x", b"lo", flags))  # SIOCSIFFLAGS


def _ping_as_nobody(group_range: str, conn) -> None:
    """In a new network namespace, with ``group_range`` allowed, ping as nobody."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET
            conn.send(("skip", f"cannot create a network namespace: errno {ctypes.get_errno()}"))
            return
        with open("/proc/sys/net/ipv4/ping_group_range", "w") as f:
            f.write(group_range)
        _bring_up_lo()
        os.setgroups([NOBODY])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        runs = [run_tool(Ping, {"target": t, "count": 3, "interval": 0.05}, 10)[0]
                for t in ("127.0.0.1", "::1")]
        conn.send(("ok", runs))
    except ToolError as exc:
        conn.send(("refused", str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent test
        conn.send(("error", repr(exc)))


def _in_child(group_range: str):
    fork = multiprocessing.get_context("fork")
    parent, child = fork.Pipe()
    process = fork.Process(target=_ping_as_nobody, args=(group_range, child))
    process.start()
    process.join(30)
    outcome = parent.recv() if parent.poll(1) else ("error", "the child did not answer")
    if outcome[0] == "skip":
        pytest.skip(outcome[1])
    return outcome


@needs_root
def test_unprivileged_datagram_socket_within_ping_group_range():
    kind, runs = _in_child(f"{NOBODY} {NOBODY}")
    assert kind == "ok", runs
    for results in runs:
        assert summary(results)["received"] == 3
        assert all(v > 0 for n, v, _ in results if n == "rtt_ms")


@needs_root
def test_unprivileged_outside_ping_group_range_is_refused():
    kind, message = _in_child("1 0")
    assert kind == "refused", message
    assert f"net.ipv4.ping_group_range covering gid {NOBODY}" in message


def test_per_request_loss_only_when_requested():
    config = {"target": "127.0.0.1", "count": 4, "interval": 0.05}
    results, _ = run_tool(Ping, config, 10, requested=["rtt_ms", "loss"])
    loss = [(value, ts) for name, value, ts in results if name == "loss"]
    rtts = [ts for name, _, ts in results if name == "rtt_ms"]
    assert [v for v, _ in loss] == [0, 0, 0, 0]
    assert [ts for _, ts in loss] == rtts  # stamped with their request, like the rtt
    plain, _ = run_tool(Ping, config, 10, requested=["rtt_ms"])
    assert "loss" not in by_name(plain)


@needs_root
def test_per_request_loss_marks_timeouts():
    config = {"target": SILENT, "count": 3, "interval": 0.1, "timeout": 0.3}
    results, _ = run_tool(Ping, config, 5, requested=["loss"],
                          env=ActionEnv("op0", "a", device="lo"))
    assert by_name(results)["loss"] == [1, 1, 1]
