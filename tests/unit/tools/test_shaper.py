"""shaper on a veth pair: the qdisc during the run, the previous one after, even on failure."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest

from vantagepoint.errors import ToolError
from vantagepoint.testing import root_skip_reason, run_tool
from vantagepoint.testing.contract import refusal
from vantagepoint.tools.base import ActionEnv, RunContext
from vantagepoint.tools.shaper import Shaper, recreate_args
from vantagepoint.tools.throughput import Throughput

SKIP = root_skip_reason()
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def link():
    """A veth pair: ``dev`` here, its peer (10.202.x.2) in namespace ``ns``."""
    tag = os.getpid() % 100000
    ns, dev, peer = f"vptp-{tag}-s", f"vptp{tag}s0", f"vptp{tag}s1"
    net = f"10.202.{tag % 250}"
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", dev, "type", "veth", "peer", "name", peer, "netns", ns)
        sh("ip", "addr", "add", f"{net}.1/30", "dev", dev)
        sh("ip", "link", "set", dev, "up")
        sh("ip", "-n", ns, "addr", "add", f"{net}.2/30", "dev", peer)
        sh("ip", "-n", ns, "link", "set", peer, "up")
        yield {"ns": ns, "dev": dev, "peer_ip": f"{net}.2"}
    finally:
        subprocess.run(["ip", "link", "del", dev], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def root(dev: str) -> dict:
    """The root qdisc's settings (htb's count of packets sent past its classes left out:
    a stray IPv6 packet on the link may bump it)."""
    qdisc = next(q for q in json.loads(sh("tc", "-j", "qdisc", "show", "dev", dev))
                 if q["root"])
    qdisc.get("options", {}).pop("direct_packets_stat", None)
    return qdisc


def env(dev: str) -> ActionEnv:
    return ActionEnv(node="n", action="shape", device=dev)


def during(dev: str, config: dict, seconds: float = 1.5):
    """Run the shaper in a thread; the root qdisc and classes half-way, and its results."""
    out = {}
    thread = threading.Thread(target=lambda: out.update(
        results=run_tool(Shaper, config, seconds, env=env(dev))[0]))
    thread.start()
    time.sleep(seconds / 2)
    seen = root(dev), sh("tc", "class", "show", "dev", dev)
    thread.join()
    return seen, {n: v for n, v, _ in out["results"]}


def test_tbf_during_the_run_default_qdisc_after(link):
    dev = link["dev"]
    before = root(dev)
    (qdisc, _), results = during(dev, {"rate_mbit": 5})
    assert qdisc["kind"] == "tbf" and qdisc["handle"] == "7670:"
    assert qdisc["options"]["rate"] * 8 == 5_000_000
    assert results == {"applied": True, "rate_mbit": 5.0, "restored": True}
    assert root(dev) == before and before["kind"] == "noqueue"


def test_htb_class_during_the_run(link):
    dev = link["dev"]
    (qdisc, classes), results = during(dev, {"rate_mbit": 2, "qdisc": "htb", "burst_kb": 32})
    assert qdisc["kind"] == "htb" and "class htb 7670:1 root" in classes
    assert "rate 2Mbit ceil 2Mbit" in classes
    assert results["applied"] and results["restored"]
    assert root(link["dev"])["kind"] == "noqueue" and not sh("tc", "class", "show", "dev", dev)


@pytest.mark.parametrize("previous", [
    ["handle", "1:", "pfifo", "limit", "50"],
    ["handle", "2:", "tbf", "rate", "3mbit", "burst", "20000", "latency", "40ms"],
    ["handle", "3:", "htb", "default", "12", "r2q", "5"],
    ["bfifo", "limit", "100000"],
])
def test_a_previous_root_qdisc_comes_back(link, previous):
    dev = link["dev"]
    sh("tc", "qdisc", "add", "dev", dev, "root", *previous)
    before = root(dev)
    (qdisc, _), results = during(dev, {"rate_mbit": 8})
    assert qdisc["kind"] == "tbf" and results["restored"]
    assert root(dev) == before


def test_restored_when_the_run_fails(link):
    dev = link["dev"]
    sh("tc", "qdisc", "add", "dev", dev, "root", "handle", "1:", "pfifo", "limit", "77")
    before = root(dev)

    def emitter(name, value, ts):
        assert root(dev)["kind"] == "tbf"
        if name == "rate_mbit":
            raise RuntimeError("the run broke")

    ctx = RunContext(emitter=emitter, logger=lambda m, level: None, end=time.time() + 5)
    tool = Shaper(env(dev))
    try:
        tool.init({"rate_mbit": 1}, [])
        with pytest.raises(RuntimeError):
            tool.run(ctx)
    finally:
        tool.finish()
    assert root(dev) == before


def test_init_alone_changes_nothing(link):
    dev = link["dev"]
    before = root(dev)
    tool = Shaper(env(dev))
    tool.init({"rate_mbit": 1}, [])
    tool.finish()
    assert root(dev) == before


def test_refusals(link):
    dev = link["dev"]
    with pytest.raises(ToolError, match="needs a device"):
        run_tool(Shaper, {"rate_mbit": 1}, 1)
    assert "does not exist" in refusal(Shaper, {"rate_mbit": 1}, env("vptp-none"))
    assert "smaller than one frame" in refusal(Shaper, {"rate_mbit": 1, "burst_kb": 1}, env(dev))
    assert refusal(Shaper, {"rate_mbit": 1, "direction": "ingress"}, env(dev))
    assert refusal(Shaper, {"rate_mbit": 0}, env(dev))
    sh("tc", "qdisc", "add", "dev", dev, "root", "handle", "7670:", "pfifo")
    assert "already shaped" in refusal(Shaper, {"rate_mbit": 1}, env(dev))
    sh("tc", "qdisc", "replace", "dev", dev, "root", "handle", "1:", "htb")
    sh("tc", "class", "add", "dev", dev, "parent", "1:", "classid", "1:1", "htb", "rate", "1mbit")
    assert "htb hierarchy" in refusal(Shaper, {"rate_mbit": 1}, env(dev))
    sh("tc", "qdisc", "replace", "dev", dev, "root", "handle", "2:", "tbf", "rate", "1mbit",
       "burst", "20k", "latency", "10ms")
    sh("tc", "qdisc", "add", "dev", dev, "parent", "2:1", "pfifo")
    assert "tbf hierarchy" in refusal(Shaper, {"rate_mbit": 1}, env(dev))


def test_recreate_args_for_known_kinds():
    tbf = {"kind": "tbf", "options": {"rate": 625000, "burst": 10240, "lat": 15616}}
    assert recreate_args(tbf) == ["tbf", "rate", "5000000bit", "burst", "10241",
                                  "latency", "15616us"]
    assert recreate_args({"kind": "htb", "options": {"default": "0x1a", "r2q": 10}}) == [
        "htb", "default", "1a", "r2q", "10"]
    assert recreate_args({"kind": "netem", "options": {}}) is None


def test_goodput_through_the_shaper(link):
    """iperf3 through the shaped device reaches 85-100 % of the limit."""
    rate, port = 10, 5201 + os.getpid() % 1000
    server = subprocess.Popen(["ip", "netns", "exec", link["ns"], "iperf3", "-s", "-1",
                               "-p", str(port)], stdout=subprocess.DEVNULL)
    shaping = threading.Thread(target=run_tool, args=(Shaper, {"rate_mbit": rate}, 7),
                               kwargs={"env": env(link["dev"])})
    try:
        shaping.start()
        time.sleep(0.5)
        results, _ = run_tool(Throughput, {"role": "client", "server": link["peer_ip"],
                                           "port": port, "duration": 4}, 8, env=env(link["dev"]))
    finally:
        shaping.join()
        server.kill()
        server.wait()
    goodput = next(v for n, v, _ in results if n == "goodput_mbps")
    assert 0.85 <= goodput / rate <= 1.0, goodput
