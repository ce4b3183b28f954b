"""The node platform with real processes: the metadata bus, its upload, background ping,
the watchdog and maintenance."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from functools import reduce
from pathlib import Path

import pytest

from tests.support import ADMIN_TOKEN, wait_until
from vantagepoint.bus.subscriber import Subscriber
from vantagepoint.client import Scenario
from vantagepoint.errors import Unschedulable

pytestmark = pytest.mark.integration

ICCID = "8946071234567890123"


def nmea(body: str) -> str:
    """A sentence with its checksum, as a receiver writes it."""
    return f"${body}*{reduce(lambda a, c: a ^ ord(c), body, 0):02X}"


def track(path: Path) -> Path:
    """Two fixes near Karlstad (59.40 N, 13.58 E), a corrupt sentence between them."""
    lines = [nmea("GPRMC,120000,A,5924.000,N,01335.000,E,10.0,90.0,251126,,"),
             nmea("GPGGA,120000,5924.000,N,01335.000,E,1,07,1.0,45.0,M,0.0,M,,"),
             "$GPGGA,120001,5924.010,N,01335.010,E,1,07,1.0,45.0,M,0.0,M,,*00",
             nmea("GPGGA,120002,5924.020,N,01335.020,E,1,08,1.0,46.0,M,0.0,M,,")]
    path.write_text("\n".join(lines) + "\n")
    return path


def platform_env(tmp_path: Path, **extra) -> dict[str, str]:
    env = {"VANTAGE_AGENT_SENSOR_SECONDS": "0.5", "VANTAGE_AGENT_MODEM_SECONDS": "1",
           "VANTAGE_AGENT_GPSD_ADDRESS": "127.0.0.1:1",  # nothing answers: replay the file
           "VANTAGE_AGENT_GPS_NMEA_FILE": str(track(tmp_path / "track.nmea")),
           "VANTAGE_AGENT_GPS_SECONDS": "0.2",
           "VANTAGE_AGENT_MODEMS": json.dumps({"op0": {"ICCID": ICCID, "Operator": "Telia",
                                                        "IMSIMCCMNC": 24001, "DeviceMode": 5}}),
           "VANTAGE_AGENT_BACKGROUND_TARGET": "127.0.0.1",
           "VANTAGE_AGENT_INTERFACES": json.dumps({"op0": "lo", "op1": "lo"})}
    return {**env, **{f"VANTAGE_AGENT_{k.upper()}": str(v) for k, v in extra.items()}}


def start(core, tmp_path, name="n1", **extra):
    data = tmp_path / f"agent-{name}"
    proc = core.start_agent(name, data_dir=data, extra_env=platform_env(tmp_path, **extra))
    return proc, f"ipc://{data.absolute()}/bus/metadata.ipc"


def collect(endpoint: str, want: set[str], timeout: float = 30.0) -> dict[str, dict]:
    """The first message of each wanted topic (prefix match) from the live bus."""
    got: dict[str, dict] = {}
    with Subscriber(endpoint, ["MONROE.META"]) as sub:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and set(got) < want:
            message = sub.recv(timeout=0.5)
            if message is None:
                continue
            topic, body = message
            for prefix in want:
                if topic.startswith(prefix):
                    got.setdefault(prefix, body)
    assert set(got) >= want, f"never heard {want - set(got)}"
    return got


def test_bus_messages_reach_a_subscriber_and_the_core(core, client, tmp_path):
    started = time.time()
    proc, endpoint = start(core, tmp_path)
    wait_until(lambda: Path(endpoint[6:]).exists(), timeout=30, what="the bus socket")
    modem = f"MONROE.META.DEVICE.MODEM.{ICCID}"
    got = collect(endpoint, {f"{modem}.UPDATE", "MONROE.META.DEVICE.MODEM.op1",
                             "MONROE.META.DEVICE.GPS", "MONROE.META.NODE.SENSOR.cpu",
                             "MONROE.META.NODE.SENSOR.memory", "MONROE.META.NODE.SENSOR.disk",
                             "MONROE.META.NODE.SENSOR.uptime", "MONROE.META.NODE.SENSOR.running"})
    update = got[f"{modem}.UPDATE"]
    assert update["Operator"] == "Telia" and update["InternalInterface"] == "op0"
    assert update["IPAddress"] == "127.0.0.1" and update["NodeId"] == "n1"
    assert update["DataId"] == "MONROE.META.DEVICE.MODEM"
    gps = got["MONROE.META.DEVICE.GPS"]
    assert abs(gps["Latitude"] - 59.4) < 0.001 and abs(gps["Longitude"] - 13.5833) < 0.001
    assert gps["SatelliteCount"] in (7, 8) and gps["NMEA"].startswith("$GPGGA")
    assert 0 <= got["MONROE.META.NODE.SENSOR.cpu"]["idle"] <= 100
    assert got["MONROE.META.NODE.SENSOR.memory"]["total"] > 0
    assert got["MONROE.META.NODE.SENSOR.running"]["count"] == 0

    # Uploaded and queryable at the core by node, topic prefix and time range.
    fixes = wait_until(lambda: client.metadata("n1", "MONROE.META.DEVICE.GPS", since=started),
                       timeout=60, what="GPS rows at the core")
    assert {round(f["message"]["Latitude"], 4) for f in fixes} <= {59.4, 59.4003}
    assert all(f["topic"] == "MONROE.META.DEVICE.GPS" and f["node"] == "n1" for f in fixes)
    assert not any("120001" in f["message"]["NMEA"] for f in fixes)  # the corrupt one
    states = client.metadata("n1", f"{modem}.STATE")  # sent at start, before we listened
    assert states and states[0]["message"]["DeviceState"] == 3
    modems = client.metadata("n1", "MONROE.META.DEVICE.MODEM")
    assert {m["message"]["InternalInterface"] for m in modems} == {"op0", "op1"}
    seqs = [m["message"]["SequenceNumber"] for m in client.metadata("n1")]
    assert len(seqs) == len(set(seqs)), "a message was stored twice"
    assert client.metadata("n1", "MONROE.META.DEVICE.GPS", until=started) == []
    assert client.metadata("ghost") == []

    # Background ping on both interfaces, flagged background, no execution.
    rows = wait_until(lambda: _background(client, "op0", "op1"), timeout=60,
                      what="background ping results of op0 and op1")
    assert all(r["background"] and r["execution"] is None for r in rows)
    assert all(r["value"] is None or 0 < r["value"] < 100 for r in rows)
    assert client.results(node="n1") == []  # not mixed into execution results

    cli = subprocess.run([sys.executable, "-m", "vantagepoint.cli.main", "metadata", "--url",
                          core.url, "--token", ADMIN_TOKEN, "--node", "n1", "--topic",
                          "MONROE.META.DEVICE.GPS", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert len(json.loads(cli.stdout)) >= len(fixes)


def _background(client, *interfaces):
    rows = client.background_results(node="n1", name="rtt_ms")
    seen = {r["action"].rpartition(".")[2] for r in rows if r["value"] is not None}
    return rows if seen >= set(interfaces) else None


def _pingers(agent_pid: int) -> dict[str, int]:
    """Background ping processes by interface: op0 is bound to lo, op1 to no device."""
    out = subprocess.run(["pgrep", "-P", str(agent_pid), "-x", "ping"], capture_output=True,
                         text=True)
    found = {}
    for pid in map(int, out.stdout.split()):
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        found["op0" if b"-I" in argv else "op1"] = pid
    return found


def _events(client, kind: str) -> list[dict]:
    return [m for m in client.metadata("n1", "MONROE.META.NODE.EVENT")
            if m["message"]["EventType"] == kind]


def test_watchdog_restarts_the_pinger_then_gives_up_to_maintenance(core, client, tmp_path):
    proc, _ = start(core, tmp_path, watchdog_seconds=0.5, watchdog_failures=3,
                    interfaces=json.dumps({"op0": "lo", "op1": ""}))
    wait_until(lambda: any(n.name == "n1" and n.online for n in client.nodes()), timeout=60,
               what="n1 to register")
    first = wait_until(lambda: len(p := _pingers(proc.popen.pid)) == 2 and p, timeout=30,
                       what="the pingers of op0 and op1")

    os.kill(first["op0"], signal.SIGKILL)
    again = wait_until(lambda: (p := _pingers(proc.popen.pid)).get("op0", first["op0"])
                       != first["op0"] and p, timeout=30,
                       what="the watchdog to restart the pinger")
    assert again["op1"] == first["op1"]  # only the failed service was restarted
    wait_until(lambda: _events(client, "Watchdog.Repaired"), timeout=30,
               what="a Watchdog.Repaired event at the core")
    assert client.node("n1").status == "active"

    s = Scenario("long")
    s.task("t").action("p", node="n1", tool="ping", config={"target": "127.0.0.1"},
                       results=["rtt_ms"])
    client.submit(s)
    ex = client.start(s, duration=120)
    wait_until(lambda: client.execution(ex.id).state == "running", timeout=60,
               what="the execution to run")

    for _ in range(2):  # the same check keeps failing: 3 failures in all
        pid = wait_until(lambda: _pingers(proc.popen.pid).get("op0"), timeout=30,
                         what="the pinger of op0")
        os.kill(pid, signal.SIGKILL)
        time.sleep(1.0)
    wait_until(lambda: client.node("n1").status == "maintenance", timeout=30,
               what="the node to enter maintenance")
    start_event = wait_until(lambda: _events(client, "Maintenance.Start"), timeout=30,
                             what="a Maintenance.Start event at the core")
    assert "failed 3 times" in start_event[0]["message"]["Message"]
    wait_until(lambda: client.execution(ex.id).state in ("failed", "canceled"), timeout=60,
               what="the running execution to stop")
    part = client.request("GET", f"/executions/{ex.id}")["nodes"][0]
    assert part["state"] == "failed" and "maintenance" in part["reason"]

    with pytest.raises(Unschedulable) as refused:
        client.schedule("long", duration=600, dry_run=True)
    assert "maintenance" in str(refused.value.problems)

    cli = subprocess.run([sys.executable, "-m", "vantagepoint.cli.main", "node", "resume", "n1",
                          "--url", core.url, "--token", ADMIN_TOKEN],
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert "active" in cli.stdout
    wait_until(lambda: _events(client, "Maintenance.Stop"), timeout=30,
               what="the agent to leave maintenance")
    assert client.schedule("long", duration=600, dry_run=True)["occurrences"]
