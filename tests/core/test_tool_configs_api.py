"""Every installed tool's bad config is refused at submission, before any execution.

The node registers the real tool catalog (every ``vantagepoint.tools`` entry
point); one scenario holds a bad config for each tool. The core must refuse it
whole with one problem per tool, each pointing into that action's config, and
store nothing, so nothing can be started.
"""

from __future__ import annotations

from tests.core.conftest import enrol
from vantagepoint.tools import load_tools

# tool -> (a config its schema refuses, the pointer under /config, words of the message)
BAD = {
    "ping": ({"target": "192.0.2.1", "interval": 0.001}, "/interval", "minimum"),
    "command": ({"argv": "ls -l"}, "/argv", "not of type 'array'"),
    "udp-owd": ({"role": "sender", "session": "s"}, "", "'target' is a required property"),
    "traceroute": ({"target": "192.0.2.1", "proto": "tcp"}, "/proto", "is not one of"),
    "dns": ({"name": "example.org", "type": "BOGUS"}, "/type", "is not one of"),
    "http-download": ({"url": "ftp://example.org/file"}, "/url", "does not match"),
    "throughput": ({"role": "client"}, "", "'server' is a required property"),
    "shaper": ({"rate_mbit": -5}, "/rate_mbit", "less than or equal to the minimum"),
    "capture": ({"count": 0, "file": "../escape.pcap"}, "/count", "minimum"),
    "snmp-get": ({"oids": []}, "/oids", "should be non-empty"),
    "ntp-status": ({"timeout": -1}, "/timeout", "minimum"),
    "experiment": ({"argv": ["/bin/true"], "program": "latest"}, "/program", "does not match"),
}


def _scenario(tools: list[str]) -> dict:
    actions = [{"name": f"a{i}", "node": "n1", "tool": tool, "config": BAD[tool][0]}
               for i, tool in enumerate(tools)]
    return {"name": "bad-configs", "tasks": [{"name": "t", "actions": actions}]}


def test_every_installed_tool_has_a_bad_config_here():
    installed = {name for name, _ in load_tools().tools}
    assert installed <= set(BAD), f"add a bad config for {sorted(installed - set(BAD))}"


def test_each_tools_bad_config_is_refused_with_a_pointer_and_nothing_runs(app_client):
    registry = load_tools()
    enrol(app_client, "n1", tools=registry.infos())
    tools = sorted({name for name, _ in registry.tools})
    r = app_client.put("/api/v1/scenarios/bad-configs", json=_scenario(tools))
    assert r.status_code == 422, r.text
    problems = r.json()["problems"]
    for i, tool in enumerate(tools):
        _, under, words = BAD[tool]
        at = f"/tasks/0/actions/{i}/config{under}"
        found = [p["message"] for p in problems if p["pointer"] == at]
        assert any(words in m for m in found), (tool, at, problems)
    assert all(p["pointer"].startswith("/tasks/0/actions/") for p in problems)
    assert app_client.get("/api/v1/scenarios/bad-configs").status_code == 404
    started = app_client.post("/api/v1/executions", json={"scenario": "bad-configs",
                                                          "duration": 10})
    assert started.status_code in (404, 422)
    assert app_client.get("/api/v1/executions").json() == []
