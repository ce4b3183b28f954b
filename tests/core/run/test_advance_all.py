"""The coordinator's tick steps an execution again only when its row or parts changed, or
when the clock reaches one of its deadlines: changes made anywhere are still acted on."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import create_engine, text

from tests.core.conftest import enrol, scenario
from tests.support import wait_until
from vantagepoint.core.run import coordinator
from vantagepoint.core.store.types import utcnow


def _execution(client, nodes=("n1", "n2"), duration: float = 30) -> int:
    tokens = {n: enrol(client, n) for n in nodes}
    doc = scenario("pair")
    first = doc["tasks"][0]["actions"][0]
    doc["tasks"][0]["actions"] = [{**first, "name": f"a{i}", "node": n}
                                  for i, n in enumerate(nodes)]
    assert client.put("/api/v1/scenarios/pair", json=doc).status_code == 200
    r = client.post("/api/v1/executions", json={"scenario": "pair", "duration": duration})
    assert r.status_code == 201, r.text
    ex = r.json()["id"]
    wait_until(lambda: client.get("/api/v1/agent/assignments",
                                  headers={"Authorization": f"Bearer {tokens[nodes[0]]}"}).json(),
               what="the execution offered")
    return ex


def _state(client, ex: int) -> str:
    return client.get(f"/api/v1/executions/{ex}").json()["state"]


def _sql(database_url: str, statement: str, **params) -> None:
    engine = create_engine(database_url)  # as another core process would, without a step
    with engine.begin() as c:
        c.execute(text(statement), params)
    engine.dispose()


def test_parts_changed_elsewhere_are_acted_on_at_the_next_tick(app_client, database_url):
    ex = _execution(app_client)
    time.sleep(0.3)  # a few ticks with nothing to do: the execution is remembered unchanged
    began = time.monotonic()
    _sql(database_url, "UPDATE execution_nodes SET state = 'ready' WHERE execution_id = :e", e=ex)
    wait_until(lambda: _state(app_client, ex) in ("ready", "running"), timeout=10,
               what="the barrier passed")
    assert time.monotonic() - began < 5  # well before any backstop


def test_a_deadline_is_acted_on_with_nothing_changed(app_client, database_url):
    ex = _execution(app_client)
    time.sleep(0.3)
    # The start moved back past the ready timeout: a change to the row, then the deadline.
    past = utcnow() - timedelta(hours=2)
    _sql(database_url, "UPDATE executions SET start_at = :t WHERE id = :e", t=past, e=ex)
    wait_until(lambda: _state(app_client, ex) == "failed", timeout=10,
               what="the execution failed: not ready in time")


def test_the_due_time_is_the_first_deadline_ahead(core_settings):
    core_settings = core_settings.model_copy(update={"end_grace_seconds": 2.0})
    now = utcnow()
    start = now + timedelta(seconds=core_settings.deploy_ahead_seconds + 2)
    queued = ("queued", start, None, 30.0, ("assigned", 2, now))
    assert coordinator._due(queued, core_settings, now) == now + timedelta(seconds=2)  # deploy
    later = ("queued", start + timedelta(hours=1), None, 30.0, ("assigned", 2, now))
    backstop = (coordinator._due(later, core_settings, now) - now).total_seconds()
    assert coordinator.BACKSTOP_SECONDS / 2 <= backstop <= coordinator.BACKSTOP_SECONDS
    running = ("running", now - timedelta(seconds=60), now - timedelta(seconds=29), 30.0)
    end = now + timedelta(seconds=1 + core_settings.end_grace_seconds)
    assert end < now + timedelta(seconds=coordinator.BACKSTOP_SECONDS / 2)
    assert coordinator._due(running, core_settings, now) == end
