"""The audit log: one row per admin action and per refused admin attempt, none for failed
actions; filters and paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.core.conftest import enrol, user_token

API = "/api/v1"


def _audit(client, **params) -> list[dict]:
    r = client.get(f"{API}/audit", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _admin_actions(client) -> None:
    enrol(client, "n1")  # node_token.create
    assert client.post(f"{API}/users", json={"name": "ann"}).status_code == 201
    token = client.post(f"{API}/tokens", json={"user": "ann", "scopes": ["read"]}).json()
    assert client.delete(f"{API}/tokens/{token['id']}").status_code == 204
    assert client.patch(f"{API}/nodes/n1", json={"status": "maintenance",
                                                 "reason": "disk"}).status_code == 200
    assert client.put(f"{API}/quotas/ann", json={"node_seconds_limit": 60}).status_code == 200


def test_every_admin_action_leaves_one_row(app_client):
    _admin_actions(app_client)
    rows = _audit(app_client)
    assert [r["action"] for r in rows] == ["quota.set", "node.status", "token.revoke",
                                           "token.create", "user.create", "node_token.create"]
    assert {r["actor"] for r in rows} == {"admin"}
    assert all(r["address"] == "testclient" and r["token_id"] for r in rows)
    by_action = {r["action"]: r for r in rows}
    assert by_action["node.status"]["target"] == "n1"
    assert by_action["node.status"]["outcome"] == "active -> maintenance"
    assert by_action["token.create"]["outcome"].startswith("scopes=read ")
    assert by_action["user.create"]["target"] == "ann"
    assert "node_seconds_limit=60" in by_action["quota.set"]["outcome"]


def test_failed_actions_leave_no_row(app_client):
    before = len(_audit(app_client))
    assert app_client.post(f"{API}/users", json={"name": "admin"}).status_code == 409
    assert app_client.delete(f"{API}/tokens/9999").status_code == 404
    assert app_client.put(f"{API}/quotas/nobody", json={}).status_code == 404
    assert app_client.patch(f"{API}/nodes/nowhere", json={"status": "active"}).status_code == 404
    assert len(_audit(app_client)) == before


def test_refused_admin_attempts_are_kept(app_client):
    bob = user_token(app_client, "bob")
    bob_h = {"Authorization": f"Bearer {bob}"}
    assert app_client.post(f"{API}/users", json={"name": "eve"}, headers=bob_h).status_code == 403
    assert app_client.get(f"{API}/audit", headers=bob_h).status_code == 403
    # An admin's token without the admin scope is refused, and kept, too.
    weak = app_client.post(f"{API}/tokens", json={"user": "admin", "scopes": ["read"]}).json()
    weak_h = {"Authorization": f"Bearer {weak['token']}"}
    assert app_client.put(f"{API}/quotas/bob", json={"node_seconds_limit": 1},
                          headers=weak_h).status_code == 403
    # Not an admin route: refused, but nothing for the audit log.
    assert app_client.post(f"{API}/agent/register", json={}, headers=bob_h).status_code == 403
    refused = _audit(app_client, action="refused")
    assert [(r["actor"], r["target"]) for r in refused] == [
        ("admin", "PUT /api/v1/quotas/bob"), ("bob", "GET /api/v1/audit"),
        ("bob", "POST /api/v1/users")]
    assert refused[0]["token_id"] == weak["id"] and refused[0]["address"] == "testclient"
    assert all(r["outcome"].startswith("refused: this route needs a token with the 'admin' "
                                       "scope") for r in refused)
    quotas = {q["user"]: q for q in app_client.get(f"{API}/quotas").json()}
    assert "eve" not in quotas and quotas["bob"]["node_seconds_limit"] != 1  # nothing happened


def test_filters_and_paging(app_client):
    _admin_actions(app_client)
    assert [r["action"] for r in _audit(app_client, action="token.create")] == ["token.create"]
    assert _audit(app_client, actor="nobody") == []
    assert len(_audit(app_client, target="n1")) == 1
    first = _audit(app_client, limit=2)
    second = _audit(app_client, limit=2, before_id=first[-1]["id"])
    assert len(first) == len(second) == 2 and first[-1]["id"] > second[0]["id"]
    now = datetime.now(UTC)
    assert len(_audit(app_client, since=(now - timedelta(minutes=5)).isoformat())) == 6
    assert _audit(app_client, until=(now - timedelta(minutes=5)).isoformat()) == []
    r = app_client.get(f"{API}/audit", params={"limit": 0})
    assert r.status_code == 422 and r.json()["problems"][0]["pointer"] == "query:limit"
