"""Sandboxed experiments on a virtual testbed node: one interface visible, traffic capped."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.support import wait_until
from tests.testbed.conftest import IN_CI, PREFIX
from vantagepoint.client import Scenario
from vantagepoint.testbed import Testbed


@pytest.fixture(scope="module")
def bed(needs_root, tmp_path_factory):
    """One node with two operator interfaces; result files synchronised every second."""
    if shutil.which("bwrap") is None or shutil.which("nft") is None:
        reason = "experiments need bubblewrap and nftables (Debian bubblewrap, nftables)"
        if IN_CI:
            pytest.fail(reason + " (CI=true: these tests must run)")
        pytest.skip(reason)
    os.environ["VANTAGE_AGENT_RESULTS_SYNC_SECONDS"] = "1"  # the agents inherit it
    try:
        started = Testbed.up(nodes=1, interfaces=2, run_dir=tmp_path_factory.mktemp("bed"),
                             core_env={"VANTAGE_TICK_SECONDS": "0.1"}, prefix=PREFIX)
    finally:
        os.environ.pop("VANTAGE_AGENT_RESULTS_SYNC_SECONDS", None)
    started.wait_online()
    yield started
    started.down()


def _run(client, name: str, interface: str, config: dict, duration: float = 15):
    s = Scenario(name)
    s.task("t").action("exp", node="n1", tool="experiment", interface=interface,
                       config=config, results=["exit_status", "traffic_bytes"])
    client.submit(s)
    return client.start(name, duration=duration).wait(timeout=120)


def _file(client, ex_id: int, path: str) -> str:
    files = {f["path"]: f for f in client.result_files(ex_id, node="n1")}
    return client.download_file(files[path]["id"]).decode()


def test_experiment_sees_only_its_interface_and_reaches_the_operator(bed):
    script = ("ip -o link show > /monroe/results/links.txt; "
              "ping -n -c 3 -i 0.2 -W 2 198.18.1.1 > /monroe/results/ping.txt; "
              "ping -n -c 1 -W 1 198.18.0.11 > /monroe/results/node.txt; "
              "echo node=$? >> /monroe/results/node.txt")
    with bed.client() as client:
        ex = _run(client, "exp-iface", "op1", {"argv": ["/bin/sh", "-c", script]}, 8)
        assert ex.state == "finished", ex.reason
        links = [line.split(":")[1].strip().split("@")[0]
                 for line in _file(client, ex.id, "results/links.txt").splitlines()]
        assert sorted(links) == ["lo", "op1"]
        assert "3 received" in _file(client, ex.id, "results/ping.txt")
        # the node itself (here its address on op0) is out of reach
        assert "node=1" in _file(client, ex.id, "results/node.txt")
        traffic = [r["value"] for r in client.results(execution=ex.id, name="traffic_bytes")]
        assert traffic and traffic[0] >= 3 * 2 * 84


def test_experiment_over_its_data_limit_is_stopped_with_the_reason(bed):
    blast = ("import socket, time\n"
             "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
             "for _ in range(200000):\n"
             "    s.sendto(b'x' * 1400, ('198.18.0.1', 9)); time.sleep(0.0005)\n")
    with bed.client() as client:
        ex = _run(client, "exp-data", "op0",
                  {"traffic_max_mb": 1, "argv": ["python3", "-c", blast]}, 60)
        assert ex.state == "failed"
        assert "traffic on op0 limit of 1 MB exceeded" in (ex.reason or "")
        log = "\n".join(line["message"] for line in client.logs(ex.id))
        assert "sandbox stopped: traffic on op0 limit of 1 MB exceeded" in log
        wait_until(lambda: client.results(execution=ex.id, name="traffic_bytes"), timeout=30,
                   what="the traffic result")
        # the traffic the node measured is debited from the owner's data quota
        assert client.quota()["data_bytes_used"] >= 1_000_000
