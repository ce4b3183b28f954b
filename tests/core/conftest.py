"""In-process core (real app, real database) for API tests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support import ADMIN_TOKEN
from vantagepoint.core import create_app
from vantagepoint.spec.tools import ResultSpec, ToolInfo

PROBE = ToolInfo(
    name="probe", version="1.0",
    config_schema={
        "type": "object", "additionalProperties": False, "required": ["target"],
        "properties": {"target": {"type": "string"},
                       "count": {"type": "integer", "minimum": 1}},
    },
    results=[ResultSpec(name="rtt_ms", unit="ms"),
             ResultSpec(name="sent", type="integer", conditionable=False)],
)


@pytest.fixture
def app_client(core_settings):
    with TestClient(create_app(core_settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield client


def enrol(client: TestClient, node: str, tools=(PROBE,), interfaces=("op0",)) -> str:
    """Issue a node token and register the node with the given tools; return the token."""
    token = client.post("/api/v1/node-tokens", json={"node": node}).json()["token"]
    body = {"name": node, "interfaces": [{"name": i} for i in interfaces],
            "tools": [t.model_dump(mode="json") for t in tools]}
    r = client.post("/api/v1/agent/register", json=body,
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return token


def user_token(client: TestClient, name: str) -> str:
    assert client.post("/api/v1/users", json={"name": name}).status_code == 201
    r = client.post("/api/v1/tokens", json={"user": name, "label": "test"})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def scenario(name: str = "rtt", node: str = "n1", **action) -> dict:
    base = {"name": "a", "node": node, "tool": "probe", "config": {"target": "127.0.0.1"},
            "results": ["rtt_ms"]}
    return {"name": name, "tasks": [{"name": "t", "actions": [{**base, **action}]}]}
