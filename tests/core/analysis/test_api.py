"""The analysis and export routes on a real app and database, fed through agent ingest."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.core.conftest import enrol, scenario, user_token

T0 = 1_767_225_600.0


def _upload(client, node_token: str, execution: int, records: list[tuple], spool: str):
    body = {"spool_id": spool, "records": [
        {"kind": "result", "seq": i, "execution_id": execution, "action": action,
         "name": name, "ts": ts, "value": value}
        for i, (action, name, ts, value) in enumerate(records, start=1)]}
    r = client.post("/api/v1/agent/records", json=body,
                    headers={"Authorization": f"Bearer {node_token}"})
    assert r.status_code == 200, r.text


@pytest.fixture
def study(app_client):
    """Node n1 with interfaces op0/op1; bob's execution with one probe on each."""
    node = enrol(app_client, "n1", interfaces=("op0", "op1"))
    bob = user_token(app_client, "bob")
    as_bob = {"Authorization": f"Bearer {bob}"}
    doc = scenario("rtt", interface="op0")
    doc["tasks"][0]["actions"].append({**doc["tasks"][0]["actions"][0], "name": "b",
                                       "interface": "op1"})
    assert app_client.put("/api/v1/scenarios/rtt", json=doc, headers=as_bob).status_code in (
        200, 201)
    r = app_client.post("/api/v1/executions", json={"scenario": "rtt", "duration": 60},
                        headers=as_bob)
    assert r.status_code == 201, r.text
    ex = r.json()["id"]
    rng = np.random.default_rng(11)
    values = {"a": rng.gamma(4.0, 5.0, 600), "b": rng.gamma(2.0, 9.0, 400)}
    records = [(a, "rtt_ms", T0 + i * 0.5, float(v)) for a in values
               for i, v in enumerate(values[a])]
    records += [("a", "rtt_ms", T0 + 1, None), ("a", "rtt_ms", T0 + 2, {"odd": [1, "x"]}),
                ("a", "sent", T0 + 400, 10), ("a", "received", T0 + 400, 8),
                ("b", "note", T0 + 3, "text, with \"quotes\"\nand a newline")]
    _upload(app_client, node, ex, records, "spool-0001")
    return {"execution": ex, "bob": as_bob, "values": values, "count": len(records)}


def test_stats_match_numpy_per_interface(app_client, study):
    r = app_client.get("/api/v1/stats", params={"name": "rtt_ms", "by": "interface",
                                                "percentiles": "5,50,99.5"}, headers=study["bob"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["by"] == ["interface"]
    groups = {g["key"]["interface"]: g for g in body["groups"]}
    for iface, action in (("op0", "a"), ("op1", "b")):
        values, got = study["values"][action], groups[iface]
        assert got["numeric"] == len(values)
        assert got["mean"] == pytest.approx(values.mean())
        assert got["stddev"] == pytest.approx(values.std(ddof=1))
        for q in ("5", "50", "99.5"):
            assert got["percentiles"][q] == pytest.approx(np.percentile(values, float(q)))
    assert groups["op0"]["count"] == 602 and groups["op0"]["loss_pct"] == pytest.approx(20.0)
    assert groups["op1"]["loss_pct"] is None


def test_buckets_keep_every_result(app_client, study):
    r = app_client.get("/api/v1/stats/buckets", params={"name": "rtt_ms", "by": "action",
                                                        "buckets": 20}, headers=study["bob"])
    assert r.status_code == 200, r.text
    series = {s["key"]["action"]: s["buckets"] for s in r.json()["series"]}
    assert sum(b["numeric"] for b in series["a"]) == 600
    assert max(b["max"] for b in series["b"]) == pytest.approx(study["values"]["b"].max())
    assert r.json()["since"] == T0 and r.json()["width"] > 0


def test_bad_queries_name_the_parameter(app_client, study):
    for params, pointer in (({"name": "rtt_ms", "percentiles": "50,abc"}, "query:percentiles"),
                            ({"name": "rtt_ms", "by": "colour"}, "query:by"),
                            ({"name": "rtt_ms", "since": 5, "until": 5}, "query:until"),
                            ({}, "query:name")):
        r = app_client.get("/api/v1/stats", params=params)
        assert r.status_code == 422, params
        assert r.json()["problems"][0]["pointer"] == pointer


def test_others_see_nothing_of_bobs_results(app_client, study):
    carol = {"Authorization": f"Bearer {user_token(app_client, 'carol')}"}
    assert app_client.get("/api/v1/stats", params={"name": "rtt_ms"},
                          headers=carol).json()["groups"] == []
    r = app_client.get("/api/v1/export/results", headers=carol)
    assert list(csv.reader(io.StringIO(r.text))) == [
        ["id", "execution", "node", "action", "name", "ts", "value", "value_num"]]
    assert app_client.get("/api/v1/export/atlas", headers=carol).json() == []
    admin = app_client.get("/api/v1/stats", params={"name": "rtt_ms"}).json()
    assert admin["groups"][0]["count"] == 1002


def _stored(app_client, headers, **params):
    r = app_client.get("/api/v1/results", params={"limit": 10000, **params}, headers=headers)
    return r.json()["items"]


def test_csv_export_reads_back_equal(app_client, study):
    r = app_client.get("/api/v1/export/results", params={"until": T0 + 100},
                       headers=study["bob"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    stored = _stored(app_client, study["bob"], until=T0 + 100)
    assert len(rows) == len(stored) > 200
    for row, want in zip(rows, stored, strict=True):
        assert (int(row["id"]), int(row["execution"]), row["node"], row["action"],
                row["name"], float(row["ts"]), json.loads(row["value"])) == (
            want["id"], want["execution"], want["node"], want["action"], want["name"],
            want["ts"], want["value"])


def test_parquet_export_reads_back_equal(app_client, study):
    r = app_client.get("/api/v1/export/results", params={"format": "parquet"},
                       headers=study["bob"])
    assert r.status_code == 200, r.text
    table = pq.read_table(io.BytesIO(r.content))
    stored = _stored(app_client, study["bob"])
    assert table.num_rows == len(stored) == study["count"]
    got = table.to_pylist()
    assert [(g["id"], g["node"], g["action"], g["name"], g["ts"], json.loads(g["value"]))
            for g in got] == [(s["id"], s["node"], s["action"], s["name"], s["ts"], s["value"])
                              for s in stored]
    numeric = [g["value_num"] for g in got if g["name"] == "rtt_ms"]
    assert sum(v is None for v in numeric) == 2


def test_one_result_type_and_the_logs(app_client, study):
    r = app_client.get("/api/v1/export/results", params={"name": "note"}, headers=study["bob"])
    [row] = list(csv.DictReader(io.StringIO(r.text)))
    assert json.loads(row["value"]) == "text, with \"quotes\"\nand a newline"
    assert 'filename="results-note.csv"' in r.headers["content-disposition"]
    logs = app_client.get("/api/v1/export/logs", params={"format": "parquet"},
                          headers=study["bob"])
    table = pq.read_table(io.BytesIO(logs.content))
    assert table.column_names == ["id", "execution", "node", "action", "ts", "level", "message"]
    assert table.num_rows >= 1  # the core logs the occurrence it created
    assert app_client.get("/api/v1/export/logs", params={"name": "x"}).status_code == 422
