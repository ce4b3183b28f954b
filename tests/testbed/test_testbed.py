"""A real testbed: namespaces, addresses, pings, a rate limit, the emulator, agents online."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.testbed.conftest import PREFIX
from vantagepoint.testbed import Testbed, netns

LINKS = {
    "operators": ["telenor", "telia"],
    "links": {
        "n1": {"op0": {"rate_mbit": 10}, "op1": {"delay_ms": 20}},
        "n3": {"op1": {"loss_pct": 10}},
    },
}
CORE_ENV = {"VANTAGE_TICK_SECONDS": "0.1"}

RECEIVER = """
import socket, sys, time
server = socket.create_server((sys.argv[1], 5201), reuse_port=True)
print("ready", flush=True)
conn, _ = server.accept()
total, start, last = 0, None, None
while data := conn.recv(1 << 16):
    now = time.monotonic()
    if start is None:
        start = now + 0.5  # the first half second (slow start, token burst) is not counted
    elif now > start:
        total += len(data)
        last = now
print(total * 8 / (last - start) / 1e6)
"""
SENDER = """
import socket, sys, time
conn = socket.create_connection((sys.argv[1], 5201))
chunk, end = b"x" * 65536, time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    conn.sendall(chunk)
conn.close()
"""


@pytest.fixture(scope="module")
def bed(needs_root, tmp_path_factory):
    """Three nodes with two interfaces each: n1/op0 at 10 Mbit/s, n1/op1 20 ms, n3/op1 10 % loss."""
    run_dir = tmp_path_factory.mktemp("testbed")
    started = Testbed.up(nodes=3, interfaces=2, links=LINKS, run_dir=run_dir, core_env=CORE_ENV,
                         agent_options={"heartbeat": "1"}, prefix=PREFIX)
    yield started
    started.down()


def _ping(bed: Testbed, node: str, address: str, count: int, interval: float = 0.05):
    done = bed.run(node, "ping", "-n", "-q" if count > 50 else "-n", "-c", str(count),
                   "-i", str(interval), "-W", "2", address, timeout=60)
    return done.stdout


def _rtts(output: str) -> list[float]:
    return [float(t) for t in re.findall(r"time=([0-9.]+) ms", output)]


def _loss(output: str) -> float:
    return float(re.search(r"([0-9.]+)% packet loss", output).group(1))


def test_namespaces_and_addresses_exist(bed):
    expected = {n.namespace for n in bed.nodes} | {f"{PREFIX}core", f"{PREFIX}emu"}
    assert expected <= set(netns.namespaces(PREFIX))
    assert {f"{PREFIX}br0", f"{PREFIX}br1", f"{PREFIX}brm"} <= set(netns.links(PREFIX))
    shown = bed.run("n2", "ip", "-o", "-4", "address", "show").stdout
    for address in ("198.18.0.12/24", "198.18.1.12/24", "198.19.0.12/24"):
        assert address in shown
    route = bed.run("n2", "ip", "route", "show", "default").stdout
    assert "via 198.18.0.1 dev op0" in route


def test_nodes_reach_each_other_over_every_interface(bed):
    for iface in ("op0", "op1"):
        target = bed.node("n2").interface(iface).address
        out = _ping(bed, "n1", target, 3, 0.2)
        assert _loss(out) == 0, out


def test_rate_limit_holds_a_bulk_transfer_to_the_rate(bed):
    address = bed.node("n2").interface("op0").address
    receiver = bed.popen("n2", sys.executable, "-c", RECEIVER, address,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout.readline().strip() == "ready"
        bed.run("n1", sys.executable, "-c", SENDER, address, "3.5", check=True)
        mbit = float(receiver.communicate(timeout=15)[0])
    finally:
        receiver.kill()
    assert 0.85 * 10 <= mbit <= 1.0 * 10, f"{mbit:.2f} Mbit/s through a 10 Mbit/s link"


def test_emulated_delay_gives_the_round_trip_time(bed):
    target = bed.node("n2").interface("op1").address
    _ping(bed, "n1", target, 1)  # ARP resolved beforehand
    rtts = _rtts(_ping(bed, "n1", target, 20))
    assert len(rtts) == 20
    mean = sum(rtts) / len(rtts)
    assert abs(mean - 40.0) <= 1.0 and min(rtts) >= 39.9, rtts


def test_emulated_loss_drops_about_the_configured_share(bed):
    target = bed.node("n3").interface("op1").address
    _ping(bed, "n2", target, 3, 0.2)
    out = _ping(bed, "n2", target, 600, 0.005)
    expected = 100 * (1 - 0.9**2)  # 10 % each way
    assert abs(_loss(out) - expected) <= 6, out


def test_agents_register_online_with_their_interfaces(bed):
    nodes = {n["name"]: n for n in bed.online_nodes()}
    assert set(nodes) == {"n1", "n2", "n3"}
    for node in nodes.values():
        assert node["online"]
        assert node["interfaces"] == [{"name": "op0", "device": "op0"},
                                      {"name": "op1", "device": "op1"}]
        assert node["attributes"]["operator.op1"] == "telia"
        assert node["attributes"]["operator"] == "telenor"
    with bed.client() as client:
        assert {n.name for n in client.nodes() if n.online} >= {"n1", "n2", "n3"}
