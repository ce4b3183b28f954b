"""Experiment layers (content-addressed uploads) and result files pushed by nodes."""

from __future__ import annotations

import hashlib
import io
import tarfile

from tests.core.conftest import enrol, scenario, user_token


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_layer_is_stored_under_its_digest_and_served_to_agents(app_client):
    body = _tar({"run.sh": b"echo hi\n"})
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    r = app_client.put(f"/api/v1/layers/{digest}", content=body)
    assert r.status_code == 200, r.text
    assert r.json() == {"digest": digest, "size": len(body)}
    assert app_client.get(f"/api/v1/layers/{digest}").json()["size"] == len(body)
    token = enrol(app_client, "n1")
    got = app_client.get(f"/api/v1/agent/layers/{digest}",
                         headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200 and got.content == body
    # a user token is not an agent's
    assert app_client.get(f"/api/v1/agent/layers/{digest}").status_code == 403


def test_layer_refused_when_content_or_digest_is_wrong(app_client):
    body = _tar({"a": b"1"})
    wrong = "sha256:" + "0" * 64
    r = app_client.put(f"/api/v1/layers/{wrong}", content=body)
    assert r.status_code == 422 and "does not match its digest" in r.json()["message"]
    assert app_client.get(f"/api/v1/layers/{wrong}").status_code == 404
    not_tar = b"plain text, not an archive" * 50
    r = app_client.put(f"/api/v1/layers/sha256:{hashlib.sha256(not_tar).hexdigest()}",
                       content=not_tar)
    assert r.status_code == 422 and "tar" in r.json()["message"]
    r = app_client.put("/api/v1/layers/md5:abc", content=body)
    assert r.status_code == 422 and r.json()["problems"][0]["pointer"] == "path:digest"


def _execution(app_client, token):
    app_client.put("/api/v1/scenarios/rtt", json=scenario())
    r = app_client.post("/api/v1/executions", json={"scenario": "rtt", "duration": 30})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_pushed_result_file_replaces_its_older_copy(app_client):
    token = enrol(app_client, "n1")
    node = {"Authorization": f"Bearer {token}"}
    ex = _execution(app_client, token)
    url = f"/api/v1/agent/executions/{ex}/files"
    first = app_client.put(url, params={"action": "a", "path": "out/log.txt"}, content=b"one",
                           headers=node)
    assert first.status_code == 200, first.text
    second = app_client.put(url, params={"action": "a", "path": "out/log.txt"},
                            content=b"one two", headers=node)
    assert second.json()["id"] == first.json()["id"] and second.json()["size"] == 7
    listed = app_client.get(f"/api/v1/executions/{ex}/files", params={"node": "n1"}).json()
    assert [(f["path"], f["state"]) for f in listed] == [("out/log.txt", "ready")]
    assert app_client.get(f"/api/v1/executions/{ex}/files",
                          params={"node": "n2"}).json() == []
    content = app_client.get(f"/api/v1/files/{listed[0]['id']}/content")
    assert content.content == b"one two"


def test_pushed_file_path_and_action_are_checked(app_client):
    token = enrol(app_client, "n1")
    node = {"Authorization": f"Bearer {token}"}
    ex = _execution(app_client, token)
    url = f"/api/v1/agent/executions/{ex}/files"
    for bad in ("../escape", "/etc/passwd", "a/../../b"):
        r = app_client.put(url, params={"action": "a", "path": bad}, content=b"x", headers=node)
        assert r.status_code == 422, bad
    r = app_client.put(url, params={"action": "other", "path": "f"}, content=b"x", headers=node)
    assert r.status_code == 404
    other = user_token(app_client, "eve")
    r = app_client.get(f"/api/v1/executions/{ex}/files",
                       headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 404
