"""Files stay in the node's result store and are fetched on demand."""

from __future__ import annotations

import hashlib

import pytest

from tests.support import wait_until
from vantagepoint.client import Scenario
from vantagepoint.errors import NotFound

pytestmark = pytest.mark.integration


def test_file_written_on_node_is_fetched_on_demand(core, client):
    core.start_agent("n1")
    wait_until(lambda: any(n.online for n in client.nodes()), timeout=60, what="n1")
    s = Scenario("files")
    s.task("t").action("make", node="n1", tool="command", results=["exit_status"], config={
        "argv": ["sh", "-c", "head -c 300000 /dev/urandom > blob.bin; sha256sum blob.bin"],
        "parse": [{"pattern": r"^(?P<sha>[0-9a-f]{64}) ", "types": {"sha": "string"}}]})
    client.submit(s)
    ex = client.start(s, duration=2).wait(timeout=60)
    assert ex.state == "finished", ex.reason
    sha = client.results(execution=ex.id, name="sha")[0]["value"]
    data = client.fetch_file(ex.id, "n1", "make", "blob.bin", timeout=30)
    assert len(data) == 300000 and hashlib.sha256(data).hexdigest() == sha
    with pytest.raises(NotFound, match="no file"):
        client.fetch_file(ex.id, "n1", "make", "missing.bin", timeout=30)
    with pytest.raises(NotFound, match="outside the result store"):
        client.fetch_file(ex.id, "n1", "make", "../../../spool.db", timeout=30)
