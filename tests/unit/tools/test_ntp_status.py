"""ntp-status against real chronyd (Debian), started with -x so the host clock is untouched."""

from __future__ import annotations

import pytest

from tests.daemons import SERVER_STRATUM, require, start_chrony_pair, start_chronyd
from vantagepoint.testing import refusal, run_tool
from vantagepoint.tools.ntp_status import NtpStatus, parse_tracking

TRACKING = ("7F000001,127.0.0.1,9,1795578930.723251959,-0.000001526,0.000000016,"
            "0.000000080,-0.102,0.003,0.654,0.000005365,0.000001707,0.1,Normal")


@pytest.fixture(scope="module")
def chrony(tmp_path_factory):
    """A stratum-8 server and a client following it; the client's command socket."""
    require("chronyd", "chrony")
    server, client, sock = start_chrony_pair(tmp_path_factory.mktemp("chrony"))
    yield sock
    client.stop()
    server.stop()


def status(seconds: float = 5, **config) -> dict[str, list]:
    results, _ = run_tool(NtpStatus, config, seconds)
    found: dict[str, list] = {}
    for name, value, _ in results:
        found.setdefault(name, []).append(value)
    return found


def test_a_synchronised_client_reports_its_server(chrony):
    got = status(socket=str(chrony))
    assert got["synchronised"] == [True] and got["leap_status"] == ["Normal"]
    assert got["stratum"] == [SERVER_STRATUM + 1]
    assert got["reference"] == ["127.0.0.1"]
    assert abs(got["offset_ms"][0]) < 1.0  # one host, one clock
    assert 0 <= got["root_delay_ms"][0] < 5


def test_polls_every_interval(chrony):
    got = status(seconds=1.4, socket=str(chrony), interval=0.5)
    assert len(got["stratum"]) == 3


def test_a_daemon_without_sources_is_not_synchronised(tmp_path):
    require("chronyd", "chrony")
    alone = start_chronyd(tmp_path, "alone", ["port 0"])
    try:
        got = status(socket=str(tmp_path / "alone.sock"))
    finally:
        alone.stop()
    assert got["synchronised"] == [False] and got["leap_status"] == ["Not synchronised"]
    assert got["stratum"] == [0]


def test_no_daemon_is_an_error(tmp_path):
    require("chronyc", "chrony")
    got = status(socket=str(tmp_path / "none.sock"), timeout=2)
    assert got["error"] and "stratum" not in got


@pytest.mark.parametrize("config", [
    {"socket": "relative.sock"},
    {"socket": "/run/x.sock", "host": "127.0.0.1"},
    {"interval": 0},
])
def test_bad_configs_are_refused(config):
    assert refusal(NtpStatus, config)


def test_parse_tracking():
    got = parse_tracking(TRACKING)
    assert got["stratum"] == 9 and got["reference"] == "127.0.0.1"
    assert got["offset_ms"] == pytest.approx(0.001526)  # chronyc: NTP minus system time
    assert got["root_delay_ms"] == pytest.approx(0.005365)
    with pytest.raises(ValueError):
        parse_tracking("506 Cannot talk to daemon")
