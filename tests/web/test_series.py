"""Chart data reduced in the database (SQLite and PostgreSQL), only for who may see it."""

from __future__ import annotations

import pytest

from tests.core.conftest import user_token
from tests.web.conftest import execution_with
from vantagepoint.core.websession import COOKIE

VALUES = [float(v % 10) for v in range(100)]  # ts 1000..1099, one per second


def _series(client, ex, points, **params):
    q = {"node": "n1", "action": "a", "name": "rtt_ms", "points": points, **params}
    r = client.get(f"/ui/executions/{ex}/series", params=q)
    assert r.status_code == 200, r.text
    return r.json()


def test_buckets_keep_every_value_and_its_extremes(app_client):
    ex = execution_with(app_client, VALUES)
    data = _series(app_client, ex, 10)
    assert data["count"] == 100
    assert 10 <= len(data["ts"]) <= 11  # the last value opens a bucket of its own
    assert min(data["min"]) == 0 and max(data["max"]) == 9
    assert data["ts"][0] == 1000 and data["ts"] == sorted(data["ts"])
    first = VALUES[:10]
    assert data["mean"][0] == pytest.approx(sum(first) / len(first))


def test_few_values_come_back_whole(app_client):
    ex = execution_with(app_client, [3.0, 1.0, 2.0])
    data = _series(app_client, ex, 600)
    assert data["mean"] == [3.0, 1.0, 2.0] and data["count"] == 3


def test_cdf_is_monotone_and_ends_at_one(app_client):
    ex = execution_with(app_client, VALUES)
    r = app_client.get(f"/ui/executions/{ex}/cdf",
                       params={"node": "n1", "action": "a", "name": "rtt_ms", "points": 10})
    cdf = r.json()
    assert cdf["count"] == 100 and cdf["fraction"][-1] == 1.0
    assert cdf["value"] == sorted(cdf["value"]) and cdf["value"][-1] == 9
    assert cdf["fraction"] == sorted(cdf["fraction"]) and len(cdf["value"]) <= 11


def test_stats_per_node_and_action(app_client):
    ex = execution_with(app_client, VALUES)
    [row] = app_client.get(f"/ui/executions/{ex}/stats").json()
    assert (row["node"], row["action"], row["name"], row["numeric"]) == ("n1", "a", "rtt_ms",
                                                                        100)
    assert (row["min"], row["max"]) == (0, 9) and row["mean"] == pytest.approx(4.5)


def test_another_user_gets_nothing(app_client):
    ex = execution_with(app_client, VALUES)
    eve = user_token(app_client, "eve")
    app_client.headers.pop("Authorization")
    app_client.cookies.set(COOKIE, eve)  # eve's browser session
    for path in (f"/ui/executions/{ex}/series?node=n1&action=a&name=rtt_ms",
                 f"/ui/executions/{ex}/cdf?node=n1&action=a&name=rtt_ms",
                 f"/ui/executions/{ex}/stats", f"/executions/{ex}",
                 f"/executions/{ex}/results.csv"):
        assert app_client.get(path).status_code == 404, path
    assert f"#{ex}" not in app_client.get("/executions").text
    rtt = app_client.get("/ui/nodes/n1/rtt?since=0&until=2000").json()
    assert rtt["series"] == {}  # an execution's RTT is not the node's background ping
