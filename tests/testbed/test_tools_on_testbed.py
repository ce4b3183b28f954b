"""Every tool through a real agent on the testbed, checked against an independent reference.

One testbed for the module: n1's op0 is shaped to 10 Mbit/s and its op1 has
20 ms of emulated one-way delay; n2 and n3 are plain. Each test submits a
real scenario to the testbed's core and compares what the agents measured
with what iputils, the emulator's configuration, the shaped rate, the served
file, tcpdump, the routed path, dnsmasq, snmpd, chronyd, a node's own `ip` or tc.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

import pytest

from tests.daemons import (
    SERVER_STRATUM,
    SYS_NAME,
    require,
    start_chrony_pair,
    start_snmpd,
)
from tests.support import wait_until
from tests.testbed.conftest import PREFIX
from vantagepoint.client import Scenario
from vantagepoint.testbed import Testbed

RATE_MBIT = 10
OWD_MS = 20.0
LINKS = {"operators": ["alpha", "beta"],
         "links": {"n1": {"op0": {"rate_mbit": RATE_MBIT}, "op1": {"delay_ms": OWD_MS}}}}
CORE_ENV = {"VANTAGE_TICK_SECONDS": "0.1"}
SYS_NAME_OID, IF_NUMBER_OID = "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.2.1.0"


@pytest.fixture(scope="module")
def bed(needs_root, tmp_path_factory):
    started = Testbed.up(nodes=3, interfaces=2, links=LINKS, prefix=PREFIX,
                         run_dir=tmp_path_factory.mktemp("tools-bed"), core_env=CORE_ENV,
                         agent_options={"heartbeat": "1"})
    yield started
    started.down()


@pytest.fixture(scope="module")
def client(bed):
    with bed.client() as c:
        yield c


def address(bed: Testbed, node: str, iface: str) -> str:
    return bed.node(node).interface(iface).address


def run(client, scenario: Scenario, duration: float, wait_for: tuple[str, ...] = ()):
    """Submit and run a scenario; its execution and {result name: [rows]} once all are in."""
    client.submit(scenario)
    ex = client.start(scenario.name, duration).wait(timeout=duration + 90)
    assert ex.state == "finished", (ex.reason, client.logs(ex.id))
    wait_until(lambda: {n for n in wait_for} <= {r["name"] for r in client.results(
        execution=ex.id)}, timeout=30, what=f"results {wait_for}")
    by_name: dict[str, list[dict]] = {}
    for row in client.results(execution=ex.id):
        by_name.setdefault(row["name"], []).append(row)
    return ex, by_name


def values(rows: dict[str, list[dict]], name: str, action: str | None = None) -> list:
    return [r["value"] for r in rows.get(name, []) if action in (None, r["action"])]


def test_ping_agrees_with_iputils_on_the_emulated_path(bed, client):
    target = address(bed, "n2", "op1")
    s = Scenario("tb-ping")
    s.task("t").action("ping", node="n1", tool="ping", interface="op1",
                       config={"target": target, "count": 25, "interval": 0.1},
                       results=["rtt_ms", "loss_pct", "atlas"])
    client.submit(s)
    execution = client.start(s.name, 6)
    iputils = bed.run("n1", "ping", "-n", "-c", "25", "-i", "0.1", "-I", "op1", target,
                      timeout=30).stdout
    ex = execution.wait(timeout=60)
    assert ex.state == "finished", ex.reason
    rows = wait_until(lambda: client.results(execution=ex.id, name="rtt_ms"), timeout=20,
                      what="rtt_ms")
    ours = statistics.median(r["value"] for r in rows)
    theirs = statistics.median(float(line.split("time=")[1].split()[0])
                               for line in iputils.splitlines() if "time=" in line)
    assert len(rows) >= 24
    assert 2 * OWD_MS <= ours <= 2 * OWD_MS + 2, ours
    assert abs(ours - theirs) <= 0.5, (ours, theirs)


def test_udp_owd_measures_the_emulated_one_way_delay(bed, client):
    target = address(bed, "n2", "op1")
    s = Scenario("tb-owd")
    probe = {"target": target, "count": 30, "interval": 0.05}
    s.task("t").action(
        "recv", node="n2", tool="udp-owd", interface="op1",
        config={"role": "receiver", "session": "o", "port": 18801},
        results=["rx", "owd_ms", "loss_pct"]).action(
        "send", node="n1", tool="udp-owd", interface="op1", start=1,
        config={"role": "sender", "session": "o", "port": 18801, **probe},
        results=["tx"]).action(
        "reflector", node="n2", tool="udp-owd", interface="op1",
        config={"role": "receiver", "session": "r", "port": 18802, "reflect": True},
        results=["rx"]).action(
        "ask", node="n1", tool="udp-owd", interface="op1", start=1,
        config={"role": "sender", "session": "r", "port": 18802, "reflect": True, **probe},
        results=["rtt_ms", "owd_up_ms", "owd_down_ms"])
    _, rows = run(client, s, 6, ("owd_ms", "owd_up_ms"))
    owd = values(rows, "owd_ms")
    assert len(owd) == 30 and values(rows, "loss_pct", "recv") == [0.0]
    assert abs(statistics.median(owd) - OWD_MS) <= 1.0, owd
    for name in ("owd_up_ms", "owd_down_ms"):
        assert abs(statistics.median(values(rows, name)) - OWD_MS) <= 1.0, name
    assert abs(statistics.median(values(rows, "rtt_ms")) - 2 * OWD_MS) <= 2.0


def test_throughput_is_held_to_the_shaped_rate(bed, client):
    s = Scenario("tb-iperf")
    s.task("t").action("server", node="n2", tool="throughput", interface="op0",
                       config={"role": "server", "port": 5301}, results=["goodput_mbps"]
                       ).action("client", node="n1", tool="throughput", interface="op0",
                                start=1, config={"role": "client", "port": 5301, "duration": 5,
                                                 "server": address(bed, "n2", "op0")},
                                results=["goodput_mbps", "interval_mbps"])
    _, rows = run(client, s, 9, ("goodput_mbps",))
    goodput = values(rows, "goodput_mbps", "client")
    assert len(goodput) == 1
    # The payload share of the rate is 0.956; a short test also holds TCP's start-up
    # (bench/accuracy.py measures the ratio on longer runs).
    assert 0.8 * RATE_MBIT <= goodput[0] <= RATE_MBIT, goodput


@pytest.fixture
def served_file(bed, tmp_path):
    """n2 serves a 2.5 MB file of random bytes over HTTP on its op0 address."""
    (tmp_path / "blob.bin").write_bytes(os.urandom(2_500_000))
    httpd = bed.popen("n2", sys.executable, "-u", "-m", "http.server", "--bind",
                      address(bed, "n2", "op0"), "--directory", str(tmp_path), "8000",
                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    httpd.stdout.readline()
    yield f"http://{address(bed, 'n2', 'op0')}:8000/blob.bin", 2_500_000
    httpd.kill()
    httpd.wait()


def test_http_download_gets_the_served_file_at_the_shaped_rate(bed, client, served_file):
    url, size = served_file
    s = Scenario("tb-http")
    s.task("t").action("get", node="n1", tool="http-download", interface="op0",
                       config={"url": url, "max_bytes": 10 * size, "max_seconds": 20},
                       results=["bytes", "goodput_mbps", "http_status", "ended"])
    _, rows = run(client, s, 6, ("bytes",))
    assert values(rows, "bytes") == [size]
    assert values(rows, "http_status") == [200] and values(rows, "ended") == ["complete"]
    goodput = values(rows, "goodput_mbps")[0]
    assert 0.85 * RATE_MBIT <= goodput <= RATE_MBIT, goodput


@pytest.fixture
def dnsmasq(bed, tmp_path):
    """dnsmasq in n2 on its op0 address, with one host record."""
    server = address(bed, "n2", "op0")
    proc = bed.popen("n2", "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-hosts",
                     "--no-resolv", "--port=53", f"--listen-address={server}",
                     "--bind-interfaces", f"--pid-file={tmp_path}/dnsmasq.pid", "--user=root",
                     "--host-record=host.example.test,192.0.2.20",
                     "--local=/example.test/", stderr=subprocess.DEVNULL)
    wait_until(lambda: "dnsmasq" in bed.run("n2", "ss", "-lun").stdout or
               ":53 " in bed.run("n2", "ss", "-lun").stdout, timeout=10, what="dnsmasq")
    yield server
    proc.kill()
    proc.wait()


def test_dns_answers_what_dnsmasq_serves(bed, client, dnsmasq):
    s = Scenario("tb-dns")
    task = s.task("t")
    for name, qname in (("known", "host.example.test"), ("unknown", "nope.example.test")):
        task.action(name, node="n1", tool="dns", interface="op0",
                    config={"name": qname, "server": dnsmasq, "retries": 1},
                    results=["answers", "rcode", "response_ms"])
    _, rows = run(client, s, 3, ("rcode",))
    assert values(rows, "answers", "known") == [["192.0.2.20"]]
    assert values(rows, "rcode", "known") == ["NOERROR"]
    assert values(rows, "rcode", "unknown") == ["NXDOMAIN"]
    assert all(0 < v < 100 for v in values(rows, "response_ms"))


def test_capture_counts_what_tcpdump_reads_back(bed, client, tmp_path):
    source = address(bed, "n1", "op0")
    s = Scenario("tb-capture")
    s.task("t").action("cap", node="n2", tool="capture", interface="op0",
                       config={"filter": f"icmp and host {source}"},
                       results=["path", "packets", "bytes"]).action(
        "ping", node="n1", tool="ping", interface="op0", start=1.5,
        config={"target": address(bed, "n2", "op0"), "count": 12, "interval": 0.1},
        results=["received"])
    ex, rows = run(client, s, 4, ("packets",))
    assert values(rows, "received") == [12]
    assert values(rows, "packets") == [24]  # 12 requests and 12 replies
    data = client.fetch_file(ex.id, "n2", "cap", values(rows, "path")[0], timeout=30)
    assert values(rows, "bytes") == [len(data)]
    (tmp_path / "cap.pcap").write_bytes(data)
    read = subprocess.run(["tcpdump", "-n", "-r", str(tmp_path / "cap.pcap")],
                          capture_output=True, text=True, check=True)
    lines = read.stdout.splitlines()
    assert len(lines) == 24 and all("ICMP echo" in line for line in lines)


@pytest.fixture
def routed_path(bed):
    """n1 reaches n3's op1 address through n2 (forwarding in n2's namespace only)."""
    target, via = address(bed, "n3", "op1"), address(bed, "n2", "op0")
    settings = [("n2", "net.ipv4.ip_forward"), ("n3", "net.ipv4.conf.all.rp_filter"),
                ("n3", "net.ipv4.conf.op1.rp_filter")]
    before = {key: bed.run(n, "sysctl", "-n", key, check=True).stdout.strip()
              for n, key in settings}
    for (node, key), value in zip(settings, ("1", "0", "0"), strict=True):
        bed.run(node, "sysctl", "-w", f"{key}={value}", check=True)
    bed.run("n1", "ip", "route", "add", f"{target}/32", "via", via, "dev", "op0", check=True)
    yield target, via
    bed.run("n1", "ip", "route", "del", f"{target}/32", check=True)
    for node, key in settings:
        bed.run(node, "sysctl", "-w", f"{key}={before[key]}", check=True)


def test_traceroute_follows_the_routed_path(bed, client, routed_path):
    target, via = routed_path
    s = Scenario("tb-trace")
    task = s.task("t")
    for proto in ("udp", "icmp"):
        task.action(proto, node="n1", tool="traceroute", interface="op0",
                    config={"target": target, "proto": proto, "max_ttl": 6, "timeout": 1},
                    results=["hop", "hops", "reached", "atlas"])
    _, rows = run(client, s, 8, ("hops",))
    for proto in ("udp", "icmp"):
        assert values(rows, "reached", proto) == [True]
        assert values(rows, "hops", proto) == [2]
        hops = {(h["hop"], h["from"]) for h in values(rows, "hop", proto)}
        assert hops == {(1, via), (2, target)}, hops
        atlas = values(rows, "atlas", proto)[0]
        assert [h["hop"] for h in atlas["result"]] == [1, 2]


def _root_qdisc(bed: Testbed, node: str, device: str) -> dict:
    shown = json.loads(bed.run(node, "tc", "-j", "qdisc", "show", "dev", device,
                               check=True).stdout)
    return next(q for q in shown if q.get("root"))


def _same_qdisc(a: dict, b: dict) -> bool:
    return (a["kind"], a.get("handle"), a.get("options")) == \
        (b["kind"], b.get("handle"), b.get("options"))


def test_shaper_sets_the_limit_and_restores_tc_state(bed, client):
    shaped_before = _root_qdisc(bed, "n1", "op0")  # the testbed's own 10 Mbit/s tbf
    plain_before = _root_qdisc(bed, "n3", "op0")
    assert shaped_before["kind"] == "tbf"
    s = Scenario("tb-shaper")
    task = s.task("t")
    for node in ("n1", "n3"):
        task.action(f"shape-{node}", node=node, tool="shaper", interface="op0",
                    config={"rate_mbit": 2}, results=["applied", "rate_mbit", "restored"])
    client.submit(s)
    execution = client.start(s.name, 5)
    during = wait_until(lambda: [q for q in (_root_qdisc(bed, n, "op0") for n in ("n1", "n3"))
                                 if q.get("handle") == "7670:"] or None, timeout=30,
                        what="the shaper's qdisc")
    rates = {q["options"]["rate"] * 8 / 1e6 for q in during}
    ex = execution.wait(timeout=60)
    assert ex.state == "finished", ex.reason
    assert rates == {2.0}
    wait_until(lambda: len(client.results(execution=ex.id, name="restored")) == 2,
               timeout=20, what="restored results")
    assert [r["value"] for r in client.results(execution=ex.id, name="restored")] == [True] * 2
    assert _same_qdisc(_root_qdisc(bed, "n1", "op0"), shaped_before)
    assert _same_qdisc(_root_qdisc(bed, "n3", "op0"), plain_before)


def test_command_reports_the_nodes_own_address(bed, client):
    s = Scenario("tb-command")
    s.task("t").action("addr", node="n3", tool="command", interface="op1", config={
        "argv": ["ip", "-o", "-4", "address", "show", "dev", "op1"],
        "parse": [{"pattern": r"inet (?P<address>[0-9.]+)/"}]}, results=["address"])
    _, rows = run(client, s, 2, ("address",))
    assert values(rows, "address") == [address(bed, "n3", "op1")]


@pytest.fixture
def snmpd(bed, tmp_path):
    """snmpd in n2 on its op0 address."""
    require("snmpd", "snmpd")
    server = address(bed, "n2", "op0")
    daemon = start_snmpd(tmp_path, server, 16161, "vp-testbed",
                         ["ip", "netns", "exec", bed.node("n2").namespace])
    yield server
    daemon.stop()


def test_snmp_get_reads_what_the_nodes_snmpd_serves(bed, client, snmpd):
    s = Scenario("tb-snmp")
    s.task("t").action("get", node="n1", tool="snmp-get", interface="op0", config={
        "target": snmpd, "port": 16161, "community": "vp-testbed",
        "oids": [SYS_NAME_OID, IF_NUMBER_OID]}, results=["varbind", "response_ms"])
    _, rows = run(client, s, 3, ("varbind",))
    got = {v["oid"]: v["value"] for v in values(rows, "varbind")}
    links = bed.run("n2", "ip", "-o", "link", "show", check=True).stdout.splitlines()
    assert got == {SYS_NAME_OID: SYS_NAME, IF_NUMBER_OID: len(links)}


@pytest.fixture
def chrony(bed, tmp_path):
    """A chronyd pair in n3 (server at stratum 8 and a client on its loopback, -x)."""
    require("chronyd", "chrony")
    server, follower, sock = start_chrony_pair(tmp_path, ["ip", "netns", "exec",
                                                          bed.node("n3").namespace])
    yield sock
    follower.stop()
    server.stop()


def test_ntp_status_reports_the_nodes_chrony_tracking(bed, client, chrony):
    s = Scenario("tb-ntp")
    s.task("t").action("ntp", node="n3", tool="ntp-status", config={"socket": str(chrony)},
                       results=["synchronised", "stratum", "reference", "offset_ms"])
    _, rows = run(client, s, 2, ("stratum",))
    assert values(rows, "synchronised") == [True]
    assert values(rows, "stratum") == [SERVER_STRATUM + 1]
    assert values(rows, "reference") == ["127.0.0.1"]
    assert abs(values(rows, "offset_ms")[0]) < 1.0


def test_agents_ran_every_registered_tool_here(bed, client):
    """Guard: a tool added to the catalog gets a test in this module."""
    offered = {t.name for t in client.tools()}
    tested = {"ping", "udp-owd", "throughput", "http-download", "dns", "capture",
              "traceroute", "shaper", "command", "snmp-get", "ntp-status",
              "experiment"}  # experiment: tests/testbed/test_experiment.py
    assert offered <= tested, f"no testbed test for {sorted(offered - tested)}"
