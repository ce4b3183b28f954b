"""Token scopes and expiry: each scope is refused on a route of another scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from tests.core.conftest import enrol, scenario

API = "/api/v1"


def _token(client, **body) -> str:
    r = client.post(f"{API}/tokens", json=body)
    assert r.status_code == 201, r.text
    return r.json()["token"]


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# One route of each scope (method, path, body).
READ_ROUTE = ("GET", f"{API}/executions", None)
SCHEDULE_ROUTE = ("PUT", f"{API}/scenarios/rtt", scenario())
ADMIN_ROUTE = ("GET", f"{API}/users", None)
NODE_ROUTE = ("GET", f"{API}/agent/assignments", None)


def _call(client, route, token):
    method, path, body = route
    return client.request(method, path, json=body, headers=_as(token))


def test_each_scope_is_refused_on_the_routes_of_the_others(app_client):
    enrol(app_client, "n1")
    node = app_client.post(f"{API}/node-tokens", json={"node": "n1"}).json()["token"]
    tokens = {scope: _token(app_client, scopes=[scope]) for scope in ("read", "schedule",
                                                                       "admin")}
    tokens["node"] = node
    routes = {"read": READ_ROUTE, "schedule": SCHEDULE_ROUTE, "admin": ADMIN_ROUTE,
              "node": NODE_ROUTE}
    for held, token in tokens.items():
        for needed, route in routes.items():
            r = _call(app_client, route, token)
            if held == needed:
                assert r.status_code in (200, 201), (held, needed, r.text)
            else:
                assert r.status_code == 403, (held, needed, r.text)
                if held != "node" and needed != "node":
                    assert f"'{needed}' scope" in r.json()["message"]


def test_a_token_never_gets_more_than_its_owner_or_its_creator(app_client):
    assert app_client.post(f"{API}/users", json={"name": "bob"}).status_code == 201
    r = app_client.post(f"{API}/tokens", json={"user": "bob", "scopes": ["admin"]})
    assert r.status_code == 422 and "admin" in r.json()["problems"][0]["message"]
    read_only = _token(app_client, user="bob", scopes=["read"])
    r = app_client.post(f"{API}/tokens", json={"scopes": ["schedule"]}, headers=_as(read_only))
    assert r.status_code == 422, r.text
    r = app_client.post(f"{API}/tokens", json={}, headers=_as(read_only))
    assert r.status_code == 201 and r.json()["scopes"] == ["read"]
    assert _token(app_client, user="bob")  # default: the role's scopes
    listed = app_client.get(f"{API}/tokens").json()
    assert {tuple(t["scopes"]) for t in listed if t["user"] == "bob"} == {
        ("read",), ("read", "schedule")}
    r = app_client.post(f"{API}/tokens", json={"scopes": ["node"]})
    assert r.status_code == 422


def test_an_expired_token_gets_401_saying_it_expired(app_client, database_url):
    soon = datetime.now(UTC) + timedelta(hours=1)
    r = app_client.post(f"{API}/tokens", json={"expires_at": soon.isoformat()})
    assert r.status_code == 201
    secret, token_id = r.json()["token"], r.json()["id"]
    assert r.json()["expires_at"].startswith(soon.isoformat()[:19])
    assert app_client.get(f"{API}/users/me", headers=_as(secret)).status_code == 200
    engine = create_engine(database_url)
    with engine.begin() as c:  # time passes
        c.execute(text("UPDATE tokens SET expires_at = :t WHERE id = :i"),
                  {"t": datetime(2020, 1, 1), "i": token_id})
    engine.dispose()
    r = app_client.get(f"{API}/users/me", headers=_as(secret))
    assert r.status_code == 401 and "expired" in r.json()["message"], r.text
    r = app_client.post(f"{API}/tokens", json={"expires_at": "2020-01-01T00:00:00Z"})
    assert r.status_code == 422 and "past" in r.json()["problems"][0]["message"]


def test_a_child_token_cannot_outlive_its_parent(app_client):
    soon = datetime.now(UTC) + timedelta(hours=1)
    parent = _token(app_client, expires_at=soon.isoformat())
    later = (soon + timedelta(days=1)).isoformat()
    r = app_client.post(f"{API}/tokens", json={"expires_at": later}, headers=_as(parent))
    assert r.status_code == 422 and "outlive" in r.json()["problems"][0]["message"]
    r = app_client.post(f"{API}/tokens", json={}, headers=_as(parent))
    assert r.json()["expires_at"] is not None


@pytest.mark.parametrize("expires", ["2030-01-01T00:00:00", "soon"])
def test_a_bad_expiry_is_refused_naming_the_field(app_client, expires):
    r = app_client.post(f"{API}/tokens", json={"expires_at": expires})
    assert r.status_code == 422
    assert r.json()["problems"][0]["pointer"] == "/expires_at"
