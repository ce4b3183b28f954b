"""`vantage layer push` and `vantage files` against a real core process."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from tests.support import ADMIN_TOKEN
from vantagepoint.cli.main import app

pytestmark = pytest.mark.integration


@pytest.fixture
def vantage(core, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [*args, "--url", core.url, "--token", ADMIN_TOKEN])
    return run


def test_layer_push_prints_the_digest_once_stored(vantage, tmp_path):
    program = tmp_path / "prog"
    program.mkdir()
    (program / "run.sh").write_text("echo hi\n")
    first = vantage("layer", "push", str(program))
    assert first.exit_code == 0, first.output
    digest = re.search(r"sha256:[0-9a-f]{64}", first.output).group(0)
    again = vantage("layer", "push", str(program))  # packed reproducibly: the same digest
    assert again.exit_code == 0 and digest in again.output
    missing = vantage("layer", "push", str(tmp_path / "nothing"))
    assert missing.exit_code == 1 and "does not exist" in missing.output
    (tmp_path / "plain.txt").write_text("not an archive")
    plain = vantage("layer", "push", str(tmp_path / "plain.txt"))
    assert plain.exit_code == 1 and "neither a directory nor a tar" in plain.output


def test_files_lists_and_downloads_a_pushed_file(core, client, vantage, tmp_path):
    token = core.node_token("n1")
    with core.client(token) as node:
        node.post("/api/v1/agent/register", json={"name": "n1", "tools": [
            {"name": "probe", "version": "1.0", "config_schema": {"type": "object"},
             "results": [{"name": "x"}]}]}).raise_for_status()
        client.submit({"name": "s", "tasks": [{"name": "t", "actions": [
            {"name": "a", "node": "n1", "tool": "probe", "results": ["x"]}]}]})
        ex = client.start("s", duration=60)
        node.put(f"/api/v1/agent/executions/{ex.id}/files", params={
            "action": "a", "path": "results/out.csv"}, content=b"a,b\n1,2\n").raise_for_status()
    listed = vantage("files", str(ex.id), "--node", "n1")
    assert listed.exit_code == 0 and "results/out.csv" in listed.output
    file_id = client.result_files(ex.id)[0]["id"]
    got = vantage("files", str(ex.id), "--get", str(file_id), "-o", str(tmp_path / "o.csv"))
    assert got.exit_code == 0, got.output
    assert (tmp_path / "o.csv").read_bytes() == b"a,b\n1,2\n"
