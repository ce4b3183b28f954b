"""Executions: start a scenario, follow its state and log, cancel it."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from vantagepoint.core.api.deps import CurrentUser, SchedulerUser, SessionDep, SettingsDep
from vantagepoint.core.run.coordinator import lock_execution, move
from vantagepoint.core.run.create import create_execution
from vantagepoint.core.run.states import EXEC_FINAL
from vantagepoint.core.store.models import Execution, LogEntry, User
from vantagepoint.errors import Conflict, NotFound
from vantagepoint.wire import (
    ExecState,
    ExecutionCreate,
    ExecutionNodeOut,
    ExecutionOut,
    LogOut,
)

router = APIRouter(prefix="/executions", tags=["executions"])


def execution_out(ex: Execution, snapshot: bool = False) -> ExecutionOut:
    return ExecutionOut(
        id=ex.id, owner=ex.owner.name, scenario=ex.scenario_name,
        scenario_version=ex.scenario_version, state=ex.state, reason=ex.reason,
        start_at=ex.start_at, run_at=ex.run_at, duration=ex.duration,
        started_at=ex.started_at, ended_at=ex.ended_at, created_at=ex.created_at,
        nodes=[ExecutionNodeOut(node=p.node_name, state=p.state, reason=p.reason,
                                failed_actions=p.failed_actions or {}) for p in ex.nodes],
        snapshot=ex.snapshot if snapshot else None,
        study=ex.study.name if ex.study is not None else None, study_run=ex.study_run,
        study_params=ex.study_params,
    )


def visible(db, user: User, execution_id: int, lock: bool = False) -> Execution:
    """The execution if the user may see it; 404 otherwise (no existence leak)."""
    ex = lock_execution(db, execution_id) if lock else db.get(Execution, execution_id)
    if ex is None or (ex.owner_id != user.id and not user.is_admin):
        raise NotFound(f"no execution {execution_id}")
    return ex


@router.post("", status_code=201, summary="Start a scenario")
def start(body: ExecutionCreate, request: Request, db: SessionDep, settings: SettingsDep,
          user: SchedulerUser) -> ExecutionOut:
    """Execute a stored scenario now or at a time, for a duration in seconds."""
    ex = create_execution(db, user, body, settings, request.app.state.policies)
    return execution_out(ex, snapshot=True)


@router.get("", summary="List executions")
def list_executions(db: SessionDep, user: CurrentUser, state: ExecState | None = None,
                    scenario: str | None = None,
                    limit: int = Query(100, ge=1, le=1000)) -> list[ExecutionOut]:
    """Your executions, newest first (admin: everyone's)."""
    query = select(Execution).order_by(Execution.id.desc()).limit(limit)
    if not user.is_admin:
        query = query.where(Execution.owner_id == user.id)
    if state is not None:
        query = query.where(Execution.state == state)
    if scenario is not None:
        query = query.where(Execution.scenario_name == scenario)
    return [execution_out(ex) for ex in db.scalars(query)]


@router.get("/{execution_id}", summary="One execution")
def get_execution(execution_id: int, db: SessionDep, user: CurrentUser) -> ExecutionOut:
    """State, node parts and the frozen snapshot of what it runs."""
    return execution_out(visible(db, user, execution_id), snapshot=True)


@router.post("/{execution_id}/cancel", summary="Cancel an execution")
def cancel(execution_id: int, db: SessionDep, user: SchedulerUser) -> ExecutionOut:
    """Stop it on every node; results so far are kept."""
    ex = visible(db, user, execution_id, lock=True)
    if ex.state in EXEC_FINAL:
        raise Conflict(f"execution {execution_id} is {ex.state} already")
    move(db, ex, ExecState.CANCELED, f"canceled by {user.name}")
    return execution_out(ex)


@router.get("/{execution_id}/logs", summary="An execution's log")
def logs(execution_id: int, db: SessionDep, user: CurrentUser,
         after: int = Query(0, ge=0, description="Only lines with a larger id."),
         limit: int = Query(1000, ge=1, le=10000)) -> list[LogOut]:
    """Core and agent lines in arrival order; poll with ``after`` to follow."""
    visible(db, user, execution_id)
    rows = db.scalars(select(LogEntry).where(LogEntry.execution_id == execution_id,
                                             LogEntry.id > after)
                      .order_by(LogEntry.id).limit(limit))
    return [LogOut(id=r.id, ts=r.ts, node=r.node_name, action=r.action, level=r.level,
                   message=r.message) for r in rows]
