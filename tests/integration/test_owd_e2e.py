"""udp-owd across two agents: the core joins the halves into one-way delay."""

from __future__ import annotations

import pytest

from tests.support import wait_until
from vantagepoint.client import Scenario

pytestmark = pytest.mark.integration


def test_core_joins_sender_and_receiver(core, client):
    for node in ("n1", "n2"):
        core.start_agent(node)
    wait_until(lambda: {n.name for n in client.nodes() if n.online} >= {"n1", "n2"},
               timeout=60, what="both nodes")
    s = Scenario("owd")
    s.task("t").action("recv", node="n2", tool="udp-owd",
                       config={"role": "receiver", "session": "a", "port": 18720},
                       results=["rx", "owd_ms", "loss", "ipdv_ms"]).action(
        "send", node="n1", tool="udp-owd", start=0.5,
        config={"role": "sender", "session": "a", "target": "127.0.0.1", "port": 18720,
                "interval": 0.05, "count": 20}, results=["tx"])
    client.submit(s)
    ex = client.start(s, duration=3).wait(timeout=60)
    assert ex.state == "finished", ex.reason
    owd = wait_until(lambda: client.results(execution=ex.id, name="owd_ms"), timeout=20,
                     what="joined one-way delays")
    assert len(owd) == 20 and {r["node"] for r in owd} == {"n2"}
    assert all(0 < r["value"] < 10 for r in owd)
    loss = client.results(execution=ex.id, name="loss_pct")
    assert [r["value"] for r in loss] == [0.0]
    error = client.results(execution=ex.id, name="clock_error_ms")
    assert error and error[0]["value"] < 1000  # both clocks are this machine's
