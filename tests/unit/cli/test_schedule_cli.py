"""The scheduling commands: time, duration and size parsing, usage errors, output, errors."""

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import typer
from typer.testing import CliRunner

from vantagepoint.cli.commands import _common
from vantagepoint.cli.commands._output import when
from vantagepoint.cli.commands._units import (
    parse_duration,
    parse_size,
    parse_time,
    show_duration,
    show_size,
)
from vantagepoint.cli.commands.calendar import window
from vantagepoint.cli.commands.schedule import period, start_mode
from vantagepoint.cli.main import app
from vantagepoint.client import Client

NEW_COMMANDS = ["schedule", "schedules", "unschedule", "calendar", "quota", "node-status"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture
def runner(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no ./vantage-data of a developer's `vantage up`
    for name in ("VANTAGE_URL", "VANTAGE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def _output(result) -> str:
    return ANSI.sub("", result.output)


# ---- parsers ----------------------------------------------------------------

@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90), ("1.5", 1.5), ("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400),
    ("1h30m", 5400), ("1.5h", 5400), (" 2H ", 7200), ("1d12h", 129600),
])
def test_durations_parse(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "5 m", "5x", "-5", "m5", "1h-30m", "0", "0s"])
def test_bad_durations_are_usage_errors(text):
    with pytest.raises(typer.BadParameter):
        parse_duration(text)


def test_a_zero_duration_may_be_allowed():
    assert parse_duration("0", zero_ok=True) == 0


@pytest.mark.parametrize(("text", "moment"), [
    ("now", NOW),
    ("+10m", NOW + timedelta(minutes=10)),
    ("+2h", NOW + timedelta(hours=2)),
    ("+90", NOW + timedelta(seconds=90)),
    ("+1d2h", NOW + timedelta(days=1, hours=2)),
    ("2026-05-02T08:30:00Z", datetime(2026, 5, 2, 8, 30, tzinfo=UTC)),
    ("2026-05-02T10:30:00+02:00", datetime(2026, 5, 2, 8, 30, tzinfo=UTC)),
])
def test_times_parse_to_utc(text, moment):
    parsed = parse_time(text, now=NOW)
    assert parsed == moment
    assert parsed.utcoffset() == timedelta(0)


def test_a_time_without_offset_is_local():
    local = datetime(2026, 5, 2, 8, 30).astimezone()
    assert parse_time("2026-05-02T08:30:00", now=NOW) == local


@pytest.mark.parametrize("text", ["tomorrow", "+", "+soon", "2026-13-01T00:00:00Z", "-10m"])
def test_bad_times_are_usage_errors_naming_the_option(text):
    with pytest.raises(typer.BadParameter) as caught:
        parse_time(text, "--until", now=NOW)
    assert caught.value.param_hint == "--until"


@pytest.mark.parametrize(("text", "count"), [
    ("500", 500), ("500B", 500), ("1kB", 1000), ("500MB", 500_000_000),
    ("100G", 100_000_000_000), ("1.5GiB", 1_610_612_736), ("2 TB", 2_000_000_000_000),
])
def test_sizes_parse(text, count):
    assert parse_size(text) == count


def test_bad_sizes_are_usage_errors():
    with pytest.raises(typer.BadParameter):
        parse_size("lots")


def test_durations_and_sizes_show_briefly():
    assert [show_duration(s) for s in (0, 45, 90, 5400, 8_640_000)] == [
        "0s", "45s", "1m 30s", "1h 30m", "100d"]
    assert [show_size(b) for b in (0, 999, 1500, 1.5e9)] == ["0 B", "999 B", "1.5 kB", "1.5 GB"]


def test_the_calendar_window_defaults_to_the_next_day():
    assert window(None, None, NOW) == (NOW, NOW + timedelta(hours=24))
    assert window("+1h", "+3h", NOW) == (NOW + timedelta(hours=1), NOW + timedelta(hours=3))
    with pytest.raises(typer.BadParameter):
        window("+3h", "+1h", NOW)


def test_start_modes_and_periods_share_one_now():
    assert start_mode("earliest") == {"mode": "earliest"}
    assert start_mode("low") == {"mode": "low_priority"}
    assert start_mode("+1h", NOW) == {"mode": "at", "start": NOW + timedelta(hours=1)}
    assert period("1h", "+4h", NOW) == {"every": 3600, "until": NOW + timedelta(hours=4)}
    assert period(None, None) == {"every": None, "until": None}


# ---- surface and usage errors ------------------------------------------------

def test_help_lists_the_scheduling_commands(runner):
    listed = set(re.findall(r"^│ (\S+)", _output(runner.invoke(app, ["--help"])), re.MULTILINE))
    assert set(NEW_COMMANDS) <= listed


@pytest.mark.parametrize("command", NEW_COMMANDS)
def test_each_command_has_help(runner, command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage: vantage " + command in _output(result)


def _schedule(runner, *args: str):
    return runner.invoke(app, ["schedule", "rtt", "--url", UNREACHABLE, "--token", "t", *args])


@pytest.mark.parametrize(("args", "option", "message"), [
    (["--duration", "5x"], "--duration", "30s, 5m"),
    (["-d", "5m", "--start", "tomorrow"], "--start", "RFC 3339"),
    (["-d", "5m", "--every", "often"], "--every", "30s, 5m"),
    (["-d", "5m", "--until", "+1d"], "--until", "needs --every"),
    (["-d", "5m", "--filter", "type=deployed and"], "--filter",
     "at column 18: expected a comparison"),
    (["-d", "5m", "--filter", "country="], "--filter", "at column 9: expected a value after '='"),
    (["-d", "5m", "--role", "sender"], "--role", "ROLE=N1,N2"),
    (["-d", "5m", "--role", "sender=n1,,n2"], "--role", "node names"),
    (["-d", "5m", "--role", "a=n1", "--role", "a=n2"], "--role", "given twice"),
    (["-d", "5m", "--nodes", "n1", "--filter", "type=x"], "--filter", "only one of"),
    (["-d", "5m", "--count", "0"], "--count", ""),
])
def test_malformed_options_are_usage_errors(runner, args, option, message):
    result = _schedule(runner, *args)
    assert result.exit_code == 2, _output(result)
    assert option in _output(result) and message in _output(result)


def test_quota_limits_need_a_user(runner):
    result = runner.invoke(app, ["quota", "--node-seconds", "10d", "--token", "t"])
    assert result.exit_code == 2
    assert "--user" in _output(result)


def test_node_status_refuses_an_unknown_status(runner):
    result = runner.invoke(app, ["node-status", "n1", "broken", "--token", "t"])
    assert result.exit_code == 2
    assert "maintenance" in _output(result)


@pytest.mark.parametrize("args", [
    ["schedule", "rtt", "-d", "5m", "--filter", "country=no", "--count", "2"],
    ["schedules"], ["unschedule", "3"], ["calendar", "--node", "n1"], ["quota"],
    ["node-status", "n1", "maintenance", "--reason", "modem swap"],
])
def test_an_unreachable_core_exits_1_naming_the_url(runner, args):
    result = runner.invoke(app, [*args, "--url", UNREACHABLE, "--token", "t"])
    assert result.exit_code == 1
    assert UNREACHABLE in _output(result)


# ---- against a fake core -------------------------------------------------------

SCHEDULE = {
    "id": 7, "owner": "alice", "scenario": "rtt", "mode": "earliest", "state": "requested",
    "duration": 300, "every": 3600, "shared": False, "node_seconds": 1800,
    "data_bytes": 1_500_000_000, "created_at": "2026-05-01T11:00:00Z", "dry_run": False,
    "occurrences": [
        {"index": i, "start": f"2026-05-01T1{2 + i}:00:00Z", "end": f"2026-05-01T1{2 + i}:05:00Z",
         "nodes": ["n1", "n2", "n3"], "execution": None, "state": "reserved"} for i in range(2)
    ],
}


@pytest.fixture
def fake_core(monkeypatch):
    """Route the CLI's client to a handler; returns the list of requests it saw."""
    seen: list[httpx.Request] = []
    answers: dict[tuple[str, str], httpx.Response] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[(request.method, request.url.path)]

    def client(url, token, data_dir=None):
        return Client("http://core.test", "t", transport=httpx.MockTransport(handler))

    monkeypatch.setattr(_common, "Client", client)
    return seen, answers


def test_schedule_sends_the_request_and_prints_the_slots(runner, fake_core):
    seen, answers = fake_core
    answers[("POST", "/api/v1/schedules")] = httpx.Response(201, json=SCHEDULE)
    result = runner.invoke(app, ["schedule", "rtt", "-d", "5m", "--every", "1h", "--until",
                                 "2026-05-01T14:00:00Z", "--filter", "country=no", "--count", "3",
                                 "--min-interfaces", "2"])
    assert result.exit_code == 0, _output(result)
    body = json.loads(seen[0].content)
    assert body == {"scenario": "rtt", "mode": "earliest", "duration": 300, "every": 3600,
                    "until": "2026-05-01T14:00:00+00:00", "filter": "country=no", "count": 3,
                    "min_interfaces": 2, "dry_run": False}
    text = _output(result)
    assert "Schedule 7" in text and "n1, n2, n3" in text
    assert "debited 30m of node time and 1.5 GB of data" in text


def test_schedule_at_a_time_with_roles(runner, fake_core):
    seen, answers = fake_core
    answers[("POST", "/api/v1/schedules")] = httpx.Response(200, json=SCHEDULE | {
        "id": None, "dry_run": True})
    result = runner.invoke(app, ["schedule", "rtt", "-d", "300", "--start",
                                 "2026-05-01T12:00:00Z", "--role", "sender=n1",
                                 "--role", "receiver=n2,n3", "--dry-run"])
    assert result.exit_code == 0, _output(result)
    body = json.loads(seen[0].content)
    assert body["mode"] == "at" and body["start"] == "2026-05-01T12:00:00+00:00"
    assert body["roles"] == {"sender": ["n1"], "receiver": ["n2", "n3"]}
    assert body["dry_run"] is True
    assert "would debit" in _output(result)


def test_a_refused_schedule_prints_every_refusal_and_exits_1(runner, fake_core):
    _, answers = fake_core
    answers[("POST", "/api/v1/schedules")] = httpx.Response(409, json={
        "error": "unschedulable", "message": "the request cannot be scheduled",
        "problems": [{"pointer": "/occurrences/7", "message": "only 3/5 nodes are available"},
                     {"pointer": "/nodes/n4", "message": "n4 is in maintenance"}]})
    result = runner.invoke(app, ["schedule", "rtt", "-d", "5m", "--start", "low"])
    assert result.exit_code == 1
    text = _output(result)
    assert "only 3/5 nodes are available" in text and "n4 is in maintenance" in text


def test_calendar_prints_a_table_per_node(runner, fake_core):
    seen, answers = fake_core
    booking = {"schedule": 7, "occurrence": 0, "owner": "alice", "scenario": "rtt",
               "shared": False, "state": "reserved", "execution": None}
    answers[("GET", "/api/v1/calendar")] = httpx.Response(200, json=[
        booking | {"node": "n2", "start": "2026-05-01T13:00:00Z", "end": "2026-05-01T13:05:00Z"},
        booking | {"node": "n1", "start": "2026-05-01T14:00:00Z", "end": "2026-05-01T14:05:00Z"},
        booking | {"node": "n1", "start": "2026-05-01T12:00:00Z", "end": "2026-05-01T12:05:00Z"},
    ])
    result = runner.invoke(app, ["calendar", "--from", "2026-05-01T00:00:00Z", "--to", "+2d"])
    assert result.exit_code == 0, _output(result)
    assert seen[0].url.params["start"] == "2026-05-01T00:00:00+00:00"
    text = _output(result)
    assert text.index("n1") < text.index("n2")
    n1 = text[text.index("n1"):text.index("n2")]
    assert n1.index(when("2026-05-01T12:00:00Z")) < n1.index(when("2026-05-01T14:00:00Z"))


def test_quota_shows_usage_and_an_admin_sets_limits(runner, fake_core):
    seen, answers = fake_core
    quota = {"user": "bob", "node_seconds_limit": 8_640_000, "node_seconds_used": 3600,
             "data_bytes_limit": 100_000_000_000, "data_bytes_used": 25_000_000_000}
    answers[("GET", "/api/v1/quotas/me")] = httpx.Response(200, json=quota)
    answers[("PUT", "/api/v1/quotas/bob")] = httpx.Response(200, json=quota)
    shown = runner.invoke(app, ["quota"])
    assert "1h used of 100d" in _output(shown) and "25 GB used of 100 GB (25%)" in _output(shown)
    result = runner.invoke(app, ["quota", "--user", "bob", "--node-seconds", "100d",
                                 "--data-bytes", "100GB"])
    assert result.exit_code == 0, _output(result)
    assert json.loads(seen[-1].content) == {"node_seconds_limit": 8_640_000,
                                            "data_bytes_limit": 100_000_000_000}


def test_schedules_lists_one_row_per_schedule(runner, fake_core):
    seen, answers = fake_core
    answers[("GET", "/api/v1/schedules")] = httpx.Response(200, json=[
        SCHEDULE, SCHEDULE | {"id": 8, "state": "canceled", "every": None, "occurrences": []}])
    result = runner.invoke(app, ["schedules", "--state", "requested"])
    assert result.exit_code == 0, _output(result)
    assert seen[0].url.params["state"] == "requested"
    rows = [line for line in _output(result).splitlines() if re.match(r"^│ [78] ", line)]
    assert len(rows) == 2 and "requested" in rows[0] and "n1, n2, n3" in rows[0]
    assert "canceled" in rows[1]


def test_unschedule_says_how_many_occurrences_were_canceled(runner, fake_core):
    _, answers = fake_core
    occurrences = [SCHEDULE["occurrences"][0] | {"state": "finished"},
                   SCHEDULE["occurrences"][1] | {"state": "canceled"}]
    answers[("DELETE", "/api/v1/schedules/7")] = httpx.Response(200, json=SCHEDULE | {
        "state": "canceled", "occurrences": occurrences})
    result = runner.invoke(app, ["unschedule", "7"])
    assert result.exit_code == 0, _output(result)
    assert "schedule 7 (rtt) is now canceled: 1 of 2 occurrence(s) canceled" in _output(result)


def test_a_low_priority_schedule_says_it_waits(runner, fake_core):
    _, answers = fake_core
    answers[("POST", "/api/v1/schedules")] = httpx.Response(201, json=SCHEDULE | {
        "mode": "low_priority", "every": None, "occurrences": [], "node_seconds": 0})
    result = runner.invoke(app, ["schedule", "rtt", "-d", "5m", "--start", "low"])
    assert result.exit_code == 0, _output(result)
    assert "waits at low priority" in _output(result) and "idle for 5m" in _output(result)
