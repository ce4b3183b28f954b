"""The spool's disk reserve, the watchdog's disk condition and the heartbeat's clock event."""

from __future__ import annotations

import sqlite3
import time

import httpx

from tests.unit.agent.test_watchdog import Service, _core
from vantagepoint.agent.client import CoreClient
from vantagepoint.agent.diskspace import CHECK_SECONDS, disk_full_error
from vantagepoint.agent.spool import Spool
from vantagepoint.agent.streams import StreamSpool
from vantagepoint.agent.uploader import Heartbeat
from vantagepoint.agent.watchdog import Check, Watchdog
from vantagepoint.config import AgentSettings

HUGE = 2**62  # more free space than any disk has: the reserve is never met


def _messages(spool: Spool) -> list[str]:
    return [r.message for r in spool.records() if r.kind == "log"]


def test_below_the_reserve_results_are_refused_said_once_then_accepted_again(tmp_path):
    spool = Spool(tmp_path / "spool.db", min_free_bytes=HUGE)
    assert spool.add_result(1, "a", "rtt_ms", 1.0) is None
    assert spool.add_result(1, "a", "rtt_ms", 2.0) is None
    assert spool.refused_full == 2
    assert [r for r in spool.records() if r.kind == "result"] == []
    [said] = _messages(spool)
    assert said.startswith("disk full:") and "refused until space is freed" in said
    spool.space.min_free = 0  # space freed
    time.sleep(CHECK_SECONDS)
    assert spool.add_result(1, "a", "rtt_ms", 3.0) is not None
    assert _messages(spool)[-1].startswith("disk space is back")
    assert [r.value for r in spool.records() if r.kind == "result"] == [3.0]


def test_background_results_are_refused_below_the_reserve_metadata_is_not(tmp_path):
    stream = StreamSpool(tmp_path / "spool.db", min_free_bytes=HUGE)
    assert stream.add_background("background-ping.op0", "rtt_ms", time.time(), 1.0) is None
    assert stream.add_metadata("MONROE.META.NODE.EVENT", time.time(), {"EventType": "x"})
    assert stream.refused_full == 1 and stream.rows("background") == []


def test_no_reserve_means_no_guard(tmp_path):
    spool = Spool(tmp_path / "spool.db")
    assert spool.add_result(1, "a", "rtt_ms", 1.0) is not None


def test_sqlite_full_errors_are_recognised():
    assert disk_full_error(sqlite3.OperationalError("database or disk is full"))
    assert not disk_full_error(sqlite3.OperationalError("database is locked"))


def test_a_condition_raises_its_events_once_and_never_leads_to_maintenance():
    service, events = Service(), []
    client, calls = _core({"status": "active", "reason": None})
    check = Check("disk", service.problem, lambda: None, condition=("Disk.Full", "Disk.Ok"))
    dog = Watchdog([check], client, lambda kind, message: events.append(kind),
                   period=1, failures=2, window=60)
    service.broken = True
    for _ in range(5):
        dog.tick()
    assert events == ["Disk.Full"] and dog.maintenance is None and calls == []
    service.broken = False
    dog.tick()
    dog.tick()
    assert events == ["Disk.Full", "Disk.Ok"]


def test_the_heartbeat_raises_clock_skew_once_and_synced_when_right():
    offset = {"s": 5.0}

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"server_time": time.time() + offset["s"]})

    settings = AgentSettings(core_url="http://core", token="t", name="n1")
    client = CoreClient(settings, transport=httpx.MockTransport(handle))
    events = []
    beat = Heartbeat(client, 1.0, lambda: None, event=lambda k, m: events.append((k, m)))
    beat.tick()
    beat.tick()
    assert [k for k, _ in events] == ["Clock.Skew"] and "behind the core's" in events[0][1]
    offset["s"] = 0.0
    beat.tick()
    assert [k for k, _ in events] == ["Clock.Skew", "Clock.Synced"]
