"""`vantage stats` and `vantage export`: time options, tables and usage errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from vantagepoint.cli.commands._moments import parse_moment
from vantagepoint.cli.commands.stats import buckets_table, stats_table
from vantagepoint.cli.main import app

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "epoch"), [
    ("1767225600", 1767225600.0), ("1767225600.5", 1767225600.5),
    ("2026-05-01T11:00:00Z", NOW.timestamp() - 3600), ("now", NOW.timestamp()),
    ("-2h", NOW.timestamp() - 7200), ("-1d12h", NOW.timestamp() - 129600)])
def test_moments_parse(text, epoch):
    assert parse_moment(text, "--since", NOW) == epoch


@pytest.mark.parametrize("text", ["yesterday", "-", "-5x", "12:00"])
def test_bad_moments_are_usage_errors(text):
    with pytest.raises(typer.BadParameter) as caught:
        parse_moment(text, "--since", NOW)
    assert caught.value.param_hint == "--since"


def _render(table) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_stats_table_has_a_row_per_group_and_a_column_per_percentile():
    found = {"name": "rtt_ms", "by": ["node", "interface"], "since": None, "until": None,
             "groups": [{"key": {"node": "n1", "interface": None}, "count": 12, "numeric": 10,
                         "min": 1.5, "max": 9.25, "mean": 4.0, "stddev": 2.0,
                         "percentiles": {"50": 3.5, "99.9": 9.2}, "sent": 20,
                         "received": 10, "loss_pct": 50.0}]}
    text = _render(stats_table(found))
    assert "p50" in text and "p99.9" in text and "loss %" in text
    assert all(cell in text for cell in ("n1", "12", "1.5", "9.25", "3.5", "50"))


def test_buckets_table_lists_each_bucket():
    found = {"name": "rtt_ms", "by": [], "since": 0.0, "until": 20.0, "width": 10.0,
             "buckets": 2, "series": [{"key": {}, "buckets": [
                 {"start": 0.0, "count": 3, "numeric": 3, "min": 1.0, "max": 80.0,
                  "mean": 27.0},
                 {"start": 10.0, "count": 1, "numeric": 0, "min": None, "max": None,
                  "mean": None}]}]}
    text = _render(buckets_table(found))
    assert "2 buckets of 10 s" in text and "80" in text and text.count("-") >= 3


@pytest.mark.parametrize("args", [["stats", "rtt_ms", "-p", "50,abc"],
                                  ["stats", "rtt_ms", "--since", "soon"],
                                  ["export", "results", "-f", "xlsx"],
                                  ["export", "dump", "out", "--day", "2026-13-01"]])
def test_malformed_options_are_usage_errors(args, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [*args, "--url", "http://127.0.0.1:9", "--token", "t"])
    assert result.exit_code == 2, result.output
