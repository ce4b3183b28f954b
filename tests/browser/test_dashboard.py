"""The dashboard in Debian's chromium against a real core with two agents."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from tests.browser.conftest import login_with_token, shot
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# The action on n2 has a bad interval on line 17; the fix replaces that one line.
BROKEN = """name: web-ping
description: ping from both nodes
tasks:
  - name: loopback
    actions:
      - name: ping1
        node: n1
        tool: ping
        config:
          target: 127.0.0.1
          interval: 0.2
        results: [rtt_ms, sent]
      - name: ping2
        node: n2
        tool: ping
        config:
          interval: -1
          target: 127.0.0.1
        results: [rtt_ms, sent]
"""
BAD_LINE = 17
FIXED = BROKEN.replace("interval: -1", "interval: 0.2")


def test_fleet_shows_both_nodes_on_the_map_and_in_the_table(fleet, page):
    login_with_token(page, fleet.url)
    for node, country in (("n1", "se"), ("n2", "es")):
        marker = page.locator(f'#map circle[data-node="{node}"]')
        assert marker.count() == 1
        assert "online" in marker.get_attribute("class")
        row = page.locator(f'#fleet-table tr[data-node="{node}"]')
        assert country in row.inner_text() and "online" in row.inner_text()
    # Stockholm lies north and east of Madrid on the equirectangular map.
    n1, n2 = (page.locator(f'#map circle[data-node="{n}"]') for n in ("n1", "n2"))
    assert float(n1.get_attribute("cy")) < float(n2.get_attribute("cy"))
    assert float(n1.get_attribute("cx")) > float(n2.get_attribute("cx"))
    shot(page, "fleet")


def test_scenario_to_finished_execution(fleet, page):
    base = fleet.url
    login_with_token(page, base)
    _edit_scenario(page, base)
    execution = _schedule(page, base)
    _watch(page, base, execution)
    _chart(page)
    _csv_matches_api(page, fleet, execution)
    _node_rtt(page, base)
    page.goto(base + "/executions")
    assert page.locator(f'#execution-list tr[data-execution="{execution}"]').count() == 1
    assert "finished" in page.locator(f'tr[data-execution="{execution}"]').inner_text()
    shot(page, "executions")
    page.goto(base + "/account")
    page.fill("#token-form input[name=label]", "from the browser")
    page.click("#token-form button")
    assert page.locator("#new-token").inner_text().startswith("vpu_")
    shot(page, "account")


def _edit_scenario(page, base):
    page.goto(base + "/editor?kind=scenario")
    page.fill("#yaml", BROKEN)
    problem = page.locator("#problems li", has_text="/config/interval")
    problem.wait_for()
    assert page.locator("#problems li").count() == 1
    assert problem.get_attribute("data-line") == str(BAD_LINE), problem.inner_text()
    assert "/tasks/0/actions/1/config/interval" in problem.inner_text()
    assert "bad" in page.locator(f'#gutter span[data-line="{BAD_LINE}"]').get_attribute("class")
    assert page.locator("#save").is_disabled()
    shot(page, "editor-error")
    page.fill("#yaml", FIXED)
    page.wait_for_selector("#status.good")
    assert page.locator("#problems li").count() == 0
    page.click("#save")
    page.wait_for_url(re.compile(r"/specs/scenario/web-ping"))
    assert "version 1" in page.locator("h1").inner_text()
    shot(page, "scenario")


def _schedule(page, base) -> int:
    page.goto(base + "/schedule?scenario=web-ping")
    page.fill("input[name=duration]", "4")
    page.click("#dry-run")
    page.wait_for_selector("#dry-run-result, #refusal")
    assert page.locator("#dry-run-result").count() == 1, page.locator("#outcome").inner_text()
    slots = page.locator("#slots tbody tr")
    assert slots.count() == 1 and "n1, n2" in slots.first.inner_text()
    shot(page, "schedule-dry-run")
    page.fill("input[name=duration]", "0.1")  # shorter than the core allows: refused
    page.click("#book")
    page.wait_for_selector("#refusal")
    assert "duration" in page.locator("#refusal").inner_text()
    page.fill("input[name=duration]", "4")
    page.click("#book")
    page.wait_for_selector("#booked, #refusal")
    assert page.locator("#booked").count() == 1, page.locator("#outcome").inner_text()
    link = page.locator("#slots a")
    link.wait_for(timeout=30_000)
    shot(page, "schedule-booked")
    return int(link.inner_text().lstrip("#"))


def _watch(page, base, execution):
    page.goto(f"{base}/executions/{execution}")
    seen_while_running = wait_until(
        lambda: page.locator("#state").inner_text() in ("running", "finished")
        and page.locator("#log").inner_text(), timeout=60, what="the log to stream")
    page.wait_for_selector('#execution[data-state="finished"]', timeout=60_000)
    page.wait_for_selector('#execution[data-followed="1"]')
    final_log = page.locator("#log").inner_text()
    assert final_log.startswith(seen_while_running.strip().splitlines()[0])
    assert "execution finished" in final_log
    assert len(final_log.splitlines()) > len(seen_while_running.splitlines())
    assert page.locator("#cancel").is_hidden()


def _chart(page):
    page.reload()  # the per-action table is rendered once the results are in
    page.wait_for_selector("body[data-ready='1']")
    rows = page.locator("#results-table tbody tr")
    text = rows.all_inner_texts()
    assert any("ping1" in t and "rtt_ms" in t for t in text), text
    assert any("ping2" in t and "rtt_ms" in t for t in text), text
    page.click('button.chart-open[data-action="ping2"][data-name="rtt_ms"]')
    page.wait_for_selector('#result-chart[data-series="n2/ping2/rtt_ms/series"] .uplot canvas')
    assert int(page.locator("#result-chart").get_attribute("data-points")) > 5, text
    shot(page, "execution-chart")
    page.click('button.cdf-open[data-action="ping1"][data-name="rtt_ms"]')
    page.wait_for_selector('#result-chart[data-series="n1/ping1/rtt_ms/cdf"] .uplot canvas')
    assert int(page.locator("#result-chart").get_attribute("data-points")) > 5, text
    shot(page, "execution-cdf")


def _csv_matches_api(page, fleet, execution):
    with page.expect_download() as info:
        page.click("#csv")
    rows = list(csv.DictReader(io.StringIO(open(info.value.path()).read())))
    api, cursor = [], 0
    with fleet.client() as c:
        while cursor is not None:
            body = c.get("/api/v1/results", params={"execution": execution, "cursor": cursor,
                                                    "limit": 500}).json()
            api += body["items"]
            cursor = body["next_cursor"]
    assert len(rows) == len(api) > 10
    for row, item in zip(rows, api, strict=True):
        assert int(row["id"]) == item["id"]
        assert (row["node"], row["action"], row["name"]) == (item["node"], item["action"],
                                                             item["name"])
        assert float(row["ts"]) == item["ts"]
        value = item["value"]
        assert row["value"] == (value if isinstance(value, str) else json.dumps(value))


def _node_rtt(page, base):
    page.goto(base + "/nodes/n1")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#rtt-chart .uplot canvas")  # the background ping on lo0
    assert "results" in page.locator("#rtt-note").inner_text()
    assert "lo0" in page.locator("#rtt-chart").inner_text()  # the legend names the interface
    page.wait_for_selector("#sensor-cpu .uplot canvas")
    assert int(page.locator("#sensor-memory").get_attribute("data-points")) > 0
    modem = page.locator('#interfaces tr[data-interface="lo0"]').inner_text()
    assert "Telia" in modem and "LTE" in modem and "-95 dBm" in modem, modem
    events = page.locator("#events").inner_text()
    assert "web-ping" in events and "Agent.Started" in events
    shot(page, "node")


def test_a_second_user_sees_none_of_the_first_users_executions(fleet, browser, page):
    with fleet.client() as c:
        assert c.post("/api/v1/users", json={"name": "bob", "password": "bob-secret-1"}
                      ).status_code == 201
        scenario = {"name": "private", "tasks": [{"name": "t", "actions": [
            {"name": "p", "node": "n1", "tool": "ping", "config": {"target": "127.0.0.1"},
             "results": ["rtt_ms"]}]}]}
        assert c.put("/api/v1/scenarios/private", json=scenario).status_code == 200
        r = c.post("/api/v1/executions", json={"scenario": "private", "duration": 1})
        assert r.status_code == 201, r.text
        execution = r.json()["id"]
    base = fleet.url
    page.goto(base + "/login")
    page.fill("input[name=username]", "bob")
    page.fill("input[name=password]", "bob-secret-1")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    assert page.locator("#who").inner_text() == "bob"
    page.goto(base + "/executions")
    assert page.locator(f'tr[data-execution="{execution}"]').count() == 0
    assert page.goto(f"{base}/executions/{execution}").status == 404
    assert f"no execution {execution}" in page.locator("#error-message").inner_text()
    shot(page, "second-user-404")
    assert page.goto(f"{base}/executions/{execution}/results.csv").status == 404
    assert page.request.get(f"{base}/api/v1/executions/{execution}").status == 404
    # The cookie alone does not let another site's form change anything (no CSRF header).
    forged = page.request.post(f"{base}/api/v1/tokens", data={"label": "forged"})
    assert forged.status == 403
    page.goto(base + "/")
    page.click("header .who button")
    page.wait_for_url(re.compile(r"/login"))
    assert page.goto(base + "/executions").url.startswith(base + "/login")


def test_wrong_credentials_are_refused(fleet, page):
    page.goto(fleet.url + "/login")
    page.fill("input[name=token]", "vpu_not-a-real-token")
    page.click("button[type=submit]")
    assert "wrong token" in page.locator("#login-error").inner_text()
    node_token = fleet.node_token("n9")  # an agent's token is not a way in
    page.fill("input[name=token]", node_token)
    page.click("button[type=submit]")
    assert page.locator("#login-error").is_visible()
    shot(page, "login")


ALARMING = {"name": "alarming", "tasks": [{"name": "t", "actions": [
    {"name": "p", "node": "n1", "tool": "ping", "config": {"target": "127.0.0.1",
                                                           "interval": 0.2},
     "results": ["rtt_ms"], "conditions": ["rtt_ms > 0"]}]}]}  # every reply raises one
STUDY = {"name": "web-study", "parameters": {"interval": [0.2, 0.5]},
         "template": {"tasks": [{"name": "t", "actions": [
             {"name": "p", "node": "n2", "tool": "ping",
              "config": {"target": "127.0.0.1", "interval": "${interval}"},
              "results": ["rtt_ms"]}]}]},
         "schedule": {"duration": 1.5, "gap": 0}}


def test_acknowledge_an_alarm_and_open_a_study(fleet, page):
    with fleet.client() as c:
        assert c.put("/api/v1/scenarios/alarming", json=ALARMING).status_code == 200
        r = c.post("/api/v1/executions", json={"scenario": "alarming", "duration": 2})
        assert r.status_code == 201, r.text
        execution = r.json()["id"]
        r = c.post("/api/v1/studies", json=STUDY)
        assert r.status_code == 201, r.text
        wait_until(lambda: c.get("/api/v1/alarms", params={"execution": execution}).json(),
                   timeout=60, what="an alarm from n1")
        wait_until(lambda: c.get("/api/v1/studies/web-study").json()["runs"][0]["states"]
                   == {"finished": 2}, timeout=90, what="both study runs to finish")
    login_with_token(page, fleet.url)
    _acknowledge(page, fleet.url, execution)
    _study(page, fleet.url)


def _acknowledge(page, base, execution):
    page.goto(f"{base}/alarms?show=all&execution={execution}")
    first = page.locator("#alarm-list tr.open").first
    alarm = first.get_attribute("data-alarm")
    assert "rtt_ms" in first.inner_text()
    first.locator("input[name=note]").fill("seen in the browser")
    first.locator("button").click()  # the API call, with the CSRF header, then a reload
    row = page.locator(f'#alarm-list tr[data-alarm="{alarm}"].acked')
    row.wait_for()
    assert "admin" in row.inner_text() and "seen in the browser" in row.inner_text()
    shot(page, "alarms")
    page.goto(f"{base}/executions/{execution}")
    assert page.locator(f'#alarm-list tr[data-alarm="{alarm}"].acked').count() == 1
    assert page.locator("#parquet").get_attribute("href").endswith(
        f"format=parquet&execution={execution}")
    assert page.locator("#atlas-ping").count() == 1


def _study(page, base):
    page.goto(base + "/studies")
    page.click('#study-list a[href="/studies/web-study"]')
    page.select_option("#grid-form select[name=stat]", "max")
    page.click("#grid-form button")
    page.wait_for_url(re.compile(r"stat=max"))
    cells = page.locator("#study-grid td.cell")
    assert cells.count() == 2
    for i in range(2):
        entry = cells.nth(i).locator(".entry")
        assert entry.get_attribute("data-state") == "finished"
        assert float(entry.locator(".value").inner_text()) > 0
    shot(page, "study")
