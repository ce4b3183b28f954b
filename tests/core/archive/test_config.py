"""VANTAGE_ARCHIVERS is validated whole, each problem with its pointer."""

from __future__ import annotations

import pytest

from vantagepoint.core.archive import load_archivers
from vantagepoint.errors import Invalid


def problems(raw) -> dict[str, str]:
    with pytest.raises(Invalid) as caught:
        load_archivers(raw)
    assert caught.value.message == "VANTAGE_ARCHIVERS is not valid"
    return {p.pointer: p.message for p in caught.value.problems}


def test_every_kind_loads_with_defaults_and_fills_topic_and_shape():
    loaded = load_archivers([
        {"name": "m", "kind": "mqtt"}, {"name": "r", "kind": "rabbitmq"},
        {"name": "n", "kind": "nats"},
        {"name": "h", "kind": "http", "options": {"url": "https://example.invalid/x"},
         "shape": {"v": "value", "who": "node"}, "topic": "x.{node}"}])
    record = {"key": "a.b/s/1", "execution_id": 3, "node": "a.b", "action": "p", "name": "rtt",
              "ts": 1.0, "value": 2.5}
    assert loaded[0].topic(record) == "vantagepoint/results/a_b/p/rtt"
    assert loaded[3].topic(record) == "x.a_b"
    assert loaded[3].payload(record) == {"v": 2.5, "who": "a.b"}
    assert loaded[1].payload(record) == {k: v for k, v in record.items() if k != "key"}


def test_all_problems_reported_with_pointers():
    found = problems([
        {"name": "m", "kind": "mqtt", "options": {"port": 0, "bogus": 1}},
        {"name": "z", "kind": "carrier-pigeon"},
        {"name": "h", "kind": "http", "options": {}},
        {"name": "s", "kind": "http", "options": {"url": "http://x"}, "shape": {"a": "nope"}},
        {"name": "t", "kind": "mqtt", "topic": "{oops}"},
        {"name": "m", "kind": "nats"},
        {"name": "r", "kind": "nats", "retry": {"max_attempts": 0}, "ttl_seconds": -1}])
    assert "greater than or equal to 1" in found["/0/options/port"]
    assert found["/0/options/bogus"] == "unknown field"
    assert "no archiver kind 'carrier-pigeon'" in found["/1/kind"]
    assert "/2/options/url" in found
    assert "unknown result field" in found["/3/shape"]
    assert "bad template" in found["/4/topic"]
    assert "used twice" in found["/5/name"]
    assert {"/6/retry/max_attempts", "/6/ttl_seconds"} <= set(found)


def test_retry_backs_off_exponentially_up_to_the_cap():
    (archiver,) = load_archivers([{"name": "h", "kind": "http",
                                   "options": {"url": "http://x"},
                                   "retry": {"backoff_seconds": 2, "backoff_max_seconds": 10}}])
    assert [archiver.config.retry.delay(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 10]
