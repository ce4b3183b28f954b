"""The studies pages: the list, and the grid of combinations with each run side by side
and a statistic from the stats API per cell."""

from __future__ import annotations

import re

import pytest

from tests.core.studies.test_studies_api import LOADS, _carry_out, device_study
from tests.web.conftest import enrol
from vantagepoint.web.study_grid import build, label, pick
from vantagepoint.wire import StudyOut


def _quick_study(client) -> str:
    """Study 'quick' (load low/medium x snmp basic/full) carried out twice by node n1."""
    token = enrol(client, "n1")
    doc = device_study("quick", duration=1)
    doc["parameters"] = {"load": LOADS[:2], "snmp": ["basic", "full"]}
    doc["schedule"]["gap"] = 0
    action = doc["template"]["tasks"][0]["actions"][0]
    action["config"]["target"] = "192.0.2.1"
    action.pop("tags")
    r = client.post("/api/v1/studies", json=doc)
    assert r.status_code == 201, r.text
    _carry_out(client, token, r.json()["runs"][0], 1.5)
    _carry_out(client, token, client.post("/api/v1/studies/quick/runs", json={}).json(), 4.0)
    return "quick"


def _cell(page: str, row: str, col: str) -> str:
    found = re.search(rf'<td class="cell" data-row="{row}" data-col="{col}">(.*?)</td>', page,
                      re.S)
    assert found, (row, col)
    return found.group(1)


def test_study_list_and_grid_with_runs_side_by_side(browser_client):
    name = _quick_study(browser_client)
    listing = browser_client.get("/studies").text
    assert f'data-study="{name}"' in listing and "load × snmp" in listing
    page = browser_client.get(f"/studies/{name}", params={"stat": "max"}).text
    assert 'data-stat="max" data-result="rtt_ms"' in page
    for row in ("low", "medium"):
        for col in ("basic", "full"):
            cell = _cell(page, row, col)
            runs = re.findall(r'data-run="(\d+)" data-state="(\w+)"', cell)
            assert runs == [("1", "finished"), ("2", "finished")], cell
            assert [float(v) for v in re.findall(r'class="value">([\d.]+)<', cell)] == [1.5, 4.0]
    across = browser_client.get(f"/studies/{name}", params={"cols": "load"}).text
    assert 'data-row="basic" data-col="medium"' in across


def test_study_grid_refuses_an_unknown_statistic(browser_client):
    r = browser_client.get("/studies/none", params={"stat": "median"})
    assert r.status_code == 422 and "use one of" in r.text
    assert browser_client.get("/studies/none").status_code == 404


def _study(parameters: dict, items: list[tuple[int, dict, str, int | None]]) -> StudyOut:
    runs: dict[int, list] = {}
    for run, params, state, execution in items:
        runs.setdefault(run, []).append({"position": len(runs.get(run, [])), "params": params,
                                         "scenario": "s", "schedule": 1, "state": state,
                                         "execution": execution})
    return StudyOut.model_validate({
        "name": "s", "owner": "o", "description": "", "parameters": parameters,
        "combinations": 0, "created_at": "2026-01-01T00:00:00Z",
        "runs": [{"number": n, "note": "", "created_at": "2026-01-01T00:00:00Z",
                  "states": {}, "items": its} for n, its in runs.items()]})


def test_grid_rows_are_every_other_axis_in_document_order():
    study = _study({"a": [1, 2], "b": [{"name": "x", "k": 1}, {"name": "y", "k": 2}],
                    "c": ["p", "q"]},
                   [(1, {"a": 2, "b": {"name": "y", "k": 2}, "c": "q"}, "finished", 7),
                    (2, {"a": 2, "b": {"name": "y", "k": 2}, "c": "q"}, "queued", None)])
    grid = build(study, None)
    assert grid.col_axis == "c" and grid.row_axes == ["a", "b"]
    assert grid.rows == [("1", "x"), ("1", "y"), ("2", "x"), ("2", "y")]
    assert [(e.run, e.state, e.execution) for e in grid.cell(("2", "y"), "q")] == \
        [(1, "finished", 7), (2, "queued", None)]
    assert grid.cell(("1", "x"), "p") == []
    one_axis = build(_study({"a": [1]}, [(1, {"a": 1}, "finished", 3)]), "nope")
    assert one_axis.col_axis is None and one_axis.cols == [""]
    assert one_axis.cell(("1",), "")[0].execution == 3


@pytest.mark.parametrize(("value", "text"), [({"name": "low", "n": 1}, "low"), (5, "5"),
                                             ("x", "x"), ([1, 2], "[1, 2]")])
def test_labels(value, text):
    assert label(value) == text


def test_pick_reads_percentiles_by_label():
    stats = {"mean": 2.0, "percentiles": {"95": 9.0}, "loss_pct": None}
    assert (pick(stats, "mean"), pick(stats, "p95"), pick(stats, "p99"),
            pick(stats, "loss_pct")) == (2.0, 9.0, None, None)
