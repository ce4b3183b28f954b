"""The ``snmp-get`` tool: SNMP GET of a list of OIDs with net-snmp's ``snmpget``.

Each poll runs ``snmpget`` (Debian package ``snmp``) once for every OID of the
config, with numeric OIDs and no MIBs loaded, so no MIB files are needed on the
node; without ``interval`` it polls once, with it every ``interval`` seconds
until the end of the period (a device's counters through a load test). On an
action bound to an interface the requests leave from that interface's address
(net-snmp's ``clientaddr``).

Each answered OID is one ``varbind`` result ``{"oid", "type", "value"}``:
integers, counters, gauges and timeticks (hundredths of a second) as numbers,
everything else as the string snmpget printed. An OID the agent does not have
gives a varbind with type ``noSuchObject`` or ``noSuchInstance``. ``response_ms``
is the duration of the snmpget run; a poll that got no answer emits ``error``.
"""

from __future__ import annotations

import fcntl
import re
import shutil
import socket
import struct
import subprocess
import time
from typing import Any

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import ResultSpec
from vantagepoint.tools.base import RunContext, Tool
from vantagepoint.tools.polling import poll_until_end

PROGRAM = "snmpget"
SIOCGIFADDR = 0x8915
NUMERIC = ("INTEGER", "Counter32", "Counter64", "Gauge32", "Unsigned32", "Timeticks",
           "UInteger32")
MISSING = {"No Such Object": "noSuchObject", "No Such Instance": "noSuchInstance"}
LINE = re.compile(r"^(?P<oid>\.?[0-9.]+) = (?:(?P<type>[A-Za-z0-9-]+): )?(?P<value>.*)$")

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["target", "oids"],
    "properties": {
        "target": {"type": "string", "minLength": 1,
                   "description": "Host name or address of the SNMP agent."},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 161},
        "community": {"type": "string", "minLength": 1, "maxLength": 64,
                      "pattern": "^[^\\s]+$", "default": "public",
                      "description": "SNMPv1/v2c community."},
        "version": {"enum": ["1", "2c"], "default": "2c"},
        "oids": {"type": "array", "minItems": 1, "maxItems": 64, "uniqueItems": True,
                 "items": {"type": "string", "pattern": "^\\.?[0-9]+(\\.[0-9]+)+$"},
                 "description": "Numeric OIDs to get, e.g. 1.3.6.1.2.1.1.3.0 (sysUpTime)."},
        "interval": {"type": "number", "minimum": 0.1,
                     "description": "Seconds between polls; without it, poll once."},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 60, "default": 2.0,
                    "description": "Seconds to wait for each answer."},
        "retries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
    },
    "examples": [
        {"target": "127.0.0.1", "port": 9, "oids": ["1.3.6.1.2.1.1.3.0"], "timeout": 0.2,
         "retries": 0},
        {"target": "192.0.2.1", "community": "monitor",
         "oids": ["1.3.6.1.2.1.2.2.1.10.1", "1.3.6.1.2.1.2.2.1.16.1"], "interval": 5},
    ],
}

RESULTS = [
    ResultSpec(name="varbind", type="object", conditionable=False,
               description='One answered OID: {"oid", "type", "value"}.'),
    ResultSpec(name="response_ms", type="number", unit="ms",
               description="Duration of one poll (the snmpget run)."),
    ResultSpec(name="error", type="string", conditionable=False,
               description="Why a poll got no answer (timeout, refused...); only then."),
]


def parse_line(line: str) -> dict[str, Any] | None:
    """One snmpget output line as a varbind; None when it is not one."""
    found = LINE.match(line.strip())
    if not found:
        return None
    oid, kind, value = found["oid"].lstrip("."), found["type"], found["value"]
    for text, missing in MISSING.items():
        if value.startswith(text):
            return {"oid": oid, "type": missing, "value": None}
    if kind == "Timeticks":
        ticks = re.match(r"\((\d+)\)", value)
        return {"oid": oid, "type": kind, "value": int(ticks[1]) if ticks else value}
    if kind in NUMERIC:
        try:
            return {"oid": oid, "type": kind, "value": int(value.split()[0])}
        except (ValueError, IndexError):
            pass
    if kind == "STRING" and len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return {"oid": oid, "type": kind or "unknown", "value": value}


def device_address(device: str) -> str:
    """The IPv4 address of ``device`` (the source of requests bound to it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), SIOCGIFADDR,
                                 struct.pack("256s", device.encode()[:15]))
        except OSError as exc:
            raise ToolError(f"device {device!r} has no IPv4 address on this node "
                            f"({exc.strerror})") from exc
    return socket.inet_ntoa(packed[20:24])


class SnmpGet(Tool):
    """SNMP GET (v1/v2c) of a list of OIDs, once or every interval."""

    name = "snmp-get"
    version = "1.0"
    description = "SNMP GET of numeric OIDs with net-snmp's snmpget, once or periodically."
    config_schema = CONFIG_SCHEMA
    results = RESULTS

    def init(self, config: dict[str, Any], requested: list[str]) -> None:
        """Check the config, that snmpget is installed and the source address."""
        self.check_config(config, requested)
        if shutil.which(PROGRAM) is None:
            raise ToolError(f"{PROGRAM} is not installed on this node (Debian package snmp)")
        self.config = config
        self.source = device_address(self.env.device) if self.env.device else None

    def run(self, ctx: RunContext) -> None:
        """Poll until done (once, or every interval until the end of the period)."""
        interval = self.config.get("interval")
        ctx.log(f"snmp-get {len(self.config['oids'])} OIDs from {self.config['target']}"
                + (f" every {interval:g} s" if interval else ""))
        poll_until_end(ctx, interval, self._poll)

    def argv(self) -> list[str]:
        """The snmpget command line of one poll."""
        c = self.config
        argv = [PROGRAM, "-v", c.get("version", "2c"), "-c", c.get("community", "public"),
                "-m", "", "-On", "-Oe", "-OU", "-t", f"{c.get('timeout', 2.0):g}",
                "-r", str(c.get("retries", 1))]
        if self.source:
            argv.append(f"--clientaddr={self.source}")
        return argv + [f"udp:{c['target']}:{c.get('port', 161)}", *c["oids"]]

    def _poll(self, ctx: RunContext) -> None:
        c = self.config
        limit = c.get("timeout", 2.0) * (c.get("retries", 1) + 1) + 5
        began = time.time()
        try:
            done = subprocess.run(self.argv(), capture_output=True, text=True,
                                  timeout=min(limit, max(ctx.remaining, 1.0) + 5))
        except subprocess.TimeoutExpired:
            ctx.emit("error", "snmpget did not finish in time", began)
            return
        took = (time.time() - began) * 1000
        varbinds = [v for v in map(parse_line, done.stdout.splitlines()) if v]
        if not varbinds:
            reason = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
            ctx.emit("error", reason[0], began)
            ctx.log(f"snmp-get: {reason[0]}", "warning")
            return
        ctx.emit("response_ms", took, began)
        for varbind in varbinds:
            ctx.emit("varbind", varbind, began)
