"""Sandboxed experiments with real core and agent processes and real bubblewrap sandboxes.

Needs root (cgroups, bubblewrap's namespaces as the agent has them on a node)
and bubblewrap: skipped with the reason elsewhere, run (failing if missing)
under CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from tests.support import wait_until
from vantagepoint.client import Scenario

pytestmark = pytest.mark.integration
IN_CI = os.environ.get("CI") == "true"
SYNC = {"VANTAGE_AGENT_RESULTS_SYNC_SECONDS": "1"}


@pytest.fixture(autouse=True)
def needs_sandbox():
    reason = None
    if os.geteuid() != 0:
        reason = "sandboxed experiments need root (cgroups, namespaces)"
    elif shutil.which("bwrap") is None:
        reason = "sandboxed experiments need bubblewrap (Debian package bubblewrap)"
    if reason:
        if IN_CI:
            pytest.fail(reason + " (CI=true: these tests must run)")
        pytest.skip(reason)


@pytest.fixture
def node(core, client):
    core.start_agent("n1", data_dir=core.log_dir / "agent-n1", extra_env=SYNC)
    wait_until(lambda: any(n.online for n in client.nodes()), timeout=60, what="n1 online")
    return "n1"


def _program(tmp_path, script: str) -> str:
    folder = tmp_path / "program"
    folder.mkdir(exist_ok=True)
    run = folder / "run.sh"
    run.write_text("#!/bin/sh\n" + script)
    run.chmod(0o755)
    return folder


def _experiment(client, name: str, config: dict, **action) -> Scenario:
    s = Scenario(name)
    s.task("t").action("exp", node="n1", tool="experiment", config=config,
                       results=["exit_status", "results_bytes"], **action)
    client.submit(s)
    return s


def _files(client, ex_id):
    return {f["path"]: f for f in client.result_files(ex_id, node="n1")}


def _log_text(client, ex_id) -> str:
    return "\n".join(line["message"] for line in client.logs(ex_id))


def test_config_read_and_results_reach_the_core_during_the_run(client, node, tmp_path):
    program = client.push_layer(_program(tmp_path, (
        "cp /monroe/config /monroe/results/config-seen.json\n"
        "i=0; while true; do i=$((i+1)); echo tick $i >> /monroe/results/ticks.txt; "
        "sleep 0.5; done\n")))
    _experiment(client, "exp-config", {"program": program["digest"],
                                       "argv": ["/monroe/program/run.sh"],
                                       "options": {"secret": "s3cr3t", "target": "x"}})
    execution = client.start("exp-config", duration=12)
    # during the run: the files are at the core before the execution ended
    wait_until(lambda: "results/ticks.txt" in _files(client, execution.id), timeout=40,
               what="results pushed during the run")
    assert not execution.refresh().done
    seen = _files(client, execution.id)["results/config-seen.json"]
    assert json.loads(client.download_file(seen["id"])) == {"secret": "s3cr3t", "target": "x"}
    ex = execution.wait(timeout=90)
    assert ex.state == "finished", ex.reason
    ticks = client.download_file(_files(client, ex.id)["results/ticks.txt"]["id"]).decode()
    assert ticks.count("tick") >= 10  # the final copy, sent at the end
    log = _log_text(client, ex.id)
    for expected in ("deploy: fetching layer", "sandbox started", "sandbox stopped",
                     "sandbox ended by SIGTERM"):
        assert expected in log, log


def test_layer_fetched_once_for_two_runs(client, node, tmp_path):
    program = client.push_layer(_program(tmp_path, "echo ran > /monroe/results/out\n"))
    config = {"program": program["digest"], "argv": ["/monroe/program/run.sh"]}
    _experiment(client, "exp-once", config)
    first = client.start("exp-once", duration=3).wait(timeout=90)
    second = client.start("exp-once", duration=3).wait(timeout=90)
    assert (first.state, second.state) == ("finished", "finished"), (first.reason, second.reason)
    assert "deploy: fetching layer" in _log_text(client, first.id)
    assert "deploy: fetching layer" not in _log_text(client, second.id)
    assert "in this node's cache" in _log_text(client, second.id)
    assert client.download_file(_files(client, second.id)["results/out"]["id"]) == b"ran\n"


def test_runaway_memory_is_stopped_with_the_reason(client, node):
    _experiment(client, "exp-oom", {"memory_mb": 32, "argv": [
        "python3", "-c", "import time; x = bytearray(200 * 1024 * 1024); time.sleep(60)"]})
    ex = client.start("exp-oom", duration=30).wait(timeout=90)
    assert ex.state == "failed"
    assert "memory limit of 32 MB exceeded" in (ex.reason or "")
    assert "memory limit of 32 MB exceeded" in _log_text(client, ex.id)


def test_results_storage_limit_stops_it(client, node):
    _experiment(client, "exp-disk", {"results_max_mb": 1, "argv": [
        "/bin/sh", "-c", "while true; do head -c 100000 /dev/zero >> /monroe/results/big; "
                         "sleep 0.05; done"]})
    ex = client.start("exp-disk", duration=30).wait(timeout=90)
    assert ex.state == "failed" and "results storage limit of 1 MB exceeded" in ex.reason


def test_partial_results_of_a_canceled_run_are_kept(client, node):
    _experiment(client, "exp-cancel", {"argv": [
        "/bin/sh", "-c", "echo partial > /monroe/results/part.txt; sleep 600"]})
    execution = client.start("exp-cancel", duration=120)
    wait_until(lambda: "sandbox started" in _log_text(client, execution.id), timeout=60,
               what="the sandbox to start")
    time.sleep(1)
    client.cancel(execution.id)
    assert execution.wait(timeout=60).state == "canceled"
    found = wait_until(lambda: _files(client, execution.id).get("results/part.txt"),
                       timeout=30, what="the partial result file")
    assert client.download_file(found["id"]) == b"partial\n"
    wait_until(lambda: "sandbox stopped" in _log_text(client, execution.id), timeout=30,
               what="the stop in the log")


def test_at_most_three_experiments_are_deployed_ahead(client, node, tmp_path):
    program = client.push_layer(_program(tmp_path, "echo ahead > /monroe/results/out\n"))
    _experiment(client, "exp-ahead", {"program": program["digest"],
                                      "argv": ["/monroe/program/run.sh"]})
    first = time.time() + 25
    executions = [client.start("exp-ahead", duration=2, start=first + 4 * i) for i in range(4)]
    ended = [e.wait(timeout=120) for e in executions]
    assert [e.state for e in ended] == ["finished"] * 4, [e.reason for e in ended]
    assert ("deploy delayed: 3 experiments are already deployed ahead on this node"
            in _log_text(client, ended[3].id))
    assert "deploy delayed" not in _log_text(client, ended[0].id)


def test_metadata_bus_socket_is_reachable_inside(core, client, node):
    """The agent's real bus (ZeroMQ on an ipc socket) answers from inside the sandbox.

    The node's own python has no pyzmq, so the program reads the ZMTP greeting that
    every ZeroMQ socket sends first: 0xFF, eight bytes, then 0x7F.
    """
    reader = ("import os, socket\n"
              "s = socket.socket(socket.AF_UNIX)\n"
              "s.connect(os.environ['VANTAGE_BUS'][len('ipc://'):])\n"
              "open('/monroe/results/bus.bin', 'wb').write(s.recv(10))\n")
    _experiment(client, "exp-bus", {"argv": ["python3", "-c", reader]})
    ex = client.start("exp-bus", duration=4).wait(timeout=90)
    assert ex.state == "finished", ex.reason
    got = client.download_file(_files(client, ex.id)["results/bus.bin"]["id"])
    assert len(got) == 10 and got[0] == 0xFF and got[9] == 0x7F, got
