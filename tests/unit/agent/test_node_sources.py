"""The node's bus sources and background ping, parsed from real input."""

from __future__ import annotations

from functools import reduce

import pytest

from vantagepoint.agent.background import parse_line
from vantagepoint.agent.gps import BadSentence, checked, degrees, parse_gga, parse_rmc_speed
from vantagepoint.agent.modems import ipv4_address, is_up
from vantagepoint.agent.sensors import cpu_percent, cpu_times, memory, uptime


def nmea(body: str) -> str:
    return f"${body}*{reduce(lambda a, c: a ^ ord(c), body, 0):02X}"


def test_nmea_fixes_are_read_and_bad_sentences_refused():
    gga = nmea("GPGGA,120000,5924.000,N,01335.500,W,1,07,1.0,45.5,M,0.0,M,,")
    fix = parse_gga(checked(gga), gga)
    assert (fix.latitude, round(fix.longitude, 4), fix.altitude, fix.satellites) == (
        59.4, -13.5917, 45.5, 7)
    assert parse_gga(checked(nmea("GPGGA,120000,,,,,0,00,,,M,,M,,")), "") is None  # no fix
    assert parse_rmc_speed(checked(nmea("GPRMC,1,A,5924.0,N,01335.0,E,10.0,0,251126,,"))) == \
        pytest.approx(5.144, abs=0.001)
    assert parse_rmc_speed(checked(nmea("GPRMC,1,V,,,,,,,251126,,"))) is None
    assert degrees("0130.000", "S") == -1.5
    for bad in ("GPGGA,1*00", gga[:-2] + "00", "$GPGGA,1*ZZ"):
        with pytest.raises(BadSentence):
            checked(bad)


def test_ping_lines():
    assert parse_line("[1764000000.123456] 64 bytes from 127.0.0.1: icmp_seq=3 ttl=64 "
                      "time=0.042 ms\n") == (1764000000.123456, 0.042)
    assert parse_line("[1764000001.5] no answer yet for icmp_seq=4\n") == (1764000001.5, None)
    assert parse_line("PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n") is None


def test_machine_readings():
    before = cpu_times()
    after = [v + d for v, d in zip(before, [10, 0, 10, 80, 0, 0, 0, 0], strict=True)]
    assert cpu_percent(before, after) == {"user": 10.0, "nice": 0.0, "system": 10.0,
                                          "idle": 80.0, "iowait": 0.0, "irq": 0.0,
                                          "softirq": 0.0, "steal": 0.0}
    mem = memory()
    assert mem["total"] >= mem["free"] > 0 and mem["apps"] == mem["total"] - mem["free"]
    assert uptime() > 0
    assert ipv4_address("lo") == "127.0.0.1" and is_up("lo")
    assert ipv4_address("nosuchdev0") is None and not is_up("nosuchdev0")
