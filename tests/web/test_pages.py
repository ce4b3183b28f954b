"""Every page renders from the API's data; positions come from node attributes."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from tests.web.conftest import enrol, execution_with
from vantagepoint.web.positions import from_attributes
from vantagepoint.wire import NodeOut


def _node(**attributes) -> NodeOut:
    return NodeOut(name="n", interfaces=[], attributes=attributes, tools=[], online=True,
                   last_seen=None, registered_at=None)


@pytest.mark.parametrize(("attrs", "expected"), [
    ({"lat": "59.33", "lon": "18.07"}, (59.33, 18.07)),
    ({"lat": "-90", "lon": "180"}, (-90.0, 180.0)),
    ({"lat": "91", "lon": "0"}, None),
    ({"lat": "nan", "lon": "0"}, None),
    ({"lat": "north", "lon": "0"}, None),
    ({"lat": "10"}, None),
])
def test_position_from_attributes(attrs, expected):
    assert from_attributes(None, _node(**attrs)) == expected


def test_fleet_places_nodes_with_a_position(browser_client):
    enrol(browser_client, "n1")
    token = browser_client.post("/api/v1/node-tokens", json={"node": "n2"}).json()["token"]
    body = {"name": "n2", "attributes": {"lat": "40.4", "lon": "-3.7", "country": "es"}}
    browser_client.post("/api/v1/agent/register", json=body,
                        headers={"Authorization": f"Bearer {token}"})
    page = browser_client.get("/").text
    assert 'data-node="n2"' in page and 'cx="176.30" cy="49.60"' in page
    assert 'circle class="marker online" data-node="n1"' not in page  # n1 has no position
    assert "no position: n1" in page


def test_each_page_renders(browser_client):
    ex = execution_with(browser_client, [1.0, 2.0, 3.0])
    for path, marker in (("/", "fleet-table"), ("/nodes/n1", "rtt-chart"),
                         ("/scenarios", "scenario-list"), ("/specs/scenario/rtt", 'id="yaml"'),
                         ("/editor?kind=task", 'data-kind="task"'),
                         ("/schedule?scenario=rtt", "schedule-form"),
                         ("/executions", f'data-execution="{ex}"'),
                         (f"/executions/{ex}", 'data-key="a/rtt_ms"'),
                         ("/account", 'id="quotas"'), ("/alarms", 'id="alarm-list"'),
                         ("/studies", 'id="study-list"')):
        r = browser_client.get(path)
        assert r.status_code == 200 and marker in r.text, path


def test_missing_things_are_html_404s(browser_client):
    for path in ("/executions/999", "/nodes/nope", "/specs/scenario/nope", "/specs/x/y"):
        r = browser_client.get(path)
        assert r.status_code == 404 and "text/html" in r.headers["content-type"], path


def test_csv_has_every_result_in_api_order(browser_client):
    values = [0.5, {"rtt": 1}, "text", None, 7]
    ex = execution_with(browser_client, values)
    rows = list(csv.DictReader(io.StringIO(browser_client.get(
        f"/executions/{ex}/results.csv").text)))
    api = browser_client.get("/api/v1/results", params={"execution": ex}).json()["items"]
    assert [int(r["id"]) for r in rows] == [i["id"] for i in api]
    assert [r["value"] for r in rows] == ["0.5", '{"rtt": 1}', "text", "", "7"]



def test_execution_page_brings_its_first_chart_and_log(browser_client):
    ex = execution_with(browser_client, [float(v) for v in range(3000)])
    page = browser_client.get(f"/executions/{ex}").text
    chart = json.loads(re.search(r'<script type="application/json" id="first-chart">(.*?)'
                                 r'</script>', page, re.S).group(1))
    assert (chart["node"], chart["action"], chart["name"]) == ("n1", "a", "rtt_ms")
    api = browser_client.get(f"/ui/executions/{ex}/series", params={
        "node": "n1", "action": "a", "name": "rtt_ms", "points": 800}).json()
    assert chart["data"] == api and api["count"] == 3000 and len(api["ts"]) <= 801
    log = json.loads(re.search(r'id="first-log">(.*?)</script>', page, re.S).group(1))
    assert log["more"] is False
    assert [line["id"] for line in log["lines"]] == [
        line["id"] for line in browser_client.get(f"/api/v1/executions/{ex}/logs").json()]
    assert 'id="parquet"' in page and "atlas" not in page  # the probe tool is not ping


def test_export_buttons_download_with_the_session_cookie(browser_client):
    ex = execution_with(browser_client, [1.0, 2.0])
    page = browser_client.get(f"/executions/{ex}").text
    href = re.search(r'id="parquet" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    r = browser_client.get(href)
    assert r.status_code == 200 and r.content[:4] == b"PAR1" and r.content[-4:] == b"PAR1"
