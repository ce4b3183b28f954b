"""The ``experiment`` tool: a user's program in a bubblewrap sandbox on the node.

The program comes as layers the user uploaded (``vantage layer push``), named
by SHA-256: ``rootfs``, a root file system image, and/or ``program``, a
directory mounted at ``/monroe/program``; the agent fetches and unpacks each
layer once, ahead of the run. ``options`` become ``/monroe/config`` (secrets go
there, never in images); files written to ``/monroe/results`` reach the core
during and after the run. Only the action's measurement interface is visible.
The run stops at the end of its slot, on cancel, or when it exceeds a limit
(memory, results storage, traffic); then the reason is logged and the run fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

from vantagepoint.errors import ToolError
from vantagepoint.sandbox import bwrap, network
from vantagepoint.sandbox.layers import DIGEST_PATTERN, LayerCache, cache_root
from vantagepoint.sandbox.limits import Group, Limits, group_for
from vantagepoint.sandbox.watch import Check, first_exceeded, tree_bytes
from vantagepoint.spec.tools import ResultSpec
from vantagepoint.tools.base import ActionEnv, RunContext, Tool

POLL = 0.2
KILL_GRACE = 3.0
TAIL_LINES = 20
MB = 1_000_000
BUS_ENV = "VANTAGE_AGENT_BUS_ENDPOINT"  # the agent exports its bus endpoint to its workers

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["argv"],
    "properties": {
        "argv": {"type": "array", "minItems": 1, "items": {"type": "string"},
                 "description": "The program to run inside the sandbox, without a shell."},
        "rootfs": {"type": "string", "pattern": DIGEST_PATTERN,
                   "description": "Layer digest of a root file system image (tar); the "
                                  "node's system directories when omitted."},
        "program": {"type": "string", "pattern": DIGEST_PATTERN,
                    "description": "Layer digest of a directory, mounted at /monroe/program."},
        "options": {"type": "object",
                    "description": "Written as JSON to the read-only /monroe/config."},
        "memory_mb": {"type": "number", "exclusiveMinimum": 0,
                      "description": "Memory limit (cgroup; else an address-space rlimit)."},
        "cpus": {"type": "number", "exclusiveMinimum": 0,
                 "description": "CPU limit in cores (cgroup cpu controller)."},
        "results_max_mb": {"type": "number", "exclusiveMinimum": 0, "default": 1024,
                           "description": "Most data /monroe/results may hold."},
        "traffic_max_mb": {"type": "number", "exclusiveMinimum": 0, "default": 3072,
                           "description": "Most bytes sent plus received on the interface."},
        "timeout": {"type": "number", "exclusiveMinimum": 0,
                    "description": "Seconds after which the program is stopped (the slot's "
                                   "end stops it anyway)."},
    },
    "examples": [{"argv": ["/bin/sh", "-c",
                           "cat /monroe/config > /monroe/results/config-seen.json"],
                  "options": {"greeting": "hello"}}],
}

RESULTS = [
    ResultSpec(name="exit_status", type="integer",
               description="The program's exit status (minus the signal that ended it)."),
    ResultSpec(name="duration_s", type="number", unit="s", conditionable=False,
               description="How long the sandbox ran."),
    ResultSpec(name="results_bytes", type="integer", unit="B", conditionable=False,
               description="Size of /monroe/results at the end."),
    ResultSpec(name="traffic_bytes", type="integer", unit="B", conditionable=False,
               description="Bytes sent and received on the interface during the run."),
]


class Experiment(Tool):
    """A user's program in a sandbox that sees one measurement interface."""

    name = "experiment"
    version = "1.0"
    description = ("Run an uploaded program or root file system in a bubblewrap sandbox "
                   "with /monroe/config, /monroe/results and one measurement interface.")
    config_schema = CONFIG_SCHEMA
    results = RESULTS

    def __init__(self, env: ActionEnv):
        super().__init__(env)
        self.isolation: network.Isolation | None = None
        self.group: Group | None = None
        self.scratch: tempfile.TemporaryDirectory | None = None
        self.proc: subprocess.Popen | None = None

    # ---- init: everything the run needs, refused early with the reason -----

    def init(self, config: dict[str, Any], requested: list[str]) -> None:
        """Check the config, find the layers, write the config file, set up the limits and
        the interface's namespace."""
        self.check_config(config, requested)
        missing = bwrap.available()
        if missing:
            raise ToolError(missing)
        self.config = config
        self.home = self._home()
        self.results_dir = self.home / "results"
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self.config_file = self.home / "config.json"
        self.config_file.write_text(json.dumps(config.get("options", {})))
        self.config_file.chmod(0o600)
        self.rootfs, self.program = (self._layer(config.get(k)) for k in ("rootfs", "program"))
        self._limits(config)
        self._network()

    def _home(self) -> Path:
        if self.env.workdir:
            return Path(self.env.workdir)
        self.scratch = tempfile.TemporaryDirectory(prefix="vp-experiment-")
        return Path(self.scratch.name)

    def _data_dir(self) -> Path | None:
        """The agent's data dir: action workdirs are <data>/work/<execution>/<action>."""
        return Path(self.env.workdir).resolve().parents[2] if self.env.workdir else None

    def _layer(self, digest: str | None) -> Path | None:
        if digest is None:
            return None
        data = self._data_dir()
        if data is None:
            raise ToolError("layers need the agent's layer cache (run this tool on a node)")
        tree = LayerCache(cache_root(data)).tree(digest)
        if not tree.is_dir():
            raise ToolError(f"layer {digest} is not in this node's cache (the agent fetches "
                            "layers before init; was it uploaded with `vantage layer push`?)")
        return tree

    def _limits(self, config: dict[str, Any]) -> None:
        memory = config.get("memory_mb")
        limits = Limits(memory_bytes=int(memory * MB) if memory else None,
                        cpus=config.get("cpus"))
        self.group = group_for(limits, f"{os.getpid()}-{int(time.time() * 1000)}")
        try:
            self.group.create()
        except OSError as exc:
            raise ToolError(f"cannot set up the {self.group.kind} limits: {exc}") from exc

    def _network(self) -> None:
        if self.env.interface is None:
            return  # an empty namespace: loopback only
        why = network.unavailable()
        if why:
            raise ToolError(f"cannot give the experiment only interface "
                            f"{self.env.interface!r}: {why}")
        self.isolation = network.Isolation(self.env.device or self.env.interface,
                                           self.env.interface)
        self.isolation.up()

    # ---- run ----------------------------------------------------------------

    def run(self, ctx: RunContext) -> None:
        """Start the sandbox, watch it until it exits or must stop, report what it used."""
        for note in self.group.notes():  # type: ignore[union-attr]
            ctx.log(note, "warning")
        started = time.monotonic()
        traffic_base = self.isolation.traffic() if self.isolation else 0
        self.proc = self._start()
        ctx.log(f"sandbox started (pid {self.proc.pid}, {self._describe()})")
        reason, failed = self._watch(ctx, started, traffic_base)
        status = self._stop() if reason else self.proc.wait()
        duration = time.monotonic() - started
        used = (self.isolation.traffic() - traffic_base) if self.isolation else 0
        self._report(ctx, status, duration, used)
        if reason:
            ctx.log(f"sandbox stopped: {reason}", "error" if failed else "info")
        ctx.log(f"sandbox {_exit_text(status)} after {duration:.1f} s")
        if failed:
            raise ToolError(f"the experiment was stopped: {reason}")

    def _start(self) -> subprocess.Popen:
        plan = bwrap.Plan(argv=list(self.config["argv"]), results=self.results_dir,
                          config=self.config_file, rootfs=self.rootfs, program=self.program,
                          own_network=self.isolation is None, env=self._sandbox_env())
        bus = self._bus()
        if bus is not None:
            plan.bus_dir, plan.bus_socket = bus.parent, bus.name
        argv = bwrap.command(plan)
        if self.isolation is not None:
            argv = self.isolation.prefix() + argv
        argv = self.group.wrap(argv)  # type: ignore[union-attr]
        self.output = open(self.home / "sandbox.log", "ab")  # noqa: SIM115 - closed in finish
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.output,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def _sandbox_env(self) -> dict[str, str]:
        env = {"VANTAGE_NODE": self.env.node, "VANTAGE_ACTION": self.env.action}
        if self.env.interface:
            env["VANTAGE_INTERFACE"] = self.env.interface
        return env

    def _bus(self) -> Path | None:
        """The bus's ipc socket path (tcp endpoints cannot cross the network namespace)."""
        data = self._data_dir()
        default = f"ipc://{data / 'bus' / 'metadata.ipc'}" if data else None
        endpoint = os.environ.get(BUS_ENV) or default
        if not endpoint or not endpoint.startswith("ipc://"):
            return None
        return Path(endpoint[len("ipc://"):])

    def _describe(self) -> str:
        c = self.config
        parts = [f"interface {self.env.interface}" if self.env.interface else "no interface",
                 f"memory {c['memory_mb']:g} MB ({self.group.kind})" if c.get("memory_mb")
                 else "memory unlimited",
                 f"results up to {c.get('results_max_mb', 1024):g} MB"]
        if self.isolation is not None:
            parts.append(f"traffic up to {c.get('traffic_max_mb', 3072):g} MB")
        return ", ".join(parts)

    def _watch(self, ctx: RunContext, started: float, base: int) -> tuple[str | None, bool]:
        """Wait until the sandbox exits (None) or must stop: (reason, whether it failed)."""
        checks = [Check("results storage", lambda: tree_bytes(self.results_dir),
                        int(self.config.get("results_max_mb", 1024) * MB))]
        if self.isolation is not None:
            iso = self.isolation
            checks.append(Check(f"traffic on {self.env.interface}",
                                lambda: iso.traffic() - base,
                                int(self.config.get("traffic_max_mb", 3072) * MB)))
        timeout = self.config.get("timeout")
        while self.proc.poll() is None:  # type: ignore[union-attr]
            if self.group.oom_kills():  # type: ignore[union-attr]
                return (f"memory limit of {self.config['memory_mb']:g} MB exceeded (the "
                        "kernel killed a process of the experiment)", True)
            exceeded = first_exceeded(checks)
            if exceeded:
                return exceeded, True
            if ctx.stopping:
                return "the end of its slot, or a cancel", False
            if timeout is not None and time.monotonic() - started >= timeout:
                return f"its timeout of {timeout:g} s", False
            ctx.wait(POLL)
        if self.group.oom_kills():  # type: ignore[union-attr]  # it ended by the OOM killer
            return (f"memory limit of {self.config['memory_mb']:g} MB exceeded (the kernel "
                    "killed a process of the experiment)", True)
        return None, False

    def _stop(self) -> int:
        """SIGTERM the sandbox, SIGKILL after a grace; its exit status."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            _signal_group(self.proc.pid, sig)  # type: ignore[union-attr]
            try:
                return self.proc.wait(KILL_GRACE)  # type: ignore[union-attr]
            except subprocess.TimeoutExpired:
                continue
        return self.proc.wait()  # type: ignore[union-attr]

    def _report(self, ctx: RunContext, status: int, duration: float, traffic: int) -> None:
        ctx.emit("exit_status", status)
        ctx.emit("duration_s", duration)
        ctx.emit("results_bytes", tree_bytes(self.results_dir))
        ctx.emit("traffic_bytes", max(0, traffic))
        self.output.flush()
        for line in _tail(self.home / "sandbox.log"):
            ctx.log(f"output: {line}")

    # ---- finish ---------------------------------------------------------------

    def finish(self) -> None:
        """Make sure the sandbox is gone; remove its namespace, groups and scratch space."""
        if self.proc is not None and self.proc.poll() is None:
            self._stop()
        if getattr(self, "output", None) is not None:
            self.output.close()
        if self.isolation is not None:
            self.isolation.down()
        if self.group is not None:
            self.group.remove()
        if self.scratch is not None:
            self.scratch.cleanup()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _exit_text(status: int) -> str:
    if status >= 0:
        return f"exited with status {status}"
    return f"ended by {signal.Signals(-status).name}"


def _tail(path: Path) -> list[str]:
    try:
        with open(path, errors="replace") as handle:
            return [line.rstrip("\n") for line in deque(handle, TAIL_LINES)]
    except OSError:
        return []



