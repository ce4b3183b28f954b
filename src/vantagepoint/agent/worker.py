"""One worker process per action: load the tool, init, wait for the run, run, finish.

The worker is started with the "spawn" method (the agent has threads, so fork
is unsafe) and leads its own process group, so the agent can stop a tool
together with any program it started. SIGTERM (sent by the agent to a worker
that overran, and by Linux when the agent dies: PR_SET_PDEATHSIG) unwinds the
worker so the tool's finish() still runs; a watchdog ends it soon anyway.
It talks to the agent over a pipe:

    worker -> agent  {"op": "init", "ok": bool, "error": str | None}
    agent -> worker  {"op": "run", "start": epoch, "end": epoch} or {"op": "cancel"}
    agent -> worker  {"op": "cancel"}   (later, to stop a run early)
    worker -> agent  {"op": "done", "ok": bool, "error": str | None, "results": n}

Results and log lines go straight into the spool through the worker's own
connection, so they survive whatever happens to either process afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from vantagepoint.agent.alarms import ActionAlarms, AlarmSpool
from vantagepoint.agent.spool import Spool
from vantagepoint.errors import ToolError
from vantagepoint.spec.conditions import parse_condition
from vantagepoint.spec.models import ActionSpec
from vantagepoint.tools.base import ActionEnv, RunContext, Tool
from vantagepoint.tools.registry import load_tools

log = logging.getLogger(__name__)

SPAWN = multiprocessing.get_context("spawn")
_PR_SET_PDEATHSIG = 1
EXIT_GRACE = 5.0  # after SIGTERM, finish() gets this long before the worker exits anyway


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs, picklable."""

    spool_path: str
    execution_id: int
    action: dict[str, Any]
    node: str
    workdir: str
    parent_pid: int
    interfaces: dict[str, str] = field(default_factory=dict)
    min_free_bytes: int = 0  # below this free space new results are refused


def start_worker(spec: WorkerSpec) -> tuple[BaseProcess, Connection]:
    """Start a worker process for one action; return it and the agent's end of its pipe."""
    ours, theirs = SPAWN.Pipe()
    name = f"vp-worker-{spec.execution_id}-{spec.action.get('name')}"
    process = SPAWN.Process(target=worker_main, args=(theirs, spec), name=name, daemon=True)
    process.start()
    theirs.close()
    return process, ours


def worker_main(conn: Connection, spec: WorkerSpec) -> None:
    """Entry point of the worker process."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    _die_with_parent(spec.parent_pid)
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # our own group: a terminal's Ctrl-C is the agent's business
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    spool = Spool(spec.spool_path, min_free_bytes=spec.min_free_bytes)
    try:
        _Worker(conn, spec, spool).serve()
    finally:
        spool.close()
        conn.close()


def _on_sigterm(signum: int, _frame) -> None:
    """Unwind (so the tool's finish() runs) and make sure the process is gone soon."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    watchdog = threading.Timer(EXIT_GRACE, os._exit, args=(128 + signum,))
    watchdog.daemon = True
    watchdog.start()
    raise SystemExit(128 + signum)


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGTERM us when the agent dies, and leave now if it already has."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
                log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        except (OSError, AttributeError) as exc:
            log.warning("prctl is not available: %s", exc)
    if os.getppid() != parent_pid:
        os._exit(1)  # the agent died before we could ask


def describe(exc: BaseException) -> str:
    """A tool's refusal as the tool wrote it; anything else with its type."""
    if isinstance(exc, ToolError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class _Counter:
    """A thread-safe count of spooled results (tools may emit from several threads)."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.value += 1


class _Worker:
    """The life of one action inside its worker process."""

    def __init__(self, conn: Connection, spec: WorkerSpec, spool: Spool):
        self.conn, self.spec, self.spool = conn, spec, spool
        self.action_name = str(spec.action.get("name"))
        self.tool: Tool | None = None  # set once init() was called, so finish() is owed

    def log(self, message: str, level: str = "info") -> None:
        """Write a line to the execution log, tagged with this action."""
        self.spool.add_log(self.spec.execution_id, self.action_name, level, message)

    def send(self, **message: Any) -> None:
        """Tell the agent; if it is gone, there is no one left to tell."""
        with contextlib.suppress(OSError):
            self.conn.send(message)

    def serve(self) -> None:
        """Init, run when told, and always finish what init started."""
        ok, error, results = False, None, 0
        try:
            error = self._init()
            self.send(op="init", ok=error is None, error=error)
            if error is None:
                ok, error, results = self._await_run()
        except SystemExit:
            self.log("the worker was told to stop (SIGTERM)", "warning")
            raise
        finally:
            if self.tool is not None:
                self._finish()
        self.send(op="done", ok=ok, error=error, results=results)

    # ---- init -------------------------------------------------------------

    def _init(self) -> str | None:
        """Load, construct and init the tool; return why it failed, or None."""
        try:
            action = ActionSpec.model_validate(self.spec.action)
            cls = _tool_class(action)
            env = self._env(action)
            tool = cls(env)
        except Exception as exc:  # noqa: BLE001 - every refusal is reported with its reason
            return self._init_failed(describe(exc))
        self.tool = tool
        try:
            tool.init(dict(action.config), list(action.results))
        except Exception as exc:  # noqa: BLE001
            return self._init_failed(describe(exc))
        self.log(f"init {cls.name}@{cls.version}: ok")
        return None

    def _init_failed(self, reason: str) -> str:
        self.log(f"init failed: {reason}", "error")
        return reason

    def _env(self, action: ActionSpec) -> ActionEnv:
        device = None
        if action.interface is not None:
            if action.interface not in self.spec.interfaces:
                raise ToolError(f"interface {action.interface!r} is not configured on node "
                                f"{self.spec.node!r} (known: "
                                f"{', '.join(sorted(self.spec.interfaces)) or 'none'})")
            device = self.spec.interfaces[action.interface] or None
        Path(self.spec.workdir).mkdir(parents=True, exist_ok=True)
        return ActionEnv(node=self.spec.node, action=action.name, interface=action.interface,
                         device=device, workdir=self.spec.workdir)

    # ---- run --------------------------------------------------------------

    def _await_run(self) -> tuple[bool, str | None, int]:
        """Wait for the agent's word: run (then run) or cancel."""
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            self.log("the agent went away before the run", "warning")
            return False, "the agent went away before the run", 0
        if message.get("op") != "run":
            self.log("canceled before the run")
            return True, None, 0
        return self._run(float(message["start"]), float(message["end"]))

    def _run(self, start: float, end: float) -> tuple[bool, str | None, int]:
        """Sleep until ``start``, then run the tool until it returns."""
        counter = _Counter()
        alarms = self._alarms(start)
        ctx = RunContext(emitter=self._emitter(counter, alarms), logger=self._logger, end=end,
                         requested=self._requested())
        canceled = threading.Event()
        threading.Thread(target=self._listen, args=(ctx, canceled), daemon=True,
                         name="cancel-listener").start()
        if _sleep_until(start, canceled):
            self.log("run: canceled before its start")
            return True, None, 0
        self.log("run: started")
        if alarms is not None:
            alarms.run_ticker()
        try:
            self.tool.run(ctx)  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - the run's failure is reported, not raised
            error = describe(exc)
            self.log(f"run failed: {error}", "error")
            return False, error, counter.value
        finally:
            if alarms is not None:
                alarms.stop()
        note = " (canceled)" if canceled.is_set() else ""
        self.log(f"run: ended, {counter.value} results{note}")
        return True, None, counter.value

    def _requested(self) -> list[str]:
        """The requested results, and those the conditions watch (e.g. ping's ``loss``)."""
        action = ActionSpec.model_validate(self.spec.action)
        watched = [parse_condition(c).result for c in action.conditions]
        return list(dict.fromkeys([*action.results, *watched]))

    def _alarms(self, start: float) -> ActionAlarms | None:
        """The watch over this action's node-side conditions (None without any)."""
        action = ActionSpec.model_validate(self.spec.action)
        if not action.conditions or self.tool is None:
            return None
        spool = AlarmSpool(self.spec.spool_path, self.spool.spool_id)
        return ActionAlarms.build(action, type(self.tool), start, spool,
                                  self.spec.execution_id, self.log)

    def _emitter(self, counter: _Counter, alarms: ActionAlarms | None):
        def emit(name: str, value: Any, ts: float) -> None:
            seq = self.spool.add_result(self.spec.execution_id, self.action_name, name, value, ts)
            if seq is not None:
                counter.add()
                if alarms is not None:
                    alarms.observe(name, ts, value)
        return emit

    def _logger(self, message: str, level: str = "info") -> None:
        self.log(message, level)

    def _listen(self, ctx: RunContext, canceled: threading.Event) -> None:
        """Stop the run on the agent's cancel, or when the agent is gone."""
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                message = {"op": "cancel"}
            if message.get("op") == "cancel":
                canceled.set()
                ctx.stop()
                return

    # ---- finish -----------------------------------------------------------

    def _finish(self) -> None:
        try:
            self.tool.finish()  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - logged; the results already taken stand
            self.log(f"finish failed: {describe(exc)}", "error")
            return
        self.log("finish: done")


def _sleep_until(when: float, canceled: threading.Event) -> bool:
    """Sleep until the wall clock reaches ``when``; True if canceled first."""
    while (left := when - time.time()) > 0:
        if canceled.wait(left):
            return True
    return canceled.is_set()


def _tool_class(action: ActionSpec) -> type[Tool]:
    """The installed tool class for an action, or a ToolError saying why there is none."""
    registry = load_tools()
    try:
        return registry.get(action.tool, action.version)
    except Exception as exc:  # noqa: BLE001
        broken = registry.errors.get(action.tool)
        if broken:
            raise ToolError(f"tool {action.tool!r} failed to load on this node: {broken}") from exc
        raise ToolError(str(exc)) from exc
