"""snmp-get against a real snmpd (Debian) on loopback, with a temporary config."""

from __future__ import annotations

import socket

import pytest

from tests.daemons import SYS_LOCATION, SYS_NAME, free_udp_port, require, start_snmpd
from vantagepoint.testing import refusal, run_tool
from vantagepoint.tools.base import ActionEnv
from vantagepoint.tools.snmp_get import SnmpGet, parse_line

SYS_NAME_OID, SYS_LOCATION_OID = "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.6.0"
UPTIME_OID, IF_NUMBER_OID = "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.2.1.0"
COMMUNITY = "vp-secret"


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory):
    require("snmpd", "snmpd")
    port = free_udp_port()
    daemon = start_snmpd(tmp_path_factory.mktemp("snmpd"), "127.0.0.1", port, COMMUNITY)
    yield port
    daemon.stop()


def poll(port: int, seconds: float = 5, env: ActionEnv | None = None, **config):
    config = {"target": "127.0.0.1", "port": port, "community": COMMUNITY, **config}
    results, logs = run_tool(SnmpGet, config, seconds, env=env)
    return results, logs


def varbinds(results) -> dict[str, dict]:
    return {v["oid"]: v for n, v, _ in results if n == "varbind"}


def test_values_are_those_snmpd_was_configured_with(snmpd):
    results, _ = poll(snmpd, oids=[SYS_NAME_OID, SYS_LOCATION_OID, IF_NUMBER_OID])
    got = varbinds(results)
    assert got[SYS_NAME_OID] == {"oid": SYS_NAME_OID, "type": "STRING", "value": SYS_NAME}
    assert got[SYS_LOCATION_OID]["value"] == SYS_LOCATION
    interfaces = len(socket.if_nameindex())  # the host's own count, as IF-MIB counts
    assert got[IF_NUMBER_OID] == {"oid": IF_NUMBER_OID, "type": "INTEGER",
                                  "value": interfaces}
    assert [n for n, _, _ in results].count("response_ms") == 1


def test_polls_every_interval_and_uptime_advances(snmpd):
    results, _ = poll(snmpd, seconds=1.9, oids=[UPTIME_OID], interval=0.5)
    ticks = [v["value"] for n, v, _ in results if n == "varbind"]
    assert len(ticks) == 4 and all(v["type"] == "Timeticks" for v in varbinds(results).values())
    assert ticks == sorted(ticks) and 100 <= ticks[-1] - ticks[0] <= 200  # ~1.5 s in 1/100 s


def test_missing_oid_is_reported_as_such(snmpd):
    results, _ = poll(snmpd, oids=["1.3.6.1.2.1.1.99.0", SYS_NAME_OID])
    got = varbinds(results)
    assert got["1.3.6.1.2.1.1.99.0"]["type"] in ("noSuchObject", "noSuchInstance")
    assert got[SYS_NAME_OID]["value"] == SYS_NAME


def test_wrong_community_times_out_with_an_error(snmpd):
    results, logs = poll(snmpd, oids=[SYS_NAME_OID], community="wrong", timeout=0.3,
                         retries=0)
    errors = [v for n, v, _ in results if n == "error"]
    assert errors and "Timeout" in errors[0] and not varbinds(results)


def test_bound_to_a_device_sends_from_its_address(snmpd):
    results, _ = poll(snmpd, oids=[SYS_NAME_OID], env=ActionEnv("n", "a", "lo", "lo"))
    assert varbinds(results)[SYS_NAME_OID]["value"] == SYS_NAME
    tool = SnmpGet(ActionEnv("n", "a", "lo", "lo"))
    tool.init({"target": "127.0.0.1", "oids": [SYS_NAME_OID]}, [])
    assert "--clientaddr=127.0.0.1" in tool.argv()


@pytest.mark.parametrize("config", [
    {"target": "127.0.0.1", "oids": []},
    {"target": "127.0.0.1", "oids": ["sysName.0"]},  # numeric OIDs only (no MIBs needed)
    {"target": "127.0.0.1", "oids": ["1.3.6"], "version": "3"},
    {"target": "127.0.0.1", "oids": ["1.3.6"], "community": "two words"},
    {"oids": ["1.3.6"]},
])
def test_bad_configs_are_refused(config):
    assert refusal(SnmpGet, config)


def test_nonexistent_device_is_refused_at_init():
    assert "no IPv4 address" in refusal(SnmpGet, {"target": "127.0.0.1", "oids": ["1.3.6"]},
                                        ActionEnv("n", "a", "nope0", "nope0"))


@pytest.mark.parametrize("line, varbind", [
    ('.1.3.6.1.2.1.1.5.0 = STRING: "a b"', {"oid": "1.3.6.1.2.1.1.5.0", "type": "STRING",
                                             "value": "a b"}),
    (".1.3.6.1.2.1.1.3.0 = Timeticks: (4711) 0:00:47.11",
     {"oid": "1.3.6.1.2.1.1.3.0", "type": "Timeticks", "value": 4711}),
    (".1.3.6.1.2.1.2.2.1.10.1 = Counter32: 123456", {"oid": "1.3.6.1.2.1.2.2.1.10.1",
                                                      "type": "Counter32", "value": 123456}),
    (".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.8072.3.2.10",
     {"oid": "1.3.6.1.2.1.1.2.0", "type": "OID", "value": ".1.3.6.1.4.1.8072.3.2.10"}),
    (".1.3.6.9 = No Such Instance currently exists at this OID",
     {"oid": "1.3.6.9", "type": "noSuchInstance", "value": None}),
    ("Timeout: No Response from udp:127.0.0.1:9.", None),
])
def test_parse_line(line, varbind):
    assert parse_line(line) == varbind
