"""Atlas export: records the real ping and traceroute tools made, read by ripe.atlas.sagan."""

from __future__ import annotations

import json

import pytest
from ripe.atlas.sagan import PingResult, TracerouteResult

from tests.core.analysis.conftest import add_execution, add_results, snapshot
from vantagepoint.core.analysis.atlas import atlas_record, json_array, records
from vantagepoint.core.analysis.selection import Selection
from vantagepoint.core.store.models import Node
from vantagepoint.testing import root_skip_reason, run_tool
from vantagepoint.tools.base import ActionEnv
from vantagepoint.tools.ping import Ping
from vantagepoint.tools.traceroute import Traceroute

SKIP = root_skip_reason()
needs_root = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")


def _atlas(tool, config) -> dict:
    results, _ = run_tool(tool, config, 10, requested=["atlas"],
                          env=ActionEnv("op0", "probe", device="lo"))
    [record] = [v for name, v, _ in results if name == "atlas"]
    return json.loads(json.dumps(record))  # as stored: through JSON


@needs_root
def test_exported_records_parse_with_sagan_and_carry_the_core_ids(sessions, owners):
    ping = _atlas(Ping, {"target": "127.0.0.1", "count": 3, "interval": 0.05})
    trace = _atlas(Traceroute, {"target": "127.0.0.1", "proto": "icmp"})
    with sessions.begin() as db:
        db.add_all([Node(name="other"), Node(name="n1")])
    ex = add_execution(sessions, owners["bob"], snapshot())
    add_results(sessions, ex, "n1", "p", "atlas", [(ping["timestamp"], ping),
                                                   (trace["timestamp"], trace)])
    add_results(sessions, ex, "n1", "p", "rtt_ms", [(ping["timestamp"], 1.0)], spool="x")
    exported = json.loads(b"".join(json_array(records(sessions, Selection(None)))))
    assert [r["type"] for r in exported] == ["ping", "traceroute"]
    parsed_ping, parsed_trace = PingResult(exported[0]), TracerouteResult(exported[1])
    assert not parsed_ping.is_malformed and not parsed_trace.is_malformed
    assert (parsed_ping.measurement_id, parsed_ping.probe_id) == (ex, 2)
    assert parsed_ping.packets_sent == 3 and parsed_ping.packets_received == 3
    assert [p.rtt for p in parsed_ping.packets] == [p["rtt"] for p in ping["result"]]
    assert parsed_trace.destination_address == "127.0.0.1" and parsed_trace.total_hops == 1
    assert {k: v for k, v in exported[0].items() if k not in ("msm_id", "prb_id")} == {
        k: v for k, v in ping.items() if k not in ("msm_id", "prb_id")}
    only = list(records(sessions, Selection(None), "traceroute"))
    assert [r["type"] for r in only] == ["traceroute"]


def test_values_that_are_no_atlas_record_are_left_out():
    assert atlas_record({"type": "dns"}, 1, 2) is None
    assert atlas_record([1, 2], 1, 2) is None
    assert atlas_record({"type": "ping", "msm_id": 9}, 4, 5) == {
        "type": "ping", "msm_id": 4, "prb_id": 5}
    assert json.loads(b"".join(json_array(iter([])))) == []
