"""Turning a stored scenario into an execution: resolve, freeze, assign."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from vantagepoint.core.catalog import StoreCatalog, find_spec
from vantagepoint.core.run.logbook import core_log
from vantagepoint.core.store.models import Execution, ExecutionNode, User
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import Invalid, NotFound, Problem
from vantagepoint.spec.models import ScenarioSpec
from vantagepoint.spec.validate import check_periods, pick_tool, resolve_scenario
from vantagepoint.wire import ExecState, ExecutionCreate, NodeState

PAST_TOLERANCE = timedelta(seconds=60)


def create_execution(db: Session, user: User, body: ExecutionCreate) -> Execution:
    """Resolve the scenario as it is now, freeze it and assign its nodes."""
    row = find_spec(db, "scenario", user.id, body.scenario)
    if row is None:
        raise NotFound(f"no scenario {body.scenario!r}")
    start = _start_time(body.start)
    catalog = StoreCatalog(db, user.id)
    spec = resolve_scenario(row.spec, catalog)
    _pin_versions(spec, catalog)
    problems = check_periods(spec, body.duration)
    if problems:
        raise Invalid("the scenario does not fit the execution's duration", problems)
    ex = Execution(owner=user, scenario_name=row.name, scenario_version=row.version,
                   snapshot=spec.model_dump(mode="json"), state=ExecState.QUEUED,
                   start_at=start, duration=body.duration)
    db.add(ex)
    for node in sorted({a.node for a in spec.actions()}):
        ex.nodes.append(ExecutionNode(node_name=node, state=NodeState.ASSIGNED))
    db.flush()
    core_log(db, ex.id, f"queued scenario {row.name!r} v{row.version} for {body.duration:g} s "
                        f"from {start.isoformat()} on {', '.join(p.node_name for p in ex.nodes)}")
    return ex


def _start_time(start: datetime | None) -> datetime:
    now = utcnow()
    if start is None:
        return now
    if start.tzinfo is None:
        raise Invalid("start needs a time zone", [Problem("/start", "give a UTC time, e.g. "
                                                                    "2026-12-01T12:00:00Z")])
    if start < now - PAST_TOLERANCE:
        raise Invalid("start is in the past",
                      [Problem("/start", f"{start.isoformat()} has passed")])
    return max(start, now)


def _pin_versions(spec: ScenarioSpec, catalog: StoreCatalog) -> None:
    """Freeze the exact tool version each action was validated against."""
    for action in spec.actions():
        tool = pick_tool(catalog.node(action.node), action.tool, action.version)
        action.version = tool.version
