"""The ``shaper`` tool: limit the egress rate of an interface for its period.

At init it records the interface's root qdisc (``tc -j qdisc show``) and
refuses what it could not put back afterwards (a classful hierarchy, a kind
it does not know how to re-create, or another shaper's qdisc). During its
period a token bucket (``tbf``, or ``htb`` with one default class) is the
root qdisc, with handle ``7670:``; at the end of the period, and in
``finish`` whatever happened in between, that qdisc is deleted and the
previous root is put back when the kernel's default is not what was there.

Only egress is shaped: ingress shaping (through an ifb device) is not
implemented. The device is the action's measurement interface, or
``device`` when the config names one (e.g. a bridge or ``lo``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import ResultSpec
from vantagepoint.tools.base import ActionEnv, RunContext, Tool

HANDLE = "7670:"
TC_TIMEOUT = 10.0
CAP_NET_ADMIN = 12
DEFAULT_HANDLE = "0:"  # what the kernel's own root qdiscs show
SIDE_QDISCS = ("ingress", "clsact")  # not under the root: left alone

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["rate_mbit"],
    "properties": {
        "rate_mbit": {"type": "number", "exclusiveMinimum": 0, "maximum": 100000,
                      "description": "Rate limit in Mbit/s (link-layer bytes)."},
        "burst_kb": {"type": "number", "exclusiveMinimum": 0,
                     "description": "Bucket size in KiB (default: 10 ms at the rate, at "
                                    "least 16 KiB)."},
        "latency_ms": {"type": "number", "exclusiveMinimum": 0, "default": 50,
                       "description": "tbf: longest a packet may wait in the queue."},
        "qdisc": {"enum": ["tbf", "htb"], "default": "tbf",
                  "description": "Token bucket filter, or htb with one default class."},
        "direction": {"enum": ["egress"], "default": "egress",
                      "description": "Only egress is shaped (no ifb ingress shaping)."},
        "device": {"type": "string", "minLength": 1, "maxLength": 15,
                   "description": "Shape this device instead of the measurement interface."},
    },
    "examples": [
        {"rate_mbit": 40000, "burst_kb": 16384, "device": "lo"},
        {"rate_mbit": 5, "latency_ms": 100},
        {"rate_mbit": 2, "qdisc": "htb", "burst_kb": 32},
    ],
}

RESULTS = [
    ResultSpec(name="applied", type="boolean",
               description="Whether the rate limit was in place."),
    ResultSpec(name="rate_mbit", type="number", unit="Mbit/s",
               description="The rate the kernel reports for the limit."),
    ResultSpec(name="restored", type="boolean",
               description="Whether the previous root qdisc is back at the end."),
]


def tc(*args: str) -> str:
    """Run ``tc`` and return its output; ToolError with its message on failure."""
    try:
        done = subprocess.run(["tc", *args], capture_output=True, text=True,
                              timeout=TC_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolError(f"tc {' '.join(args)} failed: {exc}") from exc
    if done.returncode != 0:
        message = done.stderr.strip() or f"exit status {done.returncode}"
        raise ToolError(f"tc {' '.join(args)}: {message}")
    return done.stdout


def root_qdisc(device: str) -> dict[str, Any] | None:
    """The root qdisc of ``device`` as ``tc -j`` shows it (None when none shows)."""
    shown = json.loads(tc("-j", "qdisc", "show", "dev", device) or "[]")
    return next((q for q in shown if q.get("root")), None)


def recreate_args(saved: dict[str, Any]) -> list[str] | None:
    """The ``tc qdisc add`` arguments that re-create a root qdisc; None if unknown."""
    kind, options = saved["kind"], saved.get("options", {})
    if kind == "tbf":
        # tc shows the burst rounded down from the kernel's ticks: one byte more gives it back
        args = ["tbf", "rate", f"{options['rate'] * 8}bit", "burst", str(options["burst"] + 1)]
        return args + (["latency", f"{options['lat']}us"] if "lat" in options
                       else ["limit", str(options.get("limit", options["burst"]))])
    if kind in ("pfifo", "bfifo"):
        return [kind, "limit", str(options["limit"])]
    if kind == "htb":
        return ["htb", "default", str(options.get("default", "0")).removeprefix("0x"),
                "r2q", str(options.get("r2q", 10))]
    if kind in ("pfifo_fast", "fq_codel", "fq", "sfq"):
        return [kind]  # with its defaults: their options are rarely changed
    return None


def has_net_admin() -> bool:
    """Whether this process holds CAP_NET_ADMIN (needed to change qdiscs)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_NET_ADMIN & 1)
    except OSError:
        pass
    return os.geteuid() == 0


class Shaper(Tool):
    """A rate limit (tbf or htb) on the node's interface during the period."""

    name = "shaper"
    version = "1.0"
    description = "Limit an interface's egress rate (tc tbf/htb) for the period, then restore."
    config_schema = CONFIG_SCHEMA
    results = RESULTS

    def __init__(self, env: ActionEnv):
        super().__init__(env)
        self.applied = False

    def init(self, config: dict[str, Any], requested: list[str]) -> None:
        """Check the config, the device and the privileges; record the current root qdisc."""
        self.check_config(config, requested)
        self.device = config.get("device") or self.env.device
        if not self.device:
            raise ToolError("shaper needs a device: run it on a node interface "
                            "(or name one with 'device')")
        if not os.path.exists(f"/sys/class/net/{self.device}"):
            raise ToolError(f"device {self.device!r} does not exist on this node")
        if shutil.which("tc") is None:
            raise ToolError("tc (iproute2) is not installed on this node")
        if not has_net_admin():
            raise ToolError("shaper needs root (or CAP_NET_ADMIN) to change qdiscs")
        self.rate_mbit: float = config["rate_mbit"]
        self.burst = int(config.get("burst_kb", max(16.0, self.rate_mbit * 1.25)) * 1024)
        self.latency_ms: float = config.get("latency_ms", 50)
        self.kind: str = config.get("qdisc", "tbf")
        self._check_burst("burst_kb" in config)
        self.saved = root_qdisc(self.device)
        self._check_restorable()

    def run(self, ctx: RunContext) -> None:
        """Apply the limit, hold it until the end of the period, then restore."""
        try:
            self._apply()
        except ToolError:
            ctx.emit("applied", False)
            raise
        rate = self._kernel_rate()
        ctx.emit("applied", True)
        ctx.emit("rate_mbit", rate)
        ctx.log(f"{self.kind} at {rate:g} Mbit/s on {self.device} "
                f"(burst {self.burst} bytes) until the end of the period")
        while not ctx.wait(3600):
            pass
        restored = self._restore()
        ctx.emit("restored", restored)
        ctx.log(f"{self.device}: limit removed, previous root qdisc "
                f"{'back' if restored else 'NOT restored'}", "info" if restored else "warning")

    def finish(self) -> None:
        """Remove the limit if it is still there (the run failed or was canceled)."""
        self._restore()

    def _check_burst(self, explicit: bool) -> None:
        """A bucket smaller than one frame would drop every full-size packet."""
        try:
            with open(f"/sys/class/net/{self.device}/mtu") as f:
                frame = int(f.read()) + 14
        except (OSError, ValueError):
            return
        if self.burst >= frame:
            return
        if explicit:
            raise ToolError(f"burst_kb {self.burst / 1024:g} is smaller than one frame on "
                            f"{self.device} ({frame} bytes): such packets would be dropped")
        self.burst = frame

    def _check_restorable(self) -> None:
        saved = self.saved
        if saved is None or saved.get("handle") == DEFAULT_HANDLE:
            return
        if saved.get("handle") == HANDLE:
            raise ToolError(f"{self.device} is already shaped by another shaper action")
        if recreate_args(saved) is None:
            raise ToolError(f"{self.device} has a {saved['kind']} root qdisc the shaper "
                            "could not put back afterwards; remove it or shape another device")
        shown = json.loads(tc("-j", "qdisc", "show", "dev", self.device) or "[]")
        children = [q for q in shown if not q.get("root") and q["kind"] not in SIDE_QDISCS]
        classes = saved["kind"] == "htb" and tc("class", "show", "dev", self.device).strip()
        if children or classes:
            raise ToolError(f"{self.device} has a {saved['kind']} hierarchy (classes or "
                            "child qdiscs) the shaper could not put back; remove it first")

    def _apply(self) -> None:
        dev, rate = self.device, f"{self.rate_mbit * 1e6:.0f}bit"
        self.applied = True  # from here finish cleans up, even after a partial apply
        if self.kind == "tbf":
            tc("qdisc", "replace", "dev", dev, "root", "handle", HANDLE, "tbf", "rate", rate,
               "burst", str(self.burst), "latency", f"{self.latency_ms * 1000:.0f}us")
            return
        tc("qdisc", "replace", "dev", dev, "root", "handle", HANDLE, "htb", "default", "1")
        tc("class", "add", "dev", dev, "parent", HANDLE, "classid", HANDLE + "1", "htb",
           "rate", rate, "ceil", rate, "burst", str(self.burst), "cburst", str(self.burst))

    def _kernel_rate(self) -> float:
        root = root_qdisc(self.device) or {}
        if root.get("kind") == "tbf" and "rate" in root.get("options", {}):
            return root["options"]["rate"] * 8 / 1e6
        return self.rate_mbit  # htb's class rate is not in the qdisc's JSON

    def _restore(self) -> bool:
        """Delete our root qdisc and put the previous one back; whether it is back."""
        if not self.applied:
            return True
        self.applied = False
        current = root_qdisc(self.device) or {}
        if current.get("handle") != HANDLE:
            return _same(current, self.saved)  # changed by someone else: theirs now
        tc("qdisc", "del", "dev", self.device, "root")
        if _same(root_qdisc(self.device), self.saved):
            return True
        args = recreate_args(self.saved) if self.saved else None
        if args is not None and self.saved.get("handle") != DEFAULT_HANDLE:
            tc("qdisc", "replace", "dev", self.device, "root", "handle",
               self.saved["handle"], *args)
        elif args is not None:
            tc("qdisc", "replace", "dev", self.device, "root", *args)
        return _same(root_qdisc(self.device), self.saved)


def _same(current: dict[str, Any] | None, saved: dict[str, Any] | None) -> bool:
    """Whether two root qdiscs match in kind, handle (unless default) and options."""
    if current is None or saved is None:
        return current is None and saved is None
    if current.get("kind") != saved.get("kind"):
        return False
    if saved.get("handle") != DEFAULT_HANDLE and current.get("handle") != saved.get("handle"):
        return False
    now, before = current.get("options", {}), saved.get("options", {})
    return now.keys() == before.keys() and all(_near(now[k], before[k]) for k in now)


def _near(a: Any, b: Any) -> bool:
    """Equal, or numbers within the kernel's rounding (0.1 %, at least 2 units)."""
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) <= max(2, abs(b) / 1000)
    return a == b
