"""The agent: register, then follow the core's assignments until stopped.

Each pass of the main loop polls ``GET /agent/assignments`` and moves every
local execution along its phases:

    init ──ready──> ready ──run_at──> running ──all ended──> flushing ──report──> (dropped)
      └──init failed──> aborting (report failed, stop the others) ──workers ended──> (dropped)
    any, when the core stops listing it ──> canceling ──workers ended──> (dropped)
    listed ready/running but unknown here (agent restarted) ──> lost ──flush, report──> (dropped)

Reports that fail on the network stay queued and are retried on later passes.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

import vantagepoint
from vantagepoint.agent.alarms import AlarmSender, AlarmSpool
from vantagepoint.agent.client import FAILURES, CoreClient, describe, is_permanent
from vantagepoint.agent.diskspace import MB
from vantagepoint.agent.experiments import Experiments
from vantagepoint.agent.runner import ExecutionRunner
from vantagepoint.agent.services import NodeServices
from vantagepoint.agent.spool import Spool
from vantagepoint.agent.store import Fetcher, prune
from vantagepoint.agent.traffic import read_counters, traffic_since
from vantagepoint.agent.uploader import Backoff, Heartbeat, Uploader
from vantagepoint.agent.watchdog import Check
from vantagepoint.config import AgentSettings
from vantagepoint.tools.registry import ToolRegistry, load_tools
from vantagepoint.wire import (
    Assignment,
    ExecState,
    Interface,
    NodeRegistration,
    NodeReport,
    NodeState,
)

log = logging.getLogger(__name__)

SPOOL_FILE = "spool.db"
RESTARTED = "the agent restarted during the execution; its running actions were lost"
STOPPED = "the agent on this node was stopped during the execution"
WITHDRAWN = "canceled on this node: the execution is no longer assigned"
SHUTDOWN_SECONDS = 3.0
_ACTIVE = frozenset({"init", "ready", "running"})
_SETTLING = frozenset({"flushing", "aborting", "canceling", "lost"})
_ON_THE_RUN = frozenset({NodeState.READY, NodeState.RUNNING})


@dataclass
class _Local:
    """What this agent holds for one execution."""

    execution_id: int
    phase: str
    runner: ExecutionRunner | None = None
    report: NodeReport | None = None  # queued until the core has it
    flush_first: bool = False  # send the report only once the execution's records are up
    traffic_base: dict[str, int] = field(default_factory=dict)  # counters at the run's start
    report_failing: bool = field(default=False, repr=False)


class Agent:
    """One node's agent; ``run()`` blocks until ``stop()``."""

    def __init__(self, settings: AgentSettings, *, transport: httpx.BaseTransport | None = None,
                 registry: ToolRegistry | None = None):
        self.settings = settings
        self.registry = registry if registry is not None else load_tools()
        data = settings.data_dir
        data.mkdir(parents=True, exist_ok=True)
        self.spool = Spool(data / SPOOL_FILE)
        self.work_root = data / "work"
        self.client = CoreClient(settings, transport=transport)
        self.uploader = Uploader(self.spool, self.client, settings.upload_batch,
                                 settings.upload_seconds)
        self.heartbeat = Heartbeat(self.client, settings.heartbeat_seconds, self._reregister,
                                   event=lambda kind, text: self.services.event(kind, text))
        self.fetcher = Fetcher(self.client, self.work_root, settings.fetch_seconds)
        self.alarm_spool = AlarmSpool(self.spool.path, self.spool.spool_id)
        self.alarm_sender = AlarmSender(self.alarm_spool, self.client, settings.alarm_seconds)
        self.experiments = Experiments(settings, self.client, self.log, self.work_root)
        self.locals: dict[int, _Local] = {}
        self._concluded: dict[int, float] = {}  # execution id -> when it was dropped here
        self._stop = threading.Event()
        self._poll_failing = False
        self._running_ids: list[int] = []  # a copy other threads may read
        self._maintenance_applied = False
        self._uploading = False  # the uploader thread runs (after registration)
        self.metrics = None  # the /metrics listener, while one runs
        self.services = NodeServices(settings, self.client, self.spool.path,
                                     running=lambda: list(self._running_ids),
                                     checks=[Check("uploader", self._uploader_problem,
                                                   self._restart_uploader)])

    # ---- life -------------------------------------------------------------

    def run(self) -> None:
        """Register (retrying until the core answers), then loop until ``stop()``."""
        self.metrics = None  # off unless metrics_port is set
        if self.settings.metrics_port is not None:
            # Imported only then: prometheus_client would add to every agent's footprint.
            from vantagepoint.agent.metrics import serve_metrics

            self.metrics = serve_metrics(self)
        try:
            self.services.start()  # the bus and background ping run even while offline
            if not self.register():
                return
            prune(self.work_root, self.settings.keep_files_days)
            self.heartbeat.start()
            self.fetcher.start()
            self.uploader.start()
            self.alarm_sender.start()
            self.experiments.start()
            self._uploading = True
            while not self._stop.is_set():
                began = time.monotonic()
                self.step()
                self._stop.wait(max(0.0, self.settings.poll_seconds - (time.monotonic() - began)))
        finally:
            self.shutdown()

    def stop(self) -> None:
        """Ask ``run()`` to return after a clean stop (safe from a signal handler)."""
        self._stop.set()

    def registration(self) -> NodeRegistration:
        """What this node tells the core about itself."""
        s = self.settings
        return NodeRegistration(
            name=s.name, attributes=dict(s.attributes),
            interfaces=[Interface(name=n, device=d or None) for n, d in s.interfaces.items()],
            tools=[cls.info() for cls in self.registry.tools.values()],
            tool_errors=dict(self.registry.errors), agent_version=vantagepoint.__version__)

    def register(self) -> bool:
        """Register, retrying with backoff while the core is unreachable; False if stopped."""
        backoff, body = Backoff(1.0, 30.0), self.registration()
        while not self._stop.is_set():
            try:
                self.client.register(body)
            except FAILURES as exc:
                if is_permanent(exc):
                    raise
                delay = backoff.failed()
                log.warning("registration failed (retry in %.0f s): %s", delay, describe(exc))
                self._stop.wait(delay)
                continue
            log.info("registered as %r with %d tools at %s", body.name, len(body.tools),
                     self.settings.core_url)
            return True
        return False

    def _reregister(self) -> None:
        try:
            self.client.register(self.registration())
        except FAILURES as exc:
            log.warning("re-registration failed: %s", describe(exc))

    def shutdown(self) -> None:
        """Stop every worker, flush what can be flushed within a few seconds, close."""
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        self.heartbeat.stop(timeout=1.0)
        self.fetcher.stop(timeout=1.0)
        self.uploader.stop(timeout=1.0)
        self.alarm_sender.stop(timeout=1.0)
        self._stop_workers()
        self.alarm_sender.send_pending(timeout=1.0)
        self.experiments.stop()
        self.services.stop(deadline=deadline)
        self.uploader.upload_pending(deadline=deadline, timeout=1.0)
        for local in list(self.locals.values()):
            if time.monotonic() < deadline:
                self._send_report(local, timeout=1.0)
            if local.runner is not None:
                local.runner.close()
        self.locals.clear()
        self.client.close()
        self.alarm_spool.close()
        self.spool.close()
        if self.metrics is not None:
            self.metrics.stop()

    def _stop_workers(self) -> None:
        for local in self.locals.values():
            if local.phase in _ACTIVE:
                self.log(local.execution_id, "the agent is stopping; so are its actions here",
                         "warning")
            if local.phase in ("ready", "running"):  # in "init", a restarted agent can redo it
                self._queue(local, "failed", STOPPED, flush_first=True)
            if local.runner is not None:
                local.runner.cancel()
        limit = time.monotonic() + min(2.0, self.settings.kill_grace_seconds)
        for local in self.locals.values():
            if local.runner is not None:
                local.runner.wait(max(0.0, limit - time.monotonic()))
                local.runner.kill()

    # ---- one pass ---------------------------------------------------------

    def step(self) -> None:
        """One pass: poll the core, follow its assignments, move every execution on."""
        try:
            assignments = self.client.assignments()
        except FAILURES as exc:
            level = logging.DEBUG if self._poll_failing else logging.WARNING
            log.log(level, "polling assignments failed (will retry): %s", describe(exc))
            self._poll_failing, assignments = True, None  # never cancel on a failed poll
        else:
            if self._poll_failing:
                log.info("the core answers again")
            self._poll_failing = False
        try:
            self._follow_maintenance()
            if assignments is not None:
                self._follow(assignments)
            for local in list(self.locals.values()):
                self._advance(local)
            self._running_ids = sorted(self.locals)
        except Exception:  # one bad pass must not end the agent
            log.exception("the agent's loop failed; continuing")

    def log(self, execution_id: int, message: str, level: str = "info") -> None:
        """Write an agent-level line to the execution's log (and to this process's log)."""
        log.log(logging.getLevelName(level.upper()), "execution %s: %s", execution_id, message)
        self.spool.add_log(execution_id, None, level, message)

    def _follow(self, assignments: list[Assignment]) -> None:
        listed = {a.execution_id: a for a in assignments
                  if a.state not in (ExecState.FAILED, ExecState.CANCELED)}
        for execution_id, local in list(self.locals.items()):
            if execution_id not in listed:
                self._withdrawn(local)
        for a in listed.values():
            if a.execution_id not in self._concluded:
                self._on_assignment(a)

    def _on_assignment(self, a: Assignment) -> None:
        local = self.locals.get(a.execution_id)
        if local is None:
            if a.node_state == NodeState.ASSIGNED and self.experiments.may_deploy(a):
                self._deploy(a)
            elif a.node_state in _ON_THE_RUN:
                self._lost(a)
        elif (local.phase == "ready" and local.runner is not None
              and a.node_state in _ON_THE_RUN and a.run_at is not None):
            self._start_run(local, local.runner, a.run_at)

    def _deploy(self, a: Assignment) -> None:
        local = _Local(a.execution_id, "init")
        self.locals[a.execution_id] = local
        if self.services.maintenance is not None:
            self._refuse_in_maintenance(local)
            return
        self.log(a.execution_id, f"deploying {len(a.actions)} actions")
        try:
            self.experiments.deploying(a)  # layers prepared ahead, or why they cannot be
            local.runner = self._runner(a)
            local.runner.start()
        except Exception as exc:  # noqa: BLE001 - refused with the reason, not crashed on
            reason = f"this agent cannot deploy the execution: {type(exc).__name__}: {exc}"
            self.log(a.execution_id, reason, "error")
            if local.runner is not None:
                local.runner.cancel()
            local.phase = "aborting"
            self._queue(local, "failed", reason)

    def _runner(self, a: Assignment) -> ExecutionRunner:
        s = self.settings
        return ExecutionRunner(a, spool_path=self.spool.path, node=s.name,
                               work_root=self.work_root, interfaces=s.interfaces,
                               kill_grace=s.kill_grace_seconds,
                               min_free_bytes=int(s.min_free_disk_mb * MB))

    def _lost(self, a: Assignment) -> None:
        local = _Local(a.execution_id, "lost")
        self.locals[a.execution_id] = local
        self.log(a.execution_id, RESTARTED, "error")
        self._queue(local, "failed", RESTARTED, flush_first=True)
        self.uploader.kick()

    def _start_run(self, local: _Local, runner: ExecutionRunner, run_at: datetime) -> None:
        when = run_at if run_at.tzinfo else run_at.replace(tzinfo=UTC)
        runner.run(when.timestamp())
        local.traffic_base = read_counters(self._devices(runner))
        local.phase = "running"
        self.log(local.execution_id, f"starting the run at {when.isoformat()}")

    def _withdrawn(self, local: _Local) -> None:
        """The core no longer lists the execution: it was canceled or failed."""
        local.report = None  # the core's word is final
        if local.phase in _ACTIVE and local.runner is not None:
            self.log(local.execution_id, WITHDRAWN, "warning")
            local.runner.cancel()
            local.phase = "canceling"
        elif local.phase in ("flushing", "lost"):
            local.phase = "canceling"

    # ---- moving executions on ---------------------------------------------

    def _advance(self, local: _Local) -> None:
        if local.runner is not None:
            local.runner.poll()
            self._transition(local, local.runner)
        if local.runner is None or local.runner.finished:
            self.experiments.ended(local.execution_id)  # last pass over its result files
        self._send_report(local)
        settled = local.runner is None or local.runner.finished
        if settled and local.report is None and local.phase in _SETTLING:
            self._drop(local)

    def _transition(self, local: _Local, runner: ExecutionRunner) -> None:
        if local.phase == "init":
            if runner.init_failure:
                self._abort(local, runner, runner.init_failure)
            elif runner.ready:
                local.phase = "ready"
                self.log(local.execution_id, "ready")
                self._queue(local, "ready", failed=runner.failed_actions)
        elif local.phase == "ready" and runner.run_failure:  # a worker died while waiting
            self._abort(local, runner, runner.run_failure)
        elif local.phase == "running" and runner.finished:
            self._after_run(local, runner)

    def _abort(self, local: _Local, runner: ExecutionRunner, reason: str) -> None:
        self.log(local.execution_id, f"stopping the other actions: {reason}", "error")
        runner.cancel()
        local.phase = "aborting"
        self._queue(local, "failed", reason)

    def _after_run(self, local: _Local, runner: ExecutionRunner) -> None:
        failure = runner.run_failure
        self.log(local.execution_id, f"every action ended, {runner.results} results"
                 + (f"; {failure}" if failure else ""), "error" if failure else "info")
        local.phase = "flushing"
        self._queue(local, "failed" if failure else "done", failure, flush_first=True,
                    traffic=traffic_since(local.traffic_base),
                    failed=runner.failed_actions if runner.tolerant else None)
        self.uploader.kick()  # upload now rather than at the next period

    def _devices(self, runner: ExecutionRunner) -> set[str]:
        """The OS devices behind the measurement interfaces this execution's actions use."""
        names = {a.interface for a in runner.actions}
        return {self.settings.interfaces[n] for n in names if n in self.settings.interfaces}

    def _queue(self, local: _Local, state: str, reason: str | None = None,
               flush_first: bool = False, traffic: int | None = None,
               failed: dict[str, str] | None = None) -> None:
        reason = reason[:4000] if reason else None
        local.report = NodeReport(state=state, reason=reason,  # type: ignore[arg-type]
                                  traffic_bytes=traffic,
                                  failed_actions={a: r[:4000] for a, r in (failed or {}).items()})
        local.flush_first, local.report_failing = flush_first, False

    def _send_report(self, local: _Local, timeout: float | None = None) -> None:
        report = local.report
        if report is None:
            return
        if local.flush_first and (self.spool.pending_count(local.execution_id)
                                  or not self.experiments.synced(local.execution_id)):
            return  # the uploader is on it; "done" means every record is at the core
        try:
            self.client.report(local.execution_id, report, timeout=timeout)
        except FAILURES as exc:
            if not is_permanent(exc):
                if not local.report_failing:
                    log.warning("execution %s: report %s failed (will retry): %s",
                                local.execution_id, report.state, describe(exc))
                local.report_failing = True
                return
            log.warning("execution %s: the core refused the report %s: %s",
                        local.execution_id, report.state, describe(exc))
        local.report, local.report_failing = None, False

    def _drop(self, local: _Local) -> None:
        if local.runner is not None:
            local.runner.close()
        del self.locals[local.execution_id]
        now = time.time()
        self._concluded[local.execution_id] = now
        for execution_id, when in list(self._concluded.items()):
            if now - when > 24 * 3600:
                del self._concluded[execution_id]


    # ---- node health --------------------------------------------------------

    def _follow_maintenance(self) -> None:
        """Once the watchdog put the node in maintenance, stop every execution here."""
        reason = self.services.maintenance
        if reason is None:
            self._maintenance_applied = False
            return
        if self._maintenance_applied:
            return
        self._maintenance_applied = True
        for local in self.locals.values():
            if local.phase in _ACTIVE and local.runner is not None:
                self._abort(local, local.runner, f"the node entered maintenance: {reason}")

    def _refuse_in_maintenance(self, local: _Local) -> None:
        reason = f"the node is in maintenance: {self.services.maintenance}"
        self.log(local.execution_id, reason, "error")
        local.phase = "aborting"
        self._queue(local, "failed", reason)

    def _uploader_problem(self) -> str | None:
        if not self._uploading or self.uploader.alive:
            return None
        return "the result uploader stopped"

    def _restart_uploader(self) -> None:
        s = self.settings
        self.uploader.stop(timeout=1.0)
        self.uploader = Uploader(self.spool, self.client, s.upload_batch, s.upload_seconds,
                                 self.uploader.stats)
        self.uploader.start()
