"""Two core processes on one database race for the same slot: exactly one wins."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import start_core

pytestmark = pytest.mark.integration


@pytest.fixture
def cores(database_url, tmp_path):
    """Two core processes on one database, with node n1 and scenario rtt stored."""
    dirs = [tmp_path / "core0", tmp_path / "core1"]
    for d in dirs:
        d.mkdir()
    started = [start_core(database_url, d) for d in dirs]
    try:
        _prepare(started[0])
        yield started
    finally:
        for core in started:
            core.proc.stop()


def test_two_cores_racing_for_one_slot(cores):
    base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    for round_ in range(8):
        start = (base + timedelta(hours=round_)).isoformat()
        codes = _race(cores, {"scenario": "rtt", "mode": "at", "start": start,
                              "duration": 1800})
        assert sorted(codes) == [201, 409], f"round {round_}: {codes}"
    with cores[1].client() as c:
        calendar = c.get("/api/v1/calendar", params={
            "start": base.isoformat(), "end": (base + timedelta(days=1)).isoformat()}).json()
    assert len(calendar) == 8


def _prepare(core) -> None:
    token = core.node_token("n1")
    tool = {"name": "probe", "version": "1.0", "results": [{"name": "v"}]}
    with core.client(token) as node:
        node.post("/api/v1/agent/register", json={"name": "n1", "tools": [tool]}
                  ).raise_for_status()
    doc = {"name": "rtt", "tasks": [{"name": "t", "actions": [
        {"name": "a", "node": "n1", "tool": "probe"}]}]}
    with core.client() as c:
        c.put("/api/v1/scenarios/rtt", json=doc).raise_for_status()


def _race(cores, body) -> list[int]:
    barrier, codes = threading.Barrier(len(cores)), []

    def post(core):
        with core.client() as c:
            barrier.wait()
            codes.append(c.post("/api/v1/schedules", json=body).status_code)

    threads = [threading.Thread(target=post, args=(core,)) for core in cores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return codes


def test_each_core_sees_the_others_bookings_and_cancels(cores):
    """Core processes keep calendars in memory: a change by the other must still count."""
    base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)

    def post(core, hours: int) -> tuple[int, dict]:
        body = {"scenario": "rtt", "mode": "at", "duration": 1800,
                "start": (base + timedelta(hours=hours)).isoformat()}
        with core.client() as c:
            r = c.post("/api/v1/schedules", json=body)
            return r.status_code, r.json()

    assert post(cores[0], 0)[0] == 201  # core 0 has read this day of n1's calendar
    code, theirs = post(cores[1], 2)
    assert code == 201
    code, refused = post(cores[0], 2)
    assert code == 409 and f"schedule {theirs['id']}" in str(refused["problems"])
    with cores[1].client() as c:
        c.delete(f"/api/v1/schedules/{theirs['id']}").raise_for_status()
    assert post(cores[0], 2)[0] == 201  # the canceled slot is free again for core 0
