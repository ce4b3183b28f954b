"""Processors configured per action: validated at submission, applied on ingest."""

from __future__ import annotations

from tests.core.conftest import enrol, scenario
from tests.core.processors.test_cryptopan import KEY
from tests.support import wait_until
from vantagepoint.core.processors.cryptopan import PrefixPreserving

ANON = {"name": "anonymise", "config": {"key": KEY.decode()}}
TO_SECONDS = {"name": "convert", "config": {"conversions": [
    {"result": "rtt_ms", "from": "ms", "to": "s"}]}}


def _as(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_processors_of_each_action_apply_on_ingest(app_client):
    token = enrol(app_client, "n1")
    doc = scenario("proc", processors=[ANON, TO_SECONDS])
    plain = {**doc["tasks"][0]["actions"][0], "name": "plain"}
    plain.pop("processors")
    doc["tasks"][0]["actions"].append(plain)
    r = app_client.put("/api/v1/scenarios/proc", json=doc)
    assert r.status_code == 200, r.text
    ex = app_client.post("/api/v1/executions", json={"scenario": "proc", "duration": 5}).json()
    wait_until(lambda: app_client.get("/api/v1/agent/assignments", headers=_as(token)).json(),
               what="assignment")
    hop = {"hop": 1, "from": "192.0.2.1", "rtt": 0.4}
    records = [
        {"kind": "result", "seq": 1, "execution_id": ex["id"], "action": "a",
         "name": "rtt_ms", "ts": 1.0, "value": 12.5},
        {"kind": "result", "seq": 2, "execution_id": ex["id"], "action": "a",
         "name": "hop", "ts": 2.0, "value": hop},
        {"kind": "result", "seq": 3, "execution_id": ex["id"], "action": "a",
         "name": "hop", "ts": 3.0, "value": {**hop, "from": "192.0.2.77"}},
        {"kind": "result", "seq": 4, "execution_id": ex["id"], "action": "plain",
         "name": "rtt_ms", "ts": 1.0, "value": 12.5},
        {"kind": "result", "seq": 5, "execution_id": ex["id"], "action": "plain",
         "name": "hop", "ts": 2.0, "value": hop},
    ]
    batch = {"spool_id": "spool-proc-01", "records": records}
    for _ in range(2):  # a retried upload stores nothing twice
        r = app_client.post("/api/v1/agent/records", json=batch, headers=_as(token))
    assert r.json()["stored"] == 0
    items = app_client.get("/api/v1/results", params={"execution": ex["id"]}).json()["items"]
    got = {(i["action"], i["name"], i["ts"]): i["value"] for i in items}
    mapper = PrefixPreserving(KEY)
    assert got[("a", "rtt_s", 1.0)] == 0.0125
    assert got[("a", "hop", 2.0)] == {**hop, "from": mapper.address("192.0.2.1")}
    first, second = got[("a", "hop", 2.0)]["from"], got[("a", "hop", 3.0)]["from"]
    assert first.split(".")[:3] == second.split(".")[:3] and first != "192.0.2.1"
    assert got[("plain", "rtt_ms", 1.0)] == 12.5 and got[("plain", "hop", 2.0)] == hop
    numeric = app_client.get("/api/v1/results", params={"execution": ex["id"],
                                                        "name": "rtt_s"}).json()["items"]
    assert [i["value"] for i in numeric] == [0.0125]


def test_processor_configs_are_validated_against_their_schemas(app_client):
    enrol(app_client, "n1")
    cases = [
        ([{"name": "gzip"}], "/tasks/0/actions/0/processors/0/name",
         "unknown result processor 'gzip'"),
        ([{"name": "anonymise", "config": {"key": "short"}}],
         "/tasks/0/actions/0/processors/0/config/key", "is too short"),
        ([ANON, {"name": "convert", "config": {"conversions": [
            {"result": "rtt_ms", "from": "ms", "to": "Mbit"}]}}],
         "/tasks/0/actions/0/processors/1/config/conversions/0/to",
         "cannot convert ms (time) to Mbit (data)"),
        ([{"name": "convert", "config": {"conversions": [
            {"result": "rtt_ms", "from": "ms", "to": "fortnights"}]}}],
         "/tasks/0/actions/0/processors/0/config/conversions/0/to", "is not one of"),
    ]
    for processors, pointer, message in cases:
        r = app_client.put("/api/v1/scenarios/proc", json=scenario("proc",
                                                                   processors=processors))
        assert r.status_code == 422, (processors, r.text)
        problems = r.json()["problems"]
        assert [p["pointer"] for p in problems] == [pointer], problems
        assert message in problems[0]["message"], problems
    action = scenario("x", processors=[{"name": "gzip"}])["tasks"][0]["actions"][0]
    r = app_client.put("/api/v1/actions/a", json=action)
    assert r.status_code == 422
    assert r.json()["problems"][0]["pointer"] == "/processors/0/name"


def test_results_wait_on_the_node_when_their_processor_is_not_installed(app_client):
    from sqlalchemy.orm.attributes import flag_modified

    from vantagepoint.core.store.models import Execution

    token = enrol(app_client, "n1")
    assert app_client.put("/api/v1/scenarios/p", json=scenario("p", processors=[ANON])) \
        .status_code == 200
    ex = app_client.post("/api/v1/executions", json={"scenario": "p", "duration": 5}).json()
    with app_client.app.state.sessions.begin() as db:  # the plugin went away since
        row = db.get(Execution, ex["id"])
        row.snapshot["tasks"][0]["actions"][0]["processors"][0]["name"] = "gone"
        flag_modified(row, "snapshot")
    batch = {"spool_id": "spool-proc-02", "records": [
        {"kind": "result", "seq": 1, "execution_id": ex["id"], "action": "a",
         "name": "hop", "ts": 1.0, "value": {"from": "192.0.2.1"}}]}
    r = app_client.post("/api/v1/agent/records", json=batch, headers=_as(token))
    assert r.status_code == 500 and "'gone'" in r.json()["message"]
    assert app_client.get("/api/v1/results", params={"execution": ex["id"]}).json()["items"] \
        == []
