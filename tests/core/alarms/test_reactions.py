"""An alarm books a follow-up scenario on its node, once per rate-limit window."""

from __future__ import annotations

import time

from sqlalchemy import select

from tests.core.alarms.conftest import post_alarms, start_watched
from tests.core.conftest import scenario
from tests.support import wait_until
from vantagepoint.core.store.models import ReactionRun


def runs(client) -> list[tuple[str, int | None]]:
    with client.app.state.sessions() as db:
        return [(r.outcome, r.schedule_id)
                for r in db.scalars(select(ReactionRun).order_by(ReactionRun.id))]


def trace_schedules(client) -> list[dict]:
    return [s for s in client.get("/api/v1/schedules").json() if s["scenario"] == "trace"]


def test_a_flapping_condition_books_one_follow_up_per_window(alarm_client, hook):
    assert alarm_client.put("/api/v1/scenarios/trace",
                            json=scenario("trace", "n1")).status_code == 422  # n1 unknown yet
    reaction = {"when": "rtt_ms > 200", "scenario": "trace", "duration": 5,
                "min_interval": 2}
    token, ex = start_watched(alarm_client, ["rtt_ms > 200", "rtt_ms < 1"],
                              reactions=[reaction])
    assert alarm_client.put("/api/v1/scenarios/trace",
                            json=scenario("trace", "n1")).status_code == 200
    post_alarms(alarm_client, token, ex["id"], (1, "rtt_ms > 200", 300.0),
                (2, "rtt_ms < 1", 0.5), (3, "rtt_ms > 200", 250.0), (4, "rtt_ms > 200", 260.0))
    wait_until(lambda: len(runs(alarm_client)) == 3, what="three reaction runs")
    time.sleep(0.5)
    outcomes = runs(alarm_client)
    assert [o for o, _ in outcomes] == ["scheduled", "limited", "limited"]  # 'rtt_ms < 1': none
    [booked] = trace_schedules(alarm_client)
    assert booked["id"] == outcomes[0][1]
    assert booked["occurrences"][0]["nodes"] == ["n1"]
    # Once the window has passed, the next alarm books again.
    time.sleep(2.1)
    post_alarms(alarm_client, token, ex["id"], (5, "rtt_ms > 200", 270.0))
    wait_until(lambda: len(runs(alarm_client)) == 4, what="a fourth reaction run")
    assert runs(alarm_client)[-1][0] == "scheduled"
    assert len(trace_schedules(alarm_client)) == 2
    logs = alarm_client.get(f"/api/v1/executions/{ex['id']}/logs").json()
    assert sum("follow-up 'trace' scheduled on n1" in line["message"] for line in logs) == 2


def test_a_follow_up_the_scheduler_refuses_is_recorded(alarm_client, hook):
    reaction = {"scenario": "missing", "duration": 5}
    token, ex = start_watched(alarm_client, ["rtt_ms > 200"], reactions=[reaction])
    post_alarms(alarm_client, token, ex["id"], (1, "rtt_ms > 200", 300.0))
    wait_until(lambda: runs(alarm_client), what="a reaction run")
    assert runs(alarm_client) == [("refused", None)]
    logs = alarm_client.get(f"/api/v1/executions/{ex['id']}/logs").json()
    assert any("follow-up 'missing' on n1 refused: no scenario 'missing'" in line["message"]
               for line in logs)
