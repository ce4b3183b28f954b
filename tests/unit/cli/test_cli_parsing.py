"""The `vantage` command's surface and error paths, without a core."""

import re

import pytest
from typer.testing import CliRunner

from vantagepoint.cli.commands._common import parse_pairs
from vantagepoint.cli.main import app

COMMANDS = ["up", "core", "agent", "submit", "validate", "run", "executions", "results",
            "logs", "nodes", "tools", "demo", "users", "tokens", "node-token"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def runner(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no ./vantage-data of a developer's `vantage up`
    for name in ("VANTAGE_URL", "VANTAGE_TOKEN", "VANTAGE_AGENT_TOKEN", "VANTAGE_AGENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def _output(result) -> str:
    return ANSI.sub("", result.output)


def test_help_lists_every_command(runner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    listed = set(re.findall(r"^│ (\S+)", _output(result), re.MULTILINE))
    assert set(COMMANDS) <= listed


def test_a_malformed_interface_is_a_usage_error(runner):
    result = runner.invoke(app, ["agent", "--token", "t", "--name", "n", "--interface", "op0"])
    assert result.exit_code != 0
    assert "--interface" in _output(result) and "KEY=VALUE" in _output(result)


def test_pairs_parse():
    assert parse_pairs(["op0=eth0", " op1 = wlan0 "], "--interface") == {
        "op0": "eth0", "op1": "wlan0"}


def test_agent_without_a_token_says_how_to_get_one(runner):
    result = runner.invoke(app, ["agent", "--name", "n"])
    assert result.exit_code == 1
    assert "node-token" in _output(result)


def test_validate_against_an_unreachable_core_names_the_url(runner, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\ntasks: []\n")
    url = "http://127.0.0.1:9"
    result = runner.invoke(app, ["validate", str(spec), "--url", url, "--token", "t"])
    assert result.exit_code == 1
    assert url in _output(result)


def test_a_missing_token_exits_1_with_a_hint(runner, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\n")
    result = runner.invoke(app, ["validate", str(spec), "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "vantage up" in _output(result)


def test_a_missing_or_malformed_file_exits_1(runner, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [\n")
    for path in (tmp_path / "absent.yaml", broken):
        result = runner.invoke(app, ["submit", str(path), "--token", "t"])
        assert result.exit_code == 1
        assert path.name in _output(result)
