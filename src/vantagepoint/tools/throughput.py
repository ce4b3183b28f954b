"""The ``throughput`` tool: iperf3 (3.x) as a server action and a client action.

A measurement is two actions: ``role: server`` runs ``iperf3 -s -1`` (one test,
then it exits) and ``role: client`` runs the test against it. Nothing starts
at init; the server starts at the beginning of its period and is listening
before its run logs "listening"; the client retries a refused connection for
``connect_retry_s`` seconds, so the two may start together (or order them
with start offsets). Both are bound to the action's measurement interface
(``--bind-dev``) and stopped (SIGTERM, then SIGKILL) at the end of the period.

iperf3 3.12 has no streaming JSON, so the per-interval results are emitted
when the test ends, each stamped with its interval's start. Each side reports
what it saw: the summary comes from the receiver's counts (iperf3 exchanges
them), ``interval_mbps`` from this side's own intervals.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from typing import Any

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import ResultSpec
from vantagepoint.tools.base import ActionEnv, RunContext, Tool
from vantagepoint.tools.child import Child

PROGRAM = "iperf3"
POLL = 0.05
END_MARGIN = 2.0  # seconds a default-length test leaves for setup and the result exchange
LISTEN_WAIT = 5.0  # seconds the server may take to listen
RETRY_PAUSE = 0.5
RETRYABLE = ("unable to connect to server", "server is busy", "unable to receive control")

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["role"],
    "properties": {
        "role": {"enum": ["server", "client"],
                 "description": "server: accept one test; client: run it."},
        "server": {"type": "string", "minLength": 1,
                   "description": "Client only: host name or address of the server."},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 5201,
                 "description": "Control and data port."},
        "duration": {"type": "integer", "minimum": 1,
                     "description": "Client only: seconds of traffic (default: the period, "
                                    "less 2 s for setup and results)."},
        "protocol": {"enum": ["tcp", "udp"], "default": "tcp",
                     "description": "Client only: transport protocol."},
        "bitrate_mbit": {"type": "number", "exclusiveMinimum": 0,
                         "description": "Client only: target rate per stream (iperf3's "
                                        "default: unlimited for tcp, 1 Mbit/s for udp)."},
        "reverse": {"type": "boolean", "default": False,
                    "description": "Client only: the server sends, the client receives."},
        "parallel": {"type": "integer", "minimum": 1, "maximum": 128, "default": 1,
                     "description": "Client only: parallel streams."},
        "interval": {"type": "number", "minimum": 0.1, "maximum": 60, "default": 1,
                     "description": "Seconds per interval_mbps value."},
        "connect_retry_s": {"type": "number", "minimum": 0, "default": 5,
                            "description": "Client only: how long to retry a server that "
                                           "is not listening yet (or busy)."},
    },
    "allOf": [
        {"if": {"properties": {"role": {"const": "client"}}},
         "then": {"required": ["server"]}},
        {"if": {"properties": {"role": {"const": "server"}}},
         "then": {"not": {"anyOf": [{"required": [k]} for k in (
             "server", "duration", "protocol", "bitrate_mbit", "reverse", "parallel",
             "connect_retry_s")]}}},
    ],
    "examples": [
        {"role": "client", "server": "127.0.0.1", "port": 5299, "duration": 10},
        {"role": "server", "port": 5201},
        {"role": "client", "server": "198.51.100.7", "protocol": "udp", "bitrate_mbit": 20,
         "reverse": True},
    ],
}

RESULTS = [
    ResultSpec(name="goodput_mbps", type="number", unit="Mbit/s",
               description="Received bits per second over the whole test (receiver's count)."),
    ResultSpec(name="retransmits", type="integer",
               description="TCP retransmissions of the sending side."),
    ResultSpec(name="interval_mbps", type="number", unit="Mbit/s",
               description="This side's rate in each interval (stamped with its start)."),
    ResultSpec(name="lost_pct", type="number", unit="%", description="UDP datagrams lost."),
    ResultSpec(name="jitter_ms", type="number", unit="ms", description="UDP jitter (RFC 3550)."),
    ResultSpec(name="error", type="string", conditionable=False,
               description="Why the test failed or was cut short; empty when it completed."),
]


class Throughput(Tool):
    """iperf3 server or client; goodput, retransmits, per-interval rates, UDP loss."""

    name = "throughput"
    version = "1.0"
    description = "iperf3 TCP/UDP throughput between a server action and a client action."
    config_schema = CONFIG_SCHEMA
    results = RESULTS

    def __init__(self, env: ActionEnv):
        super().__init__(env)
        self.child: Child | None = None

    def init(self, config: dict[str, Any], requested: list[str]) -> None:
        """Check the config and that iperf3 is installed; start nothing yet."""
        self.check_config(config, requested)
        if shutil.which(PROGRAM) is None:
            raise ToolError(f"{PROGRAM} is not installed on this node")
        if self.env.device and not os.path.exists(f"/sys/class/net/{self.env.device}"):
            raise ToolError(f"device {self.env.device!r} does not exist on this node")
        self.config = config
        self.port: int = config.get("port", 5201)

    def run(self, ctx: RunContext) -> None:
        """Serve one test or run one, until done or the end of the period."""
        if self.config["role"] == "server":
            report = self._serve(ctx)
        else:
            report = self._measure(ctx)
        emit(ctx, report, self.config.get("interval", 1))

    def finish(self) -> None:
        """Make sure iperf3 is gone."""
        if self.child is not None:
            self.child.stop()

    def _common(self) -> list[str]:
        argv = [PROGRAM, "-J", "-p", str(self.port), "-i", f"{self.config.get('interval', 1):g}"]
        if self.env.device:
            argv += ["--bind-dev", self.env.device]
        return argv

    def _serve(self, ctx: RunContext) -> dict[str, Any]:
        self.child = Child([PROGRAM, "-s", "-1", *self._common()[1:]])
        if wait_listening(self.child, self.port, ctx):
            ctx.log(f"iperf3 server listening on port {self.port}"
                    f"{' on ' + self.env.device if self.env.device else ''}")
        report = self._follow(ctx)
        if not report.get("intervals") and ctx.stopping:
            report["error"] = "no client ran a test before the end of the period"
        return report

    def _measure(self, ctx: RunContext) -> dict[str, Any]:
        give_up = time.monotonic() + self.config.get("connect_retry_s", 5)
        attempts = 0
        while True:
            attempts += 1
            self.child = Child(self._client_argv(ctx))
            report = self._follow(ctx)
            error = report.get("error", "")
            if not any(r in error for r in RETRYABLE) or time.monotonic() >= give_up:
                break
            self.child = None
            if ctx.wait(min(RETRY_PAUSE, give_up - time.monotonic())):
                break
        if attempts > 1:
            ctx.log(f"connected after {attempts} attempts" if "error" not in report else
                    f"gave up after {attempts} attempts")
        return report

    def _client_argv(self, ctx: RunContext) -> list[str]:
        c = self.config
        seconds = max(1, int(ctx.remaining - END_MARGIN))
        if c.get("duration", seconds) > seconds:
            ctx.log(f"duration {c['duration']} s cut to {seconds} s to end within the period",
                    "warning")
        argv = [*self._common(), "-c", c["server"], "-t", str(min(c.get("duration", seconds),
                                                                  seconds))]
        argv += ["--connect-timeout", str(max(1, int(min(ctx.remaining, 10) * 1000)))]
        if c.get("protocol") == "udp":
            argv.append("-u")
        if "bitrate_mbit" in c:
            argv += ["-b", f"{c['bitrate_mbit'] * 1e6:.0f}"]
        if c.get("reverse"):
            argv.append("-R")
        if c.get("parallel", 1) > 1:
            argv += ["-P", str(c["parallel"])]
        return argv

    def _follow(self, ctx: RunContext) -> dict[str, Any]:
        """Wait for iperf3 to end (stopping it at the period's end); its JSON report."""
        child = self.child
        while child.running and not ctx.wait(POLL):
            pass
        killed = child.running
        status = child.stop()
        ended = time.time()
        report = parse_report(child.stdout(), child.stderr(), status)
        if killed:
            ctx.log("iperf3 stopped at the end of the period", "warning")
        report["_ended"] = ended
        return report


def parse_report(stdout: str, stderr: list[str], status: int) -> dict[str, Any]:
    """iperf3's JSON report, or one holding only an error when there is none."""
    try:
        report = json.loads(stdout)
    except ValueError:
        detail = "; ".join(stderr[-3:]) or f"exit status {status}"
        return {"error": f"iperf3 gave no JSON report ({detail})"}
    return report if isinstance(report, dict) else {"error": "iperf3 report is not an object"}


def wait_listening(child: Child, port: int, ctx: RunContext) -> bool:
    """Wait until ``child`` listens on TCP ``port``; False if it ended or took too long."""
    give_up = time.monotonic() + LISTEN_WAIT
    while child.running and time.monotonic() < give_up:
        if listening_inodes(port) & socket_inodes(child.proc.pid):
            return True
        if ctx.wait(POLL / 2):
            break
    return False


def listening_inodes(port: int) -> set[str]:
    """Inodes of the TCP sockets listening on ``port`` in this network namespace."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = [line.split() for line in f.readlines()[1:]]
        except OSError:
            continue
        for row in rows:
            if row[3] == "0A" and int(row[1].rsplit(":", 1)[1], 16) == port:
                found.add(row[9])
    return found


def socket_inodes(pid: int) -> set[str]:
    """Inodes of the sockets process ``pid`` holds open."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass  # gone meanwhile
    return inodes


def emit(ctx: RunContext, report: dict[str, Any], nominal: float) -> None:
    """Emit the interval series, the summary (when the test completed) and the error.

    Intervals shorter than a fifth of ``nominal`` (the server's tail after the
    client's last one) are left out: their rate is noise.
    """
    intervals = report.get("intervals") or []
    start = started_at(report, intervals)
    protocol = str(report.get("start", {}).get("test_start", {}).get("protocol", "tcp"))
    for interval in intervals:
        total = interval.get("sum", {})
        if "bits_per_second" in total and total.get("seconds", nominal) >= nominal / 5:
            ctx.emit("interval_mbps", total["bits_per_second"] / 1e6,
                     start + total.get("start", 0.0))
    error = report.get("error", "")
    if not error and intervals:
        _summary(ctx, report.get("end", {}), protocol.lower())
    ctx.emit("error", error)
    if error:
        ctx.log(f"iperf3: {error}", "warning")


def started_at(report: dict[str, Any], intervals: list[dict[str, Any]]) -> float:
    """Epoch seconds of the test's start: iperf3 gives whole seconds, so refine it
    from when iperf3 ended and how long its intervals ran."""
    ended = report.get("_ended", time.time())
    whole = report.get("start", {}).get("timestamp", {}).get("timesecs")
    last = intervals[-1].get("sum", {}).get("end", 0.0) if intervals else 0.0
    estimate = ended - last
    if isinstance(whole, int | float):
        estimate = min(max(estimate, whole), whole + 1)
    return float(estimate)


def _summary(ctx: RunContext, end: dict[str, Any], protocol: str) -> None:
    received = end.get("sum_received") or end.get("sum") or {}
    sent = end.get("sum_sent") or {}
    if received.get("bytes") or not sent.get("bytes"):
        ctx.emit("goodput_mbps", received.get("bits_per_second", 0.0) / 1e6)
    else:  # an iperf3 server that sent (reverse) is not told what arrived
        ctx.log("the receiver's count is in the client's report only")
    if protocol == "tcp" and "retransmits" in sent:
        ctx.emit("retransmits", int(sent["retransmits"]))
    if protocol == "udp":
        udp = end.get("sum") or received
        if "lost_percent" in udp:
            ctx.emit("lost_pct", float(udp["lost_percent"]))
        if "jitter_ms" in udp:
            ctx.emit("jitter_ms", float(udp["jitter_ms"]))
    counted = received if received.get("bytes") else sent
    ctx.log(f"iperf3 done: {counted.get('bytes', 0)} bytes "
            f"{'received' if counted is received else 'sent'} in "
            f"{counted.get('seconds', 0):.3f} s "
            f"({counted.get('bits_per_second', 0) / 1e6:.6g} Mbit/s)")
