"""The ``ntp-status`` tool: how well the node's clock is synchronised, from chrony.

Each poll runs ``chronyc -c tracking`` (Debian package ``chrony``) against the
node's chronyd, through its command socket (``socket``, default chronyd's own)
or a host, and turns the CSV line into results. Without ``interval`` it polls
once, with it every ``interval`` seconds until the end of the period. Results
help judge one-way delays: ``offset_ms`` is the system clock minus NTP time
(positive: the clock is fast), ``root_delay_ms`` and ``root_dispersion_ms``
bound the error to the reference, ``synchronised`` is false when chronyd has
no usable source (its leap status "Not synchronised").
"""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import Any

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import ResultSpec
from vantagepoint.tools.base import RunContext, Tool
from vantagepoint.tools.polling import poll_until_end

PROGRAM = "chronyc"
DEFAULT_SOCKET = "/run/chrony/chronyd.sock"
FIELDS = 14  # chronyc -c tracking columns
UNSYNCHRONISED = "Not synchronised"

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "socket": {"type": "string", "pattern": "^/", "default": DEFAULT_SOCKET,
                   "description": "chronyd's command socket (a path)."},
        "host": {"type": "string", "minLength": 1,
                 "description": "Ask chronyd at this address (its UDP command port) "
                                "instead of through the socket."},
        "interval": {"type": "number", "minimum": 0.1,
                     "description": "Seconds between polls; without it, poll once."},
        "timeout": {"type": "number", "minimum": 0.1, "maximum": 60, "default": 5.0,
                    "description": "Seconds to wait for chronyc."},
    },
    "not": {"required": ["socket", "host"]},
    "examples": [{"socket": "/nonexistent/chronyd.sock", "timeout": 1},
                 {"interval": 60}],
}

RESULTS = [
    ResultSpec(name="synchronised", type="boolean",
               description="Whether chronyd has a source it follows."),
    ResultSpec(name="stratum", type="integer", description="The node's NTP stratum."),
    ResultSpec(name="reference", type="string", conditionable=False,
               description="The reference: its address or name (chronyc's second column)."),
    ResultSpec(name="offset_ms", type="number", unit="ms",
               description="System clock minus NTP time (positive: fast)."),
    ResultSpec(name="rms_offset_ms", type="number", unit="ms",
               description="Long-term average offset."),
    ResultSpec(name="frequency_ppm", type="number", unit="ppm",
               description="The clock's frequency error chronyd corrects."),
    ResultSpec(name="skew_ppm", type="number", unit="ppm",
               description="Error bound of the frequency estimate."),
    ResultSpec(name="root_delay_ms", type="number", unit="ms",
               description="Round trip to the stratum-1 reference."),
    ResultSpec(name="root_dispersion_ms", type="number", unit="ms",
               description="Accumulated error bound to the reference."),
    ResultSpec(name="leap_status", type="string", conditionable=False,
               description="Normal, Insert second, Delete second or Not synchronised."),
    ResultSpec(name="error", type="string", conditionable=False,
               description="Why chronyc gave no tracking report; only then."),
]


def parse_tracking(line: str) -> dict[str, Any]:
    """``chronyc -c tracking``'s CSV line as result values; ValueError if it is not one."""
    fields = line.strip().split(",")
    if len(fields) != FIELDS:
        raise ValueError(f"expected {FIELDS} CSV fields, got {len(fields)}: {line.strip()!r}")
    leap = fields[13]
    return {
        "synchronised": leap != UNSYNCHRONISED,
        "stratum": int(fields[2]),
        "reference": fields[1],
        "offset_ms": -float(fields[4]) * 1000,  # chronyc gives NTP time minus system time
        "rms_offset_ms": float(fields[6]) * 1000,
        "frequency_ppm": float(fields[7]),
        "skew_ppm": float(fields[9]),
        "root_delay_ms": float(fields[10]) * 1000,
        "root_dispersion_ms": float(fields[11]) * 1000,
        "leap_status": leap,
    }


class NtpStatus(Tool):
    """chronyd's tracking report: stratum, offset, frequency, error bounds."""

    name = "ntp-status"
    version = "1.0"
    description = "Clock synchronisation state from chrony (chronyc tracking)."
    config_schema = CONFIG_SCHEMA
    results = RESULTS

    def init(self, config: dict[str, Any], requested: list[str]) -> None:
        """Check the config and that chronyc is installed."""
        self.check_config(config, requested)
        if shutil.which(PROGRAM) is None:
            raise ToolError(f"{PROGRAM} is not installed on this node (Debian package chrony)")
        self.config = config

    def run(self, ctx: RunContext) -> None:
        """Poll until done (once, or every interval until the end of the period)."""
        interval = self.config.get("interval")
        poll_until_end(ctx, interval, self._poll)

    def argv(self) -> list[str]:
        """The chronyc command line of one poll."""
        where = self.config.get("host") or self.config.get("socket", DEFAULT_SOCKET)
        return [PROGRAM, "-n", "-c", "-h", where, "tracking"]

    def _poll(self, ctx: RunContext) -> None:
        began = time.time()
        report = self._tracking()
        if isinstance(report, str):
            ctx.emit("error", report, began)
            ctx.log(f"ntp-status: {report}", "warning")
            return
        for name, value in report.items():
            ctx.emit(name, value, began)

    def _tracking(self) -> dict[str, Any] | str:
        """One tracking report, or why there is none."""
        try:
            done = subprocess.run(self.argv(), capture_output=True, text=True,
                                  timeout=self.config.get("timeout", 5.0))
        except subprocess.TimeoutExpired:
            return "chronyc did not answer in time"
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            return detail[-1] if detail else f"chronyc exit status {done.returncode}"
        try:
            return parse_tracking(done.stdout)
        except ValueError as exc:
            return f"chronyc gave no tracking report: {exc}"
