"""The client over a mock transport: resolution, auth header, errors, pagination."""

import json

import httpx
import pytest

from vantagepoint.client import Client, Invalid, NotFound, Scenario, Unauthorized, VantageError


def _client(handler, **kwargs) -> Client:
    kwargs.setdefault("token", "secret")
    return Client("http://core.test", transport=httpx.MockTransport(handler), **kwargs)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("VANTAGE_URL", raising=False)
    monkeypatch.delenv("VANTAGE_TOKEN", raising=False)


def test_url_and_token_come_from_args_then_env_then_data_dir(tmp_path, monkeypatch):
    (tmp_path / "url").write_text("http://up.test:9000\n")
    (tmp_path / "admin-token").write_text("from-file\n")
    assert Client(data_dir=tmp_path).url == "http://up.test:9000"
    assert Client(data_dir=tmp_path / "none").url == "http://127.0.0.1:8080"
    monkeypatch.setenv("VANTAGE_URL", "http://env.test/api/v1/")
    assert Client(data_dir=tmp_path).url == "http://env.test"
    assert Client("http://arg.test", data_dir=tmp_path).url == "http://arg.test"

    seen = []
    transport = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200, json=[]))
    Client(data_dir=tmp_path, transport=transport).scenarios()
    assert seen[0].headers["Authorization"] == "Bearer from-file"
    assert str(seen[0].url) == "http://env.test/api/v1/scenarios"


def test_a_missing_token_says_how_to_get_one(tmp_path):
    client = Client("http://core.test", data_dir=tmp_path)
    with pytest.raises(Unauthorized, match="vantage up"):
        client.nodes()


def test_error_bodies_become_the_matching_error_with_problems():
    body = {"error": "invalid", "message": "2 problems",
            "problems": [{"pointer": "/name", "message": "bad"},
                         {"pointer": "/tasks/0", "message": "worse"}]}
    client = _client(lambda r: httpx.Response(422, json=body))
    with pytest.raises(Invalid) as err:
        client.submit(Scenario("x"))
    assert [p.pointer for p in err.value.problems] == ["/name", "/tasks/0"]


def test_foreign_error_bodies_still_map_by_status():
    client = _client(lambda r: httpx.Response(404, json={"detail": "Not Found"}))
    with pytest.raises(NotFound, match="Not Found"):
        client.scenario("x")
    client = _client(lambda r: httpx.Response(502, text="bad gateway"))
    with pytest.raises(VantageError):
        client.scenarios()


def test_results_follow_every_page():
    pages = {None: ([1, 2], 2), "2": ([3], None)}

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["execution"] == "7"
        ids, cursor = pages[request.url.params.get("cursor")]
        items = [{"id": i, "execution": 7, "node": "n", "action": "a", "name": "rtt_ms",
                  "ts": 1.0, "value": 0.1} for i in ids]
        return httpx.Response(200, json={"items": items, "next_cursor": cursor})

    assert [r["id"] for r in _client(handler).results(execution=7)] == [1, 2, 3]


def test_start_submits_a_builder_then_waits_for_a_final_state():
    states = iter(["running", "finished"])
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((request.method, request.url.path))
        if request.method == "PUT":
            return httpx.Response(200, json={"name": "rtt"})
        if request.method == "POST":
            assert json.loads(request.content) == {"scenario": "rtt", "duration": 5}
            return httpx.Response(201, json={"id": 3, "state": "queued", "scenario": "rtt"})
        return httpx.Response(200, json={"id": 3, "state": next(states), "scenario": "rtt"})

    execution = _client(handler).start(Scenario("rtt"), 5).wait(poll=0)
    assert execution.done and execution.state == "finished"
    assert calls[:2] == [("PUT", "/api/v1/scenarios/rtt"), ("POST", "/api/v1/executions")]


def test_wait_times_out():
    client = _client(lambda r: httpx.Response(200, json={"id": 3, "state": "running"}))
    with pytest.raises(TimeoutError):
        client.execution(3).wait(timeout=0.05, poll=0.01)
