"""The watchdog's decisions: restart a failing service, give up to maintenance, resume."""

from __future__ import annotations

import httpx

from vantagepoint.agent.client import CoreClient
from vantagepoint.agent.streams import StreamSpool
from vantagepoint.agent.watchdog import Check, Watchdog
from vantagepoint.config import AgentSettings


class Service:
    def __init__(self):
        self.broken, self.restarts = False, 0

    def problem(self):
        return "it is broken" if self.broken else None

    def restart(self):
        self.restarts += 1
        self.broken = False


def _core(status: dict):
    """A core answering the two maintenance routes over an in-memory transport."""
    calls = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.endswith("/agent/maintenance"):
            status["status"] = "maintenance"
        return httpx.Response(200, json=status)
    settings = AgentSettings(core_url="http://core", token="t", name="n1")
    return CoreClient(settings, transport=httpx.MockTransport(handle)), calls


def test_a_failing_service_is_restarted_until_too_many_failures():
    service, events, status = Service(), [], {"status": "active", "reason": None}
    client, calls = _core(status)
    dog = Watchdog([Check("svc", service.problem, service.restart)], client,
                   lambda kind, message: events.append(kind), period=1, failures=3, window=60)
    dog.tick()
    assert service.restarts == 0 and events == []
    for expected in (1, 2):
        service.broken = True
        dog.tick()
        assert service.restarts == expected and dog.maintenance is None
    service.broken = True
    dog.tick()
    assert service.restarts == 2 and "failed 3 times" in dog.maintenance
    assert events == ["Watchdog.Failed", "Watchdog.Repaired"] * 2 + ["Maintenance.Start"]
    assert calls == ["/api/v1/agent/maintenance"]

    dog.tick()  # still in maintenance at the core
    assert dog.maintenance is not None
    status["status"] = "active"  # an admin resumed the node
    dog.tick()
    assert dog.maintenance is None and events[-2:] == ["Maintenance.Stop", "Watchdog.Repaired"]
    assert service.restarts == 3  # repaired on the way out


def test_a_stream_spool_survives_reopening(tmp_path):
    spool = StreamSpool(tmp_path / "spool.db")
    spool.add_metadata("MONROE.META.NODE.EVENT", 1.0, {"SequenceNumber": 1})
    spool.reopen()
    spool.add_background("background-ping.op0", "rtt_ms", 2.0, 0.5)
    assert [r.kind for r in spool.pending()] == ["metadata", "background"]
    spool.mark_uploaded([1])
    assert spool.pending_count() == 1
    stream_id = spool.spool_id
    spool.close()
    assert StreamSpool(tmp_path / "spool.db").spool_id == stream_id
