"""The traceroute tool: probes on loopback and on a two-hop path of network namespaces.

The two-hop path a - r - b (r forwards) is checked against Debian's
``traceroute -n`` run on the same path.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import socket
import struct
import subprocess
import sys
import textwrap

import pytest
from ripe.atlas.sagan import TracerouteResult

from vantagepoint.errors import ToolError
from vantagepoint.testing import refusal, root_skip_reason, run_tool
from vantagepoint.tools.base import ActionEnv
from vantagepoint.tools.traceroute import Traceroute
from vantagepoint.tools.tracewire import ICMP_CHECKSUM, SPORT_BASE, Flow

SKIP = root_skip_reason()
needs_root = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")
NOBODY = 65534
NS = ("vptr-a", "vptr-r", "vptr-b")
PATH = {4: ("10.251.1.1", "10.251.2.2"), 6: ("fd51:1::1", "fd51:2::2")}


def fold(total: int) -> int:
    """An independent one's complement fold, for checking the tool's checksums."""
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def words(data: bytes) -> int:
    data += b"\0" * (len(data) % 2)
    return sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))


def pseudo(family: int, src: str, dst: str, proto: int, length: int) -> bytes:
    addrs = socket.inet_pton(family, src) + socket.inet_pton(family, dst)
    if family == socket.AF_INET:
        return addrs + bytes([0, proto]) + length.to_bytes(2, "big")
    return addrs + length.to_bytes(4, "big") + bytes([0, 0, 0, proto])


# ---- probes -----------------------------------------------------------------


@pytest.mark.parametrize("family, src, dst", [
    (socket.AF_INET, "10.0.0.1", "192.0.2.7"), (socket.AF_INET6, "fd00::1", "2001:db8::7")])
@pytest.mark.parametrize("size", [2, 3, 48, 1452])
def test_udp_probes_keep_the_ports_and_carry_valid_distinct_checksums(family, src, dst, size):
    flow = Flow(family, "udp", src, dst, paris_id=5, port=33434, size=size)
    keys = [1, 2, 77, 0x8000, 0xFFFE]
    probes = [flow.probe(k) for k in keys]
    assert {p[:4] for p in probes} == {struct.pack("!HH", SPORT_BASE + 5, 33434)}
    assert [int.from_bytes(p[6:8], "big") for p in probes] == keys
    for probe in probes:
        assert len(probe) == 8 + size
        assert fold(words(pseudo(family, src, dst, 17, len(probe)) + probe)) == 0xFFFF


def test_icmp_probes_keep_type_code_checksum_and_identifier():
    flow = Flow(socket.AF_INET, "icmp", "10.0.0.1", "192.0.2.7", paris_id=7, size=30)
    probes = [flow.probe(seq) for seq in (0, 1, 2, 0xFFFF)]
    assert {p[:6] for p in probes} == {struct.pack("!BBHH", 8, 0, ICMP_CHECKSUM, 7)}
    assert all(fold(words(p)) == 0xFFFF for p in probes)  # valid checksums
    assert len({p[6:8] for p in probes}) == 4  # told apart by sequence


def test_icmpv6_probes_sum_to_the_constant_with_the_pseudo_header():
    flow = Flow(socket.AF_INET6, "icmp", "fd00::1", "2001:db8::7", paris_id=9, size=20)
    for seq in (3, 4):
        probe = flow.probe(seq)
        body = probe[:2] + struct.pack("!H", ICMP_CHECKSUM) + probe[4:]
        assert fold(words(pseudo(socket.AF_INET6, "fd00::1", "2001:db8::7", 58, len(body))
                          + body)) == 0xFFFF


def test_time_exceeded_is_read_back_to_its_probe():
    flow = Flow(socket.AF_INET, "udp", "10.0.0.1", "192.0.2.7", paris_id=0)
    probe = flow.probe(1234)
    inner = bytes([0x45, 0, 0, 76, 0, 0, 0, 0, 1, 17, 0, 0]) + socket.inet_aton(
        "10.0.0.1") + socket.inet_aton("192.0.2.7") + probe
    outer = bytes([0x45, 0, 0, 0, 0, 0, 0, 0, 61, 1, 0, 0]) + bytes(8)
    reply = flow.parse(outer + bytes([11, 0, 0, 0, 0, 0, 0, 0]) + inner, "10.9.9.9", None)
    assert (reply.key, reply.source, reply.final, reply.ttl, reply.inner_ttl) == (
        1234, "10.9.9.9", False, 61, 1)
    other = Flow(socket.AF_INET, "udp", "10.0.0.1", "192.0.2.7", paris_id=1)
    assert other.parse(outer + bytes([11, 0, 0, 0, 0, 0, 0, 0]) + inner, "x", None) is None
    unreachable = flow.parse(outer + bytes([3, 1, 0, 0, 0, 0, 0, 0]) + inner, "10.9.9.9", 3)
    assert (unreachable.final, unreachable.error) == (True, "H")


@pytest.mark.parametrize("config", [
    {}, {"target": ""}, {"target": "127.0.0.1", "proto": "tcp"},
    {"target": "127.0.0.1", "max_ttl": 256}, {"target": "127.0.0.1", "first_ttl": 0},
    {"target": "127.0.0.1", "queries": 0}, {"target": "127.0.0.1", "paris_id": 65536},
    {"target": "127.0.0.1", "size": 1}, {"target": "127.0.0.1", "timeout": 0},
    {"target": "127.0.0.1", "port": 0}, {"target": "127.0.0.1", "hops": 3},
])
def test_bad_config_is_refused_by_the_schema(config):
    assert refusal(Traceroute, config).startswith("schema:")


@needs_root
def test_first_ttl_above_max_ttl_and_unknown_target_are_refused_at_init():
    assert "first_ttl (5) is above max_ttl (2)" in refusal(
        Traceroute, {"target": "127.0.0.1", "first_ttl": 5, "max_ttl": 2})
    assert "cannot resolve traceroute target" in refusal(Traceroute, {"target": "x.invalid"})


# ---- loopback -----------------------------------------------------------------


def by_name(results):
    named: dict[str, list] = {}
    for name, value, _ in results:
        named.setdefault(name, []).append(value)
    return named


@needs_root
@pytest.mark.parametrize("target", ["127.0.0.1", "::1"])
@pytest.mark.parametrize("proto", ["udp", "icmp"])
def test_loopback_is_one_hop(target, proto):
    config = {"target": target, "proto": proto, "paris_id": 3}
    results, logs = run_tool(Traceroute, config, 10, requested=["atlas"],
                             env=ActionEnv("op0", "trace", device="lo"))
    named = by_name(results)
    assert named["hops"] == [1] and named["reached"] == [True]
    assert [(h["hop"], h["from"]) for h in named["hop"]] == [(1, target)] * 3
    assert all(0 < h["rtt"] < 100 for h in named["hop"])
    record = named["atlas"][0]
    assert (record["type"], record["proto"], record["paris_id"]) == (
        "traceroute", proto.upper(), 3)
    assert [h["hop"] for h in record["result"]] == [1]
    assert "kernel receive timestamps" in logs[0][1]


@needs_root
def test_silent_destination_ends_with_hop_255():
    # TEST-NET-2 through lo: nothing answers, not even at TTL 255.
    config = {"target": "198.51.100.1", "max_ttl": 2, "queries": 2, "timeout": 0.2}
    results, _ = run_tool(Traceroute, config, 10, requested=["atlas"],
                          env=ActionEnv("op0", "trace", device="lo"))
    named = by_name(results)
    assert named["reached"] == [False] and "hops" not in named and "hop" not in named
    hops = named["atlas"][0]["result"]
    assert [h["hop"] for h in hops] == [1, 2, 255]
    assert all(h["result"] == [{"x": "*"}] * 2 for h in hops)


@needs_root
def test_nonexistent_device_is_refused_at_init():
    with pytest.raises(ToolError, match="device 'nosuchdev0' does not exist"):
        run_tool(Traceroute, {"target": "127.0.0.1"}, 1,
                 env=ActionEnv("op0", "a", device="nosuchdev0"))


def _init_as_nobody(conn) -> None:
    try:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        Traceroute(ActionEnv("op0", "a")).init({"target": "127.0.0.1"}, [])
        conn.send(("accepted", ""))
    except ToolError as exc:
        conn.send(("refused", str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent test
        conn.send(("error", repr(exc)))


@needs_root
def test_without_raw_sockets_init_refuses_with_a_reason():
    fork = multiprocessing.get_context("fork")
    parent, child = fork.Pipe()
    process = fork.Process(target=_init_as_nobody, args=(child,))
    process.start()
    process.join(30)
    kind, message = parent.recv() if parent.poll(1) else ("error", "no answer")
    assert kind == "refused", message
    assert "traceroute needs root (or CAP_NET_RAW)" in message


# ---- a two-hop path: a - r - b --------------------------------------------------


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _delete_namespaces() -> None:
    for ns in NS:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture(scope="module")
def two_hops():
    """Namespaces vptr-a, vptr-r (forwarding) and vptr-b, wired a0-r0 and r1-b0."""
    if SKIP:
        pytest.skip(SKIP)
    _delete_namespaces()
    try:
        for ns in NS:
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("link", "add", "a0", "netns", "vptr-a", "type", "veth", "peer", "r0",
            "netns", "vptr-r")
        _ip("link", "add", "r1", "netns", "vptr-r", "type", "veth", "peer", "b0",
            "netns", "vptr-b")
        for ns, dev, v4, v6 in (("vptr-a", "a0", "10.251.1.2", "fd51:1::2"),
                                ("vptr-r", "r0", "10.251.1.1", "fd51:1::1"),
                                ("vptr-r", "r1", "10.251.2.1", "fd51:2::1"),
                                ("vptr-b", "b0", "10.251.2.2", "fd51:2::2")):
            _ip("-n", ns, "addr", "add", f"{v4}/24", "dev", dev)
            _ip("-n", ns, "-6", "addr", "add", f"{v6}/64", "dev", dev, "nodad")
            _ip("-n", ns, "link", "set", dev, "up")
        for ns, v4, v6 in (("vptr-a", "10.251.1.1", "fd51:1::1"),
                           ("vptr-b", "10.251.2.1", "fd51:2::1")):
            _ip("-n", ns, "route", "add", "default", "via", v4)
            _ip("-n", ns, "-6", "route", "add", "default", "via", v6)
        for ns in NS:  # no ICMP rate limits: every probe gets its answer
            _sysctl(ns, "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0")
        _sysctl("vptr-r", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
        for _, target in PATH.values():
            _wait_for(target)
        yield
    finally:
        _delete_namespaces()


def _wait_for(target: str, tries: int = 20) -> None:
    """Until a pings ``target`` (IPv6 neighbours and routes take a moment to settle)."""
    for _ in range(tries):
        ping = subprocess.run(["ip", "netns", "exec", "vptr-a", "ping", "-c1", "-W0.5",
                               target], capture_output=True)
        if ping.returncode == 0:
            return
    raise AssertionError(f"the two-hop path to {target} does not work")


def _sysctl(ns: str, *settings: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", *settings], check=True)


RUNNER = textwrap.dedent("""
    import json, sys
    from vantagepoint.testing import run_tool
    from vantagepoint.tools.base import ActionEnv
    from vantagepoint.tools.traceroute import Traceroute
    config, device = json.loads(sys.argv[1]), sys.argv[2] or None
    results, logs = run_tool(Traceroute, config, 20, requested=["atlas"],
                             env=ActionEnv("a", "trace", device=device))
    print(json.dumps([[n, v] for n, v, _ in results]))
""")


def ours_in_a(config: dict, device: str = "") -> dict[str, list]:
    """Run the tool in namespace vptr-a; its results by name."""
    out = subprocess.run(["ip", "netns", "exec", "vptr-a", sys.executable, "-c", RUNNER,
                          json.dumps(config), device],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    named: dict[str, list] = {}
    for name, value in json.loads(out):
        named.setdefault(name, []).append(value)
    return named


def debian_in_a(target: str, *options: str) -> dict[int, set[str]]:
    """Debian traceroute -n in vptr-a: the addresses that answered at each hop."""
    out = subprocess.run(["ip", "netns", "exec", "vptr-a", "traceroute", "-n", "-q", "3",
                          "-w", "1", "-m", "5", *options, target],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    hops: dict[int, set[str]] = {}
    for line in out.splitlines()[1:]:
        number, *rest = line.split()
        hops[int(number)] = {w for w in rest if re.fullmatch(r"[0-9a-f.:]+", w) and
                             (w.count(".") == 3 or ":" in w)}
    return hops


@needs_root
@pytest.mark.parametrize("af", [4, 6])
@pytest.mark.parametrize("proto", ["udp", "icmp"])
def test_two_hops_match_debian_traceroute(two_hops, af, proto):
    router, target = PATH[af]
    reference = debian_in_a(target, *(["-I"] if proto == "icmp" else []))
    assert reference == {1: {router}, 2: {target}}
    named = ours_in_a({"target": target, "proto": proto, "max_ttl": 5, "paris_id": 11})
    ours: dict[int, set[str]] = {}
    for hop in named["hop"]:
        ours.setdefault(hop["hop"], set()).add(hop["from"])
    assert ours == reference
    assert named["hops"] == [2] and named["reached"] == [True]
    assert len(named["hop"]) == 6 and all(0 < h["rtt"] < 100 for h in named["hop"])
    atlas = named["atlas"][0]
    assert atlas["src_addr"] == ("10.251.1.2" if af == 4 else "fd51:1::2")
    parsed = TracerouteResult(atlas)  # what Atlas users' parser makes of it
    assert not parsed.is_malformed and parsed.destination_ip_responded and parsed.is_success
    assert parsed.ip_path == [[router] * 3, [target] * 3]
    assert (parsed.af, parsed.paris_id, parsed.protocol) == (af, 11, proto.upper())
    rtts = [[p.rtt for p in hop.packets] for hop in parsed.hops]
    assert rtts == [[round(h["rtt"], 3) for h in named["hop"] if h["hop"] == n] for n in (1, 2)]


@needs_root
def test_two_hops_bound_to_the_device(two_hops):
    named = ours_in_a({"target": "10.251.2.2", "max_ttl": 5}, device="a0")
    assert named["hops"] == [2]
    named = ours_in_a({"target": "10.251.2.2", "max_ttl": 1, "queries": 1,
                       "timeout": 0.2}, device="lo")
    assert named["reached"] == [False] and "hop" not in named


CAPTURE = textwrap.dedent("""
    import json, select, socket, sys, time
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    print("ready", flush=True)
    seen, end = [], time.time() + float(sys.argv[1])
    while time.time() < end:
        if select.select([sock], [], [], 0.1)[0]:
            data = sock.recv(65535)
            seen.append(data[(data[0] & 15) * 4:].hex())
            if len(seen) == 3:  # what we expect: a little longer for any surplus
                end = min(end, time.time() + 0.3)
    print(json.dumps(seen))
""")


@needs_root
def test_udp_probes_arrive_as_one_flow_with_valid_checksums(two_hops):
    capture = subprocess.Popen(["ip", "netns", "exec", "vptr-b", sys.executable, "-c",
                                CAPTURE, "10"], stdout=subprocess.PIPE, text=True)
    try:
        assert capture.stdout.readline().strip() == "ready"
        ours_in_a({"target": "10.251.2.2", "max_ttl": 5, "paris_id": 11})
        seen = [bytes.fromhex(h) for h in json.loads(capture.stdout.readline())]
    finally:
        capture.kill()
        capture.wait()
    assert len(seen) == 3  # only the probes that reached b (TTL 2)
    assert {p[:4] for p in seen} == {struct.pack("!HH", SPORT_BASE + 11, 33434)}
    for probe in seen:
        assert fold(words(pseudo(socket.AF_INET, "10.251.1.2", "10.251.2.2", 17, len(probe))
                          + probe)) == 0xFFFF
