"""The worker processes of one execution on this node, driven by short polls.

``start()`` launches one worker per action (each inits its tool); ``poll()``
collects what the workers said and enforces the deadlines (init timeout, end
of period plus the kill grace, cancel plus the kill grace); the properties
tell whether every init succeeded, which failed and why, and whether every
worker has ended and how the run went. Nothing here blocks for long.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from vantagepoint.agent.worker import WorkerSpec, start_worker
from vantagepoint.spec.models import ActionSpec
from vantagepoint.wire import Assignment

log = logging.getLogger(__name__)

TERM_GRACE = 3.0  # between SIGTERM and SIGKILL: time for the tool's finish()
_INF = float("inf")


@dataclass
class _Handle:
    """The agent's view of one worker process."""

    action: ActionSpec
    process: BaseProcess
    conn: Connection
    spawned: float
    init: dict | None = None
    done: dict | None = None
    deadline: float = _INF  # epoch after which the worker is terminated
    killed: str | None = None  # why the agent terminated it
    term_at: float | None = None
    exitcode: int | None = None

    @property
    def label(self) -> str:
        return f"action {self.action.name!r} ({self.action.tool})"

    @property
    def ended(self) -> bool:
        return self.exitcode is not None

    def send(self, message: dict) -> None:
        """Tell the worker; a worker that is gone has nothing left to hear."""
        with contextlib.suppress(OSError):
            self.conn.send(message)

    def exit_text(self) -> str:
        code = self.exitcode
        if code is not None and code < 0:
            return f"the worker was killed by signal {signal.Signals(-code).name}"
        return f"the worker exited with code {code}"


class ExecutionRunner:
    """One Assignment carried out by one worker process per action."""

    def __init__(self, assignment: Assignment, *, spool_path: str | Path, node: str,
                 work_root: str | Path, interfaces: dict[str, str] | None = None,
                 kill_grace: float = 5.0, init_timeout: float = 60.0, min_free_bytes: int = 0):
        self.execution_id = assignment.execution_id
        self.duration = assignment.duration
        # Raises pydantic.ValidationError on an action this agent cannot read.
        self.actions = [ActionSpec.model_validate(a) for a in assignment.actions]
        self.spool_path, self.node = str(spool_path), node
        self.workdir = Path(work_root) / str(self.execution_id)
        self.interfaces = dict(interfaces or {})
        self.kill_grace, self.init_timeout = kill_grace, init_timeout
        self.min_free_bytes = min_free_bytes
        self.tolerant = assignment.tolerant  # failed actions are reported, the rest go on
        self.started = False
        self.canceled = False
        self._workers: list[_Handle] = []

    @property
    def running_actions(self) -> int:
        """Actions whose worker was told to run and has not ended (the metrics)."""
        return sum(1 for w in self._workers if not w.ended) if self.started else 0

    # ---- commands ---------------------------------------------------------

    def start(self) -> None:
        """Start one worker per action; each inits its tool right away."""
        for action in self.actions:
            spec = WorkerSpec(
                spool_path=self.spool_path, execution_id=self.execution_id,
                action=action.model_dump(mode="json"), node=self.node,
                workdir=str(self.workdir / action.name), parent_pid=os.getpid(),
                interfaces=self.interfaces, min_free_bytes=self.min_free_bytes)
            process, conn = start_worker(spec)
            self._workers.append(_Handle(action, process, conn, spawned=time.time()))

    def run(self, run_at: float) -> None:
        """Tell every worker its absolute period; each starts and stops on its own."""
        for w in self._workers:
            if _init_problem(w):
                continue  # a tolerant run goes on without it
            start, end = w.action.period(self.duration)
            w.send({"op": "run", "start": run_at + start, "end": run_at + end})
            w.deadline = min(w.deadline, run_at + end + self.kill_grace)
        self.started = True

    def cancel(self) -> None:
        """Ask every worker to stop now; those still there after the grace are killed."""
        self.canceled = True
        deadline = time.time() + self.kill_grace
        for w in self._workers:
            if not w.ended:
                w.send({"op": "cancel"})
                w.deadline = min(w.deadline, deadline)

    def kill(self) -> None:
        """SIGTERM every worker still running (its tool's finish() still runs)."""
        now = time.time()
        for w in self._workers:
            if not w.ended:
                self._terminate(w, "was stopped as the agent stopped", now)

    def wait(self, timeout: float, interval: float = 0.05) -> bool:
        """Poll until every worker has ended or ``timeout`` passes; return finished."""
        limit = time.monotonic() + timeout
        self.poll()
        while not self.finished and time.monotonic() < limit:
            time.sleep(interval)
            self.poll()
        return self.finished

    def close(self) -> None:
        """Stop what still runs (SIGKILL after the grace) and reap it.

        The work directory stays: it is the node's result store (e.g. packet
        captures), fetched on demand and pruned by age (``agent.store``)."""
        self.kill()
        self.wait(TERM_GRACE)
        for w in self._workers:
            if not w.ended:
                _signal(w, signal.SIGKILL)
            w.process.join(timeout=5)
            w.conn.close()

    # ---- polling ----------------------------------------------------------

    def poll(self) -> None:
        """Read the workers' messages, note which ended, enforce deadlines."""
        now = time.time()
        for w in self._workers:
            if not w.ended:
                self._poll_one(w, now)

    def _poll_one(self, w: _Handle, now: float) -> None:
        alive = w.process.is_alive()
        self._drain(w)  # after is_alive: a dead worker's last words are all in the pipe
        if not alive:
            w.exitcode = w.process.exitcode
            w.process.join(timeout=0)
            return
        if w.init is None and now > w.spawned + self.init_timeout:
            self._terminate(w, f"init did not answer within {self.init_timeout:g} s", now)
        elif now > w.deadline:
            why = ("did not stop within {:g} s of the cancel" if self.canceled
                   else "was still running {:g} s after the end of its period")
            self._terminate(w, why.format(self.kill_grace) + "; killed", now)
        if w.term_at is not None and now > w.term_at + TERM_GRACE:
            _signal(w, signal.SIGKILL)

    def _drain(self, w: _Handle) -> None:
        try:
            while w.conn.poll(0):
                message = w.conn.recv()
                if message.get("op") == "init":
                    w.init = message
                elif message.get("op") == "done":
                    w.done = message
        except (EOFError, OSError):
            pass  # the worker closed its end; its exit is noted by the caller

    def _terminate(self, w: _Handle, why: str, now: float) -> None:
        if w.term_at is None:
            log.warning("execution %s: %s %s", self.execution_id, w.label, why)
            w.killed, w.term_at = why, now
            _signal(w, signal.SIGTERM)

    # ---- state ------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Every action's init succeeded (tolerant: every init answered, one at least ok)."""
        if not self.tolerant:
            return all(w.init is not None and w.init.get("ok") for w in self._workers)
        answered = all(w.init is not None or _init_problem(w) for w in self._workers)
        return answered and any(w.init is not None and w.init.get("ok") for w in self._workers)

    @property
    def init_failure(self) -> str | None:
        """Why init failed ("init of action 'a' (ping) failed: ..."), or None.

        A tolerant runner has failed only once every action failed."""
        reasons = [f"init of {w.label} failed: {why}" for w in self._workers
                   if (why := _init_problem(w))]
        if self.tolerant and len(reasons) < len(self._workers):
            return None
        return "; ".join(reasons) or None

    @property
    def finished(self) -> bool:
        """Every worker process has ended."""
        return all(w.ended for w in self._workers)

    @property
    def run_failure(self) -> str | None:
        """Why the run failed ("run of action 'x' failed: ..."), or None.

        A tolerant runner has failed only once every action failed."""
        reasons = [f"run of action {w.action.name!r} failed: {why}" for w in self._workers
                   if (why := _run_problem(w))]
        if self.tolerant and len(reasons) < len(self._workers):
            return None
        return "; ".join(reasons) or None

    @property
    def failed_actions(self) -> dict[str, str]:
        """Each action that failed so far and why (its init, else its run)."""
        failed = {}
        for w in self._workers:
            if why := _init_problem(w):
                failed[w.action.name] = f"init failed: {why}"
            elif why := _run_problem(w):
                failed[w.action.name] = f"run failed: {why}"
        return failed

    @property
    def results(self) -> int:
        """How many results the ended workers spooled."""
        return sum(int((w.done or {}).get("results") or 0) for w in self._workers)


def _init_problem(w: _Handle) -> str | None:
    if w.init is not None:
        return None if w.init.get("ok") else str(w.init.get("error"))
    if w.killed:
        return w.killed
    return w.exit_text() if w.ended else None


def _run_problem(w: _Handle) -> str | None:
    if w.killed:
        return w.killed
    if w.done is not None:
        return None if w.done.get("ok") else str(w.done.get("error"))
    return w.exit_text() if w.ended else None


def _signal(w: _Handle, sig: signal.Signals) -> None:
    """Signal the worker's process group (its tool's programs too), else the worker."""
    pid = w.process.pid
    if pid is None or w.ended:
        return
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        # It has not made its own group yet.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
