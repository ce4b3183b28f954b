"""throughput (iperf3): client and server on loopback, and through a tbf-shaped veth pair."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

import pytest

from vantagepoint.testing import root_skip_reason, run_tool
from vantagepoint.testing.contract import refusal
from vantagepoint.tools.throughput import Throughput, parse_report, started_at

SKIP = root_skip_reason()
needs_root = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")
PY = sys.executable
SHAPED_MBIT = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def values(results):
    named = {}
    for name, value, ts in results:
        named.setdefault(name, []).append((value, ts))
    return named


def pair(client: dict, port: int, seconds: float = 6, server_delay: float = 0.0):
    """Run a server and a client in threads; (client results, server results)."""
    out = {}

    def serve():
        time.sleep(server_delay)
        out["server"], _ = run_tool(Throughput, {"role": "server", "port": port}, seconds)

    thread = threading.Thread(target=serve)
    thread.start()
    config = {"role": "client", "server": "127.0.0.1", "port": port, "duration": 2, **client}
    client_results, _ = run_tool(Throughput, config, seconds)
    thread.join()
    return values(client_results), values(out["server"])


def test_tcp_on_loopback():
    client, server = pair({"interval": 0.5}, free_port())
    assert client["error"] == [("", client["error"][0][1])]
    assert client["goodput_mbps"][0][0] > 0 and isinstance(client["retransmits"][0][0], int)
    series = client["interval_mbps"]
    assert len(series) == 4 and all(v > 0 for v, _ in series)
    steps = [b - a for (_, a), (_, b) in zip(series, series[1:], strict=False)]
    assert all(0.4 < s < 0.6 for s in steps), steps  # stamped with each interval's start
    assert server["goodput_mbps"][0][0] == pytest.approx(client["goodput_mbps"][0][0])
    assert len(server["interval_mbps"]) == 2  # its own 1 s intervals, without the short tail


def test_udp_on_loopback_reports_loss_and_jitter():
    client, _ = pair({"protocol": "udp", "bitrate_mbit": 5}, free_port())
    assert client["lost_pct"][0][0] < 5 and client["jitter_ms"][0][0] >= 0
    assert 4 < client["goodput_mbps"][0][0] < 5.5
    assert "retransmits" not in client


def test_client_waits_for_a_late_server():
    client, server = pair({"reverse": True}, free_port(), server_delay=1.5)
    assert client["error"][0][0] == "" and client["goodput_mbps"][0][0] > 0
    assert "goodput_mbps" not in server  # a sending iperf3 server is not told what arrived


def test_client_without_server_fails_within_its_retry_time():
    started = time.monotonic()
    results, _ = run_tool(Throughput, {"role": "client", "server": "127.0.0.1",
                                       "port": free_port(), "connect_retry_s": 1}, 30)
    assert time.monotonic() - started < 3
    assert [n for n, _, _ in results] == ["error"]
    assert "Connection refused" in results[0][1]


def test_server_without_client_stops_at_the_end_of_its_period():
    started = time.monotonic()
    results, logs = run_tool(Throughput, {"role": "server", "port": free_port()}, 1)
    assert time.monotonic() - started < 3
    assert ("info", "iperf3 server listening on port") < logs[0]
    assert results[-1][:2] == ("error", "no client ran a test before the end of the period")


def test_server_on_a_busy_port_reports_iperf3s_error():
    with socket.socket(socket.AF_INET6) as busy:
        busy.bind(("::", 0))
        busy.listen()
        results, _ = run_tool(Throughput, {"role": "server", "port": busy.getsockname()[1]}, 5)
    assert "Address already in use" in results[-1][1]


def test_configs_refused():
    assert refusal(Throughput, {"role": "client"})
    assert refusal(Throughput, {"role": "server", "duration": 5})
    assert refusal(Throughput, {"role": "client", "server": "h", "protocol": "sctp"})
    assert refusal(Throughput, {"role": "client", "server": "h", "parallel": 0})
    assert refusal(Throughput, {"role": "server", "port": 5201}) is None


def test_report_parsing_and_start_time():
    assert "no JSON report (boom)" in parse_report("", ["boom"], 1)["error"]
    report = {"start": {"timestamp": {"timesecs": 1000}}, "_ended": 1003.4}
    assert started_at(report, [{"sum": {"end": 3.0}}]) == pytest.approx(1000.4)
    assert started_at(report, [{"sum": {"end": 1.0}}]) == 1001  # clamped to iperf3's second


SCRIPT = """
import json, sys
from vantagepoint.testing import run_tool
from vantagepoint.tools.base import ActionEnv
from vantagepoint.tools.throughput import Throughput
config, seconds, device = json.loads(sys.argv[1]), float(sys.argv[2]), sys.argv[3] or None
env = ActionEnv(node="t", action="t", device=device)
results, logs = run_tool(Throughput, config, seconds, env=env)
sys.stdout.write(json.dumps({"results": results, "logs": logs}))
"""


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture
def shaped_link():
    """Namespaces a and b joined by a veth pair; b's egress shaped by tbf to 10 Mbit/s."""
    tag = f"vptp-{os.getpid() % 100000}"
    ns = {"a": f"{tag}-a", "b": f"{tag}-b"}
    dev = {"a": f"{tag}a", "b": f"{tag}b"}
    try:
        for side in "ab":
            sh("ip", "netns", "add", ns[side])
        sh("ip", "link", "add", dev["a"], "netns", ns["a"], "type", "veth",
           "peer", "name", dev["b"], "netns", ns["b"])
        for i, side in enumerate("ab", 1):
            sh("ip", "-n", ns[side], "addr", "add", f"10.201.0.{i}/24", "dev", dev[side])
            sh("ip", "-n", ns[side], "link", "set", dev[side], "up")
            sh("ip", "-n", ns[side], "link", "set", "lo", "up")
        sh("ip", "netns", "exec", ns["b"], "tc", "qdisc", "add", "dev", dev["b"], "root",
           "tbf", "rate", f"{SHAPED_MBIT}mbit", "burst", "32kb", "latency", "50ms")
        yield ns, dev
    finally:
        for side in "ab":
            subprocess.run(["ip", "netns", "del", ns[side]], capture_output=True)


def in_namespace(ns: str, config: dict, seconds: float, device: str = "") -> subprocess.Popen:
    return subprocess.Popen(["ip", "netns", "exec", ns, PY, "-c", SCRIPT, json.dumps(config),
                             str(seconds), device], stdout=subprocess.PIPE, text=True)


def through(shaped_link, client: dict) -> tuple[dict, dict]:
    ns, dev = shaped_link
    server = in_namespace(ns["a"], {"role": "server"}, 12)
    config = {"role": "client", "server": "10.201.0.1", "duration": 5, **client}
    out = in_namespace(ns["b"], config, 12, dev["b"]).communicate(timeout=60)[0]
    server_out = server.communicate(timeout=60)[0]
    return values(json.loads(out)["results"]), values(json.loads(server_out)["results"])


@needs_root
def test_tcp_goodput_through_a_10_mbit_tbf(shaped_link):
    client, server = through(shaped_link, {})
    assert client["error"][0][0] == "", client["error"]
    ratio = client["goodput_mbps"][0][0] / SHAPED_MBIT
    assert 0.85 <= ratio <= 1.0, ratio
    # The sender counts what it wrote, so early intervals also fill buffers and the queue.
    series = [v for v, _ in client["interval_mbps"]]
    assert len(series) == 5 and 0.85 <= statistics.median(series) / SHAPED_MBIT <= 1.05, series
    assert server["goodput_mbps"][0][0] == pytest.approx(client["goodput_mbps"][0][0])


@needs_root
def test_udp_above_the_shaped_rate_is_held_back(shaped_link):
    # The sender's own qdisc pushes back on its socket: iperf3 sends less, nothing is lost.
    client, _ = through(shaped_link, {"protocol": "udp", "bitrate_mbit": 2 * SHAPED_MBIT})
    assert 0.85 <= client["goodput_mbps"][0][0] / SHAPED_MBIT <= 1.0
    assert client["lost_pct"][0][0] < 5 and client["jitter_ms"][0][0] >= 0


@needs_root
def test_reverse_is_not_shaped_by_the_clients_egress(shaped_link):
    client, _ = through(shaped_link, {"reverse": True, "duration": 2})
    assert client["goodput_mbps"][0][0] > 3 * SHAPED_MBIT
