"""`vantage watch` follows the live stream of a real core in the terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.support import ADMIN_TOKEN

pytestmark = pytest.mark.integration


def _register(core, node: str) -> None:
    token = core.node_token(node)
    with core.client(token) as c:
        c.post("/api/v1/agent/register", json={"name": node}).raise_for_status()


def _watch(core, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "vantagepoint.cli.main", "watch", *args,
                             "--url", core.url, "--token", ADMIN_TOKEN],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})


@pytest.mark.parametrize("as_json", [True, False])
def test_watch_shows_node_status_changes(core, as_json):
    _register(core, "n1")
    _register(core, "n2")
    proc = _watch(core, "--kind", "node", "--node", "n2", "--count", "1",
                  *(["--json"] if as_json else []))
    try:
        with core.client() as c:
            # Changes made before the command has connected are not streamed: toggle until
            # it has seen one (n1's changes must be filtered out).
            for status in ["disabled", "active"] * 30:
                c.patch("/api/v1/nodes/n1", json={"status": "maintenance"}).raise_for_status()
                c.patch("/api/v1/nodes/n2", json={"status": status,
                                                  "reason": "moved"}).raise_for_status()
                if proc.poll() is not None:
                    break
                time.sleep(1)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    if as_json:
        event = json.loads(out)
        assert (event["kind"], event["node"]) == ("node", "n2")
        assert event["data"]["status"] in ("disabled", "active")
    else:
        assert "node" in out and "n2" in out and "n1" not in out


def test_watch_refuses_an_unknown_kind(core):
    proc = _watch(core, "--kind", "metrics")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "unknown kind(s) metrics" in err
