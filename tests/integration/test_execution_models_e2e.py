"""Execution models with a real core and agents: one action's init fails on n1.

all-or-nothing cancels everywhere; quorum runs the other actions to the end and
keeps the failure in the log."""

from __future__ import annotations

import pytest

from tests.support import wait_until

pytestmark = pytest.mark.integration


def _scenario(name: str, model: dict | None) -> dict:
    ping = {"tool": "ping", "results": ["rtt_ms"],
            "config": {"target": "127.0.0.1", "interval": 0.2, "timeout": 1}}
    actions = [{**ping, "name": "ping_n1", "node": "n1"},
               {**ping, "name": "ping_n2", "node": "n2"},
               {"name": "broken", "node": "n1", "tool": "command",
                "config": {"argv": ["/nonexistent/vp-missing-program"]}}]
    doc = {"name": name, "tasks": [{"name": "t", "actions": actions}]}
    if model is not None:
        doc["execution_model"] = model
    return doc


@pytest.fixture
def fleet(core, client):
    for node in ("n1", "n2"):
        core.start_agent(node)
    wait_until(lambda: {n.name for n in client.nodes() if n.online} >= {"n1", "n2"},
               timeout=60, what="both nodes online")
    return client


def test_all_or_nothing_cancels_everywhere_on_a_failed_init(fleet):
    fleet.submit(_scenario("strict", None))
    ex = fleet.start("strict", duration=4).wait(timeout=90)
    assert ex.state == "failed"
    assert "broken" in ex.reason and "not found" in ex.reason
    parts = {p["node"]: p["state"] for p in ex.data["nodes"]}
    assert parts == {"n1": "failed", "n2": "canceled"}
    assert [r for r in fleet.results(execution=ex.id) if r["name"] == "rtt_ms"] == []


def test_quorum_goes_on_and_logs_the_failure(fleet):
    fleet.submit(_scenario("lenient", {"name": "quorum", "config": {"min_actions": 2}}))
    ex = fleet.start("lenient", duration=4).wait(timeout=90)
    assert ex.state == "finished", ex.reason
    assert {p["state"] for p in ex.data["nodes"]} == {"done"}
    failed = {p["node"]: p["failed_actions"] for p in ex.data["nodes"]}
    assert list(failed["n1"]) == ["broken"] and failed["n2"] == {}
    rtts = [r for r in fleet.results(execution=ex.id) if r["name"] == "rtt_ms"]
    assert {r["node"] for r in rtts} == {"n1", "n2"} and len(rtts) >= 10
    log = [(line["level"], line["message"]) for line in fleet.logs(ex.id)]
    failed = [m for level, m in log if level == "error" and "action 'broken' on node n1 "
              "failed: init failed" in m]
    assert len(failed) == 1 and "not found" in failed[0]
    assert any("2 of 3 actions worked" in m for _, m in log)


def test_quorum_lost_fails_like_all_or_nothing(fleet):
    fleet.submit(_scenario("strict3", {"name": "quorum", "config": {"min_percent": 100}}))
    ex = fleet.start("strict3", duration=4).wait(timeout=90)
    assert ex.state == "failed"
    assert ex.reason.startswith("quorum lost: 2 of 3 actions work, 3 needed")
