"""`vantage testbed` without building anything: its surface, refusals and renderings."""

from __future__ import annotations

import os
import re

import pytest
from typer.testing import CliRunner

from vantagepoint.cli.commands.testbed import _link_text
from vantagepoint.cli.main import app
from vantagepoint.testbed import NotRoot, Testbed

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def runner(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_help_lists_up_down_and_status(runner):
    result = runner.invoke(app, ["testbed", "--help"])
    assert result.exit_code == 0
    listed = set(re.findall(r"^│ (\S+)", ANSI.sub("", result.output), re.MULTILINE))
    assert {"up", "down", "status"} <= listed


def test_without_root_it_says_so_and_exits_1(runner, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    for argv in (["testbed", "up"], ["testbed", "down"]):
        result = runner.invoke(app, argv)
        assert result.exit_code == 1
        assert "needs root" in ANSI.sub("", result.output)
    with pytest.raises(NotRoot, match="needs root"):
        Testbed.up(nodes=1)


def test_a_bad_links_file_is_refused_before_anything_is_made(runner, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the links file is read after the root check")
    links = tmp_path / "links.yaml"
    links.write_text("links:\n  n9:\n    op0: {rate_mbit: 10}\n")
    result = runner.invoke(app, ["testbed", "up", "--links", str(links)])
    assert result.exit_code == 1
    assert "n9/op0" in ANSI.sub("", result.output)
    assert not (tmp_path / "vantage-testbed" / "state.json").exists()


@pytest.mark.parametrize("link, text", [
    ({}, "plain"),
    ({"rate_mbit": 10.0}, "10 Mbit/s"),
    ({"delay_ms": 20.0, "jitter_ms": 1.0, "loss_pct": 0.5}, "20±1 ms, 0.5% loss"),
    ({"reorder_pct": 5.0}, "5% reorder"),
])
def test_links_are_shown_briefly(link, text):
    assert _link_text(link) == text
