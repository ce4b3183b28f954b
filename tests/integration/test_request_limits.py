"""Request size limits and per-token rate limits, against a real core process."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.support import ADMIN_TOKEN, start_core
from vantagepoint.client import Client
from vantagepoint.errors import RateLimited

pytestmark = pytest.mark.integration
API = "/api/v1"
BODY, UPLOAD, FILE = 4000, 20000, 50000


@pytest.fixture
def limited(database_url, tmp_path):
    core = start_core(database_url, tmp_path, max_body_bytes=BODY, max_upload_bytes=UPLOAD,
                      max_file_bytes=FILE, rate_limit_user_per_s=1, rate_limit_user_burst=3,
                      rate_limit_node_per_s=0)
    yield core
    core.proc.stop()


def _padded(doc: dict, size: int) -> bytes:
    """``doc`` as JSON of exactly ``size`` bytes (trailing whitespace is valid JSON)."""
    raw = json.dumps(doc).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def _chunks(body: bytes, step: int = 1000):
    for i in range(0, len(body), step):
        yield body[i:i + step]


def _send(c: httpx.Client, method: str, path: str, body) -> httpx.Response:
    return c.request(method, path, content=body, headers={
        "Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"})


def test_body_limit_refuses_at_the_boundary_and_accepts_just_inside(limited):
    with httpx.Client(base_url=limited.url, timeout=15) as c:
        r = _send(c, "POST", f"{API}/users", _padded({"name": "u1"}, BODY))
        assert r.status_code == 201, r.text
        r = _send(c, "POST", f"{API}/users", _padded({"name": "u2"}, BODY + 1))
        assert r.status_code == 413
        body = r.json()
        assert body["error"] == "too_large" and body["limit_bytes"] == BODY
        assert "max_body_bytes" in body["message"]
        time.sleep(3.1)  # the rate limit (burst 3) is not what this test is about
        # Chunked, with no Content-Length: counted as it streams.
        r = _send(c, "POST", f"{API}/users", _chunks(_padded({"name": "u2"}, BODY + 1)))
        assert r.status_code == 413 and r.json()["limit_bytes"] == BODY
        r = _send(c, "POST", f"{API}/users", _chunks(_padded({"name": "u3"}, BODY)))
        assert r.status_code == 201, r.text
        names = {u["name"] for u in c.get(f"{API}/users", headers={
            "Authorization": f"Bearer {ADMIN_TOKEN}"}).json()}
        assert {"u1", "u3"} <= names and "u2" not in names
        assert c.get(f"{API}/health").status_code == 200


def test_agent_uploads_and_files_have_their_own_larger_limits(limited):
    node = limited.node_token("n1")
    batch = {"spool_id": "spool-0001", "records": []}
    with httpx.Client(base_url=limited.url, timeout=15) as c:
        def post(body):
            return c.post(f"{API}/agent/records", content=body, headers={
                "Authorization": f"Bearer {node}", "Content-Type": "application/json"})
        assert post(_padded(batch, UPLOAD)).status_code == 200  # 5x the API limit
        r = post(_padded(batch, UPLOAD + 1))
        assert r.status_code == 413 and "max_upload_bytes" in r.json()["message"]
        r = post(_chunks(_padded(batch, UPLOAD + 1)))
        assert r.status_code == 413
        r = _send(c, "PUT", f"{API}/layers/sha256:{'0' * 64}", b"x" * (FILE + 1))
        assert r.status_code == 413 and "max_file_bytes" in r.json()["message"]


def test_429_carries_retry_after_and_recovers_after_it(limited):
    other = limited.node_token("n1")  # another token: its own bucket
    time.sleep(1.1)  # the admin token's bucket fills again after that request
    with limited.client() as c:
        assert [c.get(f"{API}/users/me").status_code for _ in range(3)] == [200] * 3
        r = c.get(f"{API}/users/me")
        assert r.status_code == 429
        wait = int(r.headers["Retry-After"])
        assert 1 <= wait <= 2
        body = r.json()
        assert body["error"] == "rate_limited" and body["retry_after"] == wait
        assert body["limit"] == {"class": "user", "rate_per_s": 1.0, "burst": 3}
        assert c.get(f"{API}/agent/status", headers={
            "Authorization": f"Bearer {other}"}).status_code != 429
        time.sleep(wait)
        assert c.get(f"{API}/users/me").status_code == 200


def test_the_client_waits_out_429s(limited):
    with Client(limited.url, ADMIN_TOKEN) as client:
        started = time.monotonic()
        names = [client.me().name for _ in range(6)]  # burst 3, then one a second
        assert names == ["admin"] * 6
        assert time.monotonic() - started >= 2.0
    with Client(limited.url, ADMIN_TOKEN) as client:
        client._http._retries = 0
        with pytest.raises(RateLimited) as err:
            for _ in range(5):
                client.me()
        assert err.value.retry_after >= 1 and err.value.limit["class"] == "user"
