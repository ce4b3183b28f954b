"""The ``capture`` tool: tcpdump on the node's interface into a pcap file.

The capture runs on the action's measurement interface (``any`` when the
action has none) with an optional BPF filter, which init compiles with
``tcpdump -d`` and refuses with tcpdump's own message. It stops at the first
of: ``count`` packets, the file reaching ``max_bytes`` (checked every 0.1 s,
so it may overshoot by what arrives meanwhile), or the end of the period.

The pcap file stays on the node, in the action's result store (its work
directory), where the core can fetch it: ``path`` is relative to that store.
``packets`` and ``dropped`` are tcpdump's own counts, printed when it exits.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Any

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import ResultSpec
from vantagepoint.tools.base import ActionEnv, RunContext, Tool
from vantagepoint.tools.child import Child

PROGRAM = "tcpdump"
POLL = 0.1
READY_WAIT = 5.0  # seconds tcpdump may take to open the interface
CHECK_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 100_000_000
COUNTS = {
    "packets": re.compile(r"^(\d+) packets? captured"),
    "dropped": re.compile(r"^(\d+) packets? dropped by kernel"),
}

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "filter": {"type": "string", "default": "",
                   "description": "BPF filter expression (pcap-filter(7)); empty: all."},
        "max_bytes": {"type": "integer", "minimum": 1, "default": DEFAULT_MAX_BYTES,
                      "description": "Stop once the file is this large."},
        "count": {"type": "integer", "minimum": 1,
                  "description": "Stop after this many packets."},
        "snaplen": {"type": "integer", "minimum": 0, "maximum": 262144,
                    "description": "Bytes kept of each packet (tcpdump's default: 262144)."},
        "promiscuous": {"type": "boolean", "default": False,
                        "description": "Put the interface into promiscuous mode."},
        "file": {"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
                 "default": "capture.pcap",
                 "description": "Name of the pcap file in the action's result store."},
    },
    "examples": [
        {"filter": "icmp", "count": 100, "max_bytes": 1000000},
        {"filter": "tcp port 80 or tcp port 443", "snaplen": 128},
    ],
}

RESULTS = [
    ResultSpec(name="path", type="string", conditionable=False,
               description="The pcap file, relative to the action's result store."),
    ResultSpec(name="bytes", type="integer", unit="B", description="Size of the pcap file."),
    ResultSpec(name="packets", type="integer", unit="packets",
               description="Packets written (tcpdump's 'packets captured')."),
    ResultSpec(name="dropped", type="integer", unit="packets",
               description="Packets the kernel dropped for lack of buffer space."),
]


def check_filter(interface: str, expression: str) -> None:
    """Compile ``expression`` for ``interface`` without capturing; refuse with tcpdump's reason."""
    try:
        done = subprocess.run([PROGRAM, "-i", interface, "-d", "--", expression],
                              capture_output=True, text=True, timeout=CHECK_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolError(f"cannot check the filter with {PROGRAM}: {exc}") from exc
    if done.returncode != 0:
        lines = [line.removeprefix("tcpdump: ") for line in done.stderr.splitlines()
                 if line and not line.startswith("Warning")]
        reason = "; ".join(lines) or f"exit status {done.returncode}"
        raise ToolError(f"filter {expression!r} refused on {interface}: {reason}")


def parse_counts(stderr: list[str]) -> dict[str, int]:
    """tcpdump's exit statistics ('N packets captured', '... dropped by kernel')."""
    counts = {}
    for line in stderr:
        for name, pattern in COUNTS.items():
            found = pattern.match(line.strip())
            if found:
                counts[name] = int(found.group(1))
    return counts


class Capture(Tool):
    """tcpdump into the result store: pcap path, size and packet counts."""

    name = "capture"
    version = "1.0"
    description = "Packet capture (tcpdump) with a BPF filter into a pcap kept on the node."
    config_schema = CONFIG_SCHEMA
    results = RESULTS

    def __init__(self, env: ActionEnv):
        super().__init__(env)
        self.child: Child | None = None
        self.ready = threading.Event()

    def init(self, config: dict[str, Any], requested: list[str]) -> None:
        """Check the config and the interface, compile the filter, pick the file."""
        self.check_config(config, requested)
        if shutil.which(PROGRAM) is None:
            raise ToolError(f"{PROGRAM} is not installed on this node")
        self.interface = self.env.device or "any"
        if self.interface != "any" and not os.path.exists(f"/sys/class/net/{self.interface}"):
            raise ToolError(f"device {self.interface!r} does not exist on this node")
        self.config = config
        self.filter: str = config.get("filter", "")
        check_filter(self.interface, self.filter)
        if self.env.workdir is not None and not os.path.isdir(self.env.workdir):
            raise ToolError(f"result store {self.env.workdir!r} is not a directory on this node")

    def run(self, ctx: RunContext) -> None:
        """Capture until the count, the size cap or the end of the period."""
        name = self.config.get("file", "capture.pcap")
        store = self.env.workdir or tempfile.mkdtemp(prefix="vp-capture-")  # no store: tests
        self.path = os.path.join(store, name)
        self.shown = name if self.env.workdir else self.path
        self.child = Child(self._argv(), self._line)
        if not self._wait_ready(ctx):
            self.child.stop()
            raise ToolError(f"tcpdump did not start: {'; '.join(self.child.stderr()[-3:])}")
        reason = self._follow(ctx)
        self.child.stop()
        counts = parse_counts(self.child.stderr())
        size = os.path.getsize(self.path) if os.path.exists(self.path) else 0
        ctx.emit("path", self.shown)
        ctx.emit("bytes", size)
        for name in ("packets", "dropped"):
            if name in counts:
                ctx.emit(name, counts[name])
        ctx.log(f"capture on {self.interface} stopped {reason}: {counts.get('packets', '?')} "
                f"packets, {size} bytes in {self.shown}")

    def finish(self) -> None:
        """Make sure tcpdump is gone (the file stays)."""
        if self.child is not None:
            self.child.stop()

    def _argv(self) -> list[str]:
        c = self.config
        argv = [PROGRAM, "-i", self.interface, "-n", "-U", "--immediate-mode",
                "-Z", pwd.getpwuid(os.geteuid()).pw_name, "-w", self.path]
        if "count" in c:
            argv += ["-c", str(c["count"])]
        if "snaplen" in c:
            argv += ["-s", str(c["snaplen"])]
        if not c.get("promiscuous", False):
            argv.append("-p")
        return argv + ["--", self.filter] if self.filter else argv

    def _line(self, stream: str, line: str) -> None:
        if stream == "stderr" and line.startswith(f"{PROGRAM}: listening on"):
            self.ready.set()

    def _wait_ready(self, ctx: RunContext) -> bool:
        give_up = time.monotonic() + READY_WAIT
        while not self.ready.wait(POLL / 2):
            if not self.child.running or time.monotonic() >= give_up or ctx.stopping:
                return self.ready.is_set()
        ctx.log(f"capturing on {self.interface}"
                f"{' (' + self.filter + ')' if self.filter else ''} into {self.shown}")
        return True

    def _follow(self, ctx: RunContext) -> str:
        """Wait for the end of the capture; why it ended."""
        cap = self.config.get("max_bytes", DEFAULT_MAX_BYTES)
        while self.child.running:
            if ctx.wait(POLL):
                return "at the end of the period"
            if os.path.exists(self.path) and os.path.getsize(self.path) >= cap:
                return f"at the size cap ({cap} bytes)"
        return "after its packet count" if "count" in self.config else "by itself"
