"""Moves executions through their states: deploy window, barrier, start, end, timeouts.

What a failure does is the execution model's call (``core.run.tally``): the default,
all-or-nothing, fails the execution at the first failure; quorum goes on while
enough actions work. A part that misses a deadline is failed and judged the same way.

Every decision is a pure function of the execution, its node parts and the
clock, so the same step can run from the periodic tick or right after an
agent's report; each runs in its own transaction with the row locked.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from vantagepoint.config import CoreSettings
from vantagepoint.core.plugins import model_of
from vantagepoint.core.run.logbook import core_log
from vantagepoint.core.run.states import EXEC_FINAL, NODE_FINAL, check_exec, check_node
from vantagepoint.core.run.tally import tally
from vantagepoint.core.scheduler.materialize import release
from vantagepoint.core.store.db import database_key
from vantagepoint.core.store.models import Execution, ExecutionNode
from vantagepoint.core.store.types import utcnow
from vantagepoint.wire import ExecState as E
from vantagepoint.wire import NodeState as N

log = logging.getLogger(__name__)
ACTIVE = [s.value for s in E if s not in EXEC_FINAL]
FINAL_VALUES = [s.value for s in EXEC_FINAL]


def move(db: Session, ex: Execution, target: E, reason: str | None = None) -> None:
    """Change an execution's state (checked), logging it; final states stop every part."""
    ex.state = check_exec(ex.state, target)
    if reason:
        ex.reason = reason
    core_log(db, ex.id, f"execution {target}" + (f": {reason}" if reason else ""),
             level="error" if target == E.FAILED else "info")
    if target in EXEC_FINAL:
        ex.ended_at = ex.ended_at or utcnow()
        _stop_parts(db, ex, reason or str(target))
        release(db, ex)


def _stop_parts(db: Session, ex: Execution, reason: str) -> None:
    for part in ex.nodes:
        if part.state not in NODE_FINAL:
            part.state = check_node(part.state, N.CANCELED)
            part.reason = reason
            part.updated_at = utcnow()
            core_log(db, ex.id, f"canceled on node {part.node_name}", node=part.node_name)


def step(db: Session, ex: Execution, settings: CoreSettings, now: datetime) -> None:
    """Advance one execution as far as its parts, its execution model and the clock allow."""
    if ex.state in EXEC_FINAL or _judged_failed(db, ex):
        return
    deploy_from = ex.start_at - timedelta(seconds=settings.deploy_ahead_seconds)
    if ex.state == E.QUEUED and now >= deploy_from:
        move(db, ex, E.DEPLOYING)
    if ex.state == E.DEPLOYING:
        _barrier(db, ex, settings, now)
    if ex.state == E.READY and now >= ex.run_at:
        _start(db, ex)
    if ex.state == E.RUNNING:
        _end(db, ex, settings, now)


def _judged_failed(db: Session, ex: Execution) -> bool:
    """Ask the execution's model whether the failures so far end it; fail it if so."""
    model, config = model_of(ex.snapshot)
    reason = model.verdict(tally(ex), config)
    if reason is not None:
        move(db, ex, E.FAILED, reason)
    return reason is not None


def _give_up_on(db: Session, ex: Execution, nodes: list[str], reason: str) -> bool:
    """Fail the parts that missed a deadline; True if the execution failed with them."""
    for part in ex.nodes:
        if part.node_name in nodes:
            part.state = check_node(part.state, N.FAILED)
            part.reason, part.updated_at = reason, utcnow()
            core_log(db, ex.id, f"node {part.node_name}: {reason}", level="error",
                     node=part.node_name)
    return _judged_failed(db, ex)


def _barrier(db: Session, ex: Execution, settings: CoreSettings, now: datetime) -> None:
    waiting = [p.node_name for p in ex.nodes if p.state not in (N.READY, N.FAILED)]
    if not waiting:
        ex.run_at = max(ex.start_at, now + timedelta(seconds=settings.start_margin_seconds))
        move(db, ex, E.READY, None)
        core_log(db, ex.id, f"every node is ready; the run starts at {ex.run_at.isoformat()}")
    elif now > ex.start_at + timedelta(seconds=settings.ready_timeout_seconds):
        if not _give_up_on(db, ex, waiting, "not ready in time"):
            _barrier(db, ex, settings, now)


def _start(db: Session, ex: Execution) -> None:
    ex.started_at = ex.run_at
    for part in ex.nodes:
        if part.state == N.READY:
            part.state = check_node(part.state, N.RUNNING)
            part.updated_at = utcnow()
    move(db, ex, E.RUNNING)


def _end(db: Session, ex: Execution, settings: CoreSettings, now: datetime) -> None:
    pending = [p.node_name for p in ex.nodes if p.state not in (N.DONE, N.FAILED)]
    if not pending:
        _finish(db, ex)
        return
    deadline = ex.run_at + timedelta(seconds=ex.duration + settings.end_grace_seconds)
    if now > deadline and not _give_up_on(db, ex, pending,
                                          "did not report the end of the run"):
        _finish(db, ex)


def _finish(db: Session, ex: Execution) -> None:
    counted = tally(ex)
    if counted.failures:
        core_log(db, ex.id, f"{counted.working} of {counted.total} actions worked; "
                            f"{len(counted.failures)} failure(s), the execution model kept "
                            f"it going", level="warning")
    move(db, ex, E.FINISHED)


def lock_execution(db: Session, execution_id: int) -> Execution | None:
    """Load an execution for update (a row lock on PostgreSQL)."""
    return db.scalar(select(Execution).where(Execution.id == execution_id).with_for_update())


def advance(sessions: sessionmaker, settings: CoreSettings, execution_id: int) -> None:
    """Step one execution in its own transaction."""
    with sessions.begin() as db:
        ex = lock_execution(db, execution_id)
        if ex is not None:
            step(db, ex, settings, utcnow())


def advance_all(sessions: sessionmaker, settings: CoreSettings) -> None:
    """Step every execution that is not final, unless a step could not change it.

    A step depends on the execution, its parts and the clock only, so an execution whose
    row and parts are as they were at its last step is stepped again only once the clock
    reaches one of its deadlines (or, in case, after a backstop of BACKSTOP_SECONDS, drawn
    from its second half so that the executions' backstops do not fall on one tick).
    Without this the tick loaded every part of every active execution four times a second.
    """
    now = utcnow()
    with sessions() as db:
        database, seen = database_key(db.get_bind()), _fingerprints(db)
    for execution_id, fingerprint in seen.items():
        last = _LAST.get((database, execution_id))
        if last is not None and last[0] == fingerprint and now < last[1]:
            continue
        try:
            advance(sessions, settings, execution_id)
        except Exception:  # one bad execution must not stall the others
            log.exception("advancing execution %s failed", execution_id)
            continue
        _LAST[(database, execution_id)] = (fingerprint, _due(fingerprint, settings, now))
    for key in [k for k in _LAST if k[0] == database and k[1] not in seen]:
        del _LAST[key]  # final now, or gone


BACKSTOP_SECONDS = 30.0
# (database, execution) -> (fingerprint at its last step, when to step it again anyway)
_LAST: dict[tuple[str, int], tuple[tuple, datetime]] = {}


def _fingerprints(db: Session) -> dict[int, tuple]:
    """Active execution -> its row's timing and state, and its parts' states (how many
    in each, and when one last changed): what a step's outcome depends on."""
    rows = db.execute(
        select(Execution.id, Execution.state, Execution.start_at, Execution.run_at,
               Execution.duration, ExecutionNode.state, func.count(ExecutionNode.id),
               func.max(ExecutionNode.updated_at))
        .outerjoin(ExecutionNode, ExecutionNode.execution_id == Execution.id)
        .where(Execution.state.in_(ACTIVE))
        .group_by(Execution.id, Execution.state, Execution.start_at, Execution.run_at,
                  Execution.duration, ExecutionNode.state)
        .order_by(Execution.id, ExecutionNode.state))
    found: dict[int, tuple] = {}
    for execution_id, state, start_at, run_at, duration, *part in rows:
        head = found.get(execution_id, (state, start_at, run_at, duration))
        found[execution_id] = (*head, tuple(part))
    return found


def _due(fingerprint: tuple, settings: CoreSettings, now: datetime) -> datetime:
    """The first of the execution's deadlines still ahead (each a point where a step may
    act on the clock alone), or the backstop."""
    _, start_at, run_at, duration, *_ = fingerprint
    points = [start_at - timedelta(seconds=settings.deploy_ahead_seconds),
              start_at + timedelta(seconds=settings.ready_timeout_seconds)]
    if run_at is not None:
        points += [run_at, run_at + timedelta(seconds=duration + settings.end_grace_seconds)]
    backstop = now + timedelta(seconds=BACKSTOP_SECONDS * random.uniform(0.5, 1.0))
    return min([p for p in points if p > now] + [backstop])
