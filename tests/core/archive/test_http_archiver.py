"""The http archiver against a real HTTP server: filter, shape, retry, time-to-live."""

from __future__ import annotations

from tests.core.archive.support import Receiver, status, upload, wait_status
from tests.support import free_port, wait_until


def http(name: str, url: str, **extra) -> dict:
    return {"name": name, "kind": "http", "options": {"url": url, "timeout_seconds": 2},
            **extra}


def test_filter_and_shape_per_archiver(archiving):
    everything, only_sent = Receiver(), Receiver()
    try:
        client = archiving(http("all", everything.url),
                           http("sent", only_sent.url, filter={"names": ["se*"]},
                                shape={"n": "node", "v": "value", "id": "key"}))
        ex_id = upload(client, 5, names=("rtt_ms", "sent"))
        wait_status(client, "all", "10 delivered", delivered=10, backlog=0)
        wait_status(client, "sent", "5 delivered", delivered=5, backlog=0)
    finally:
        everything.close()
        only_sent.close()
    assert sorted(everything.keys()) == sorted(f"n1/spool-aaaa/{i}" for i in range(1, 11))
    first = next(m for m in everything.messages if m["key"] == "n1/spool-aaaa/1")
    assert first["payload"] == {"execution_id": ex_id, "node": "n1", "action": "a",
                                "name": "rtt_ms", "ts": 1000.0, "value": 0.0}
    assert first["topic"] == "vantagepoint.results.n1.a.rtt_ms"
    assert sorted(m["payload"]["v"] for m in only_sent.messages) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert {m["payload"]["id"] for m in only_sent.messages} == set(only_sent.keys())


def test_retried_until_the_endpoint_comes_back(archiving):
    port = free_port()
    client = archiving(http("later", f"http://127.0.0.1:{port}/ingest",
                            retry={"backoff_seconds": 0.2, "backoff_max_seconds": 0.5}))
    upload(client, 7)
    down = wait_status(client, "later", "failed attempts", failures=lambda n: n >= 2)
    assert down["backlog"] == 7 and down["delivered"] == 0
    assert "ConnectError" in down["last_error"]
    failing = Receiver(port, status=503)
    try:
        wait_status(client, "later", "a 503 answer", last_error=lambda e: "503" in e)
        assert failing.messages == [] and status(client, "later")["backlog"] == 7
        failing.status = 200
        done = wait_status(client, "later", "the backlog delivered", delivered=7, backlog=0)
    finally:
        failing.close()
    assert sorted(failing.keys()) == sorted(f"n1/spool-aaaa/{i}" for i in range(1, 8))
    assert done["attempts"] == done["failures"] + 1


def test_results_that_outlive_their_ttl_are_dropped_and_counted(archiving):
    client = archiving(http("short", f"http://127.0.0.1:{free_port()}/x", ttl_seconds=1,
                            retry={"backoff_seconds": 0.2}))
    upload(client, 4)
    gone = wait_status(client, "short", "4 expired", expired=4, backlog=0)
    assert gone["delivered"] == 0 and gone["failures"] >= 1


def test_out_of_attempts_is_dropped_and_counted(archiving):
    client = archiving(http("twice", f"http://127.0.0.1:{free_port()}/x",
                            retry={"max_attempts": 2, "backoff_seconds": 0.1}))
    upload(client, 3)
    gone = wait_status(client, "twice", "3 dropped", dropped=3, backlog=0)
    assert gone["failures"] == 2 and gone["delivered"] == 0


def test_reuploaded_batch_is_not_queued_twice(archiving):
    port = free_port()
    client = archiving(http("dup", f"http://127.0.0.1:{port}/x",
                            retry={"backoff_seconds": 0.1, "backoff_max_seconds": 0.2}))
    upload(client, 3)
    token = client.post("/api/v1/node-tokens", json={"node": "n1"}).json()["token"]
    ex_id = client.get("/api/v1/executions").json()[0]["id"]
    # A re-upload from the spool: the same records, each with the ts it had.
    records = [{"kind": "result", "seq": i, "execution_id": ex_id, "action": "a",
                "name": "rtt_ms", "ts": 1000.0 + i - 1, "value": 1.0} for i in (1, 2, 3)]
    batch = {"spool_id": "spool-aaaa", "records": records}
    again = client.post("/api/v1/agent/records", json=batch,
                        headers={"Authorization": f"Bearer {token}"})
    assert again.json()["stored"] == 0
    assert status(client, "dup")["backlog"] == 3
    receiver = Receiver(port)
    try:
        wait_until(lambda: status(client, "dup")["delivered"] == 3, what="delivery")
    finally:
        receiver.close()
    assert sorted(receiver.keys()) == [f"n1/spool-aaaa/{i}" for i in (1, 2, 3)]


def test_archivers_route_is_for_admins(archiving):
    client = archiving()
    assert client.get("/api/v1/admin/archivers").json() == []
    assert client.get("/api/v1/admin/archivers",
                      headers={"Authorization": ""}).status_code == 401
