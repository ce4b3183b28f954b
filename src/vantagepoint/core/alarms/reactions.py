"""Follow-up measurements: an alarm may schedule a scenario on its node, rate-limited.

A reaction is booked through the scheduler like any request (policies and
quotas apply, the owner is the execution's owner). At most one follow-up of a
scenario per node per ``min_interval`` is booked: alarms in between are
recorded as ``limited``, so a flapping condition cannot flood the calendar.
The check and the booking run under the scheduler's lock, so two core
processes cannot both book.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vantagepoint.config import CoreSettings
from vantagepoint.core.run.logbook import core_log
from vantagepoint.core.scheduler import service
from vantagepoint.core.scheduler.allocate import lock_scheduler, scenario_spec
from vantagepoint.core.store.models import Alarm, Execution, ReactionRun
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import VantageError
from vantagepoint.spec.conditions import parse_condition
from vantagepoint.spec.models import Reaction
from vantagepoint.wire import ScheduleCreate

log = logging.getLogger(__name__)


def reactions_for(ex: Execution, alarm: Alarm) -> list[Reaction]:
    """The reactions of the alarm's action that answer its condition."""
    for task in ex.snapshot.get("tasks", []):
        for action in task.get("actions", []):
            if action["name"] == alarm.action and action.get("node") == alarm.node_name:
                return [r for r in map(Reaction.model_validate, action.get("reactions", []))
                        if r.when is None or str(parse_condition(r.when)) == alarm.condition]
    return []


def react(db: Session, alarm: Alarm, reaction: Reaction, settings: CoreSettings,
          policies: list) -> ReactionRun:
    """Book the follow-up unless one was booked within ``min_interval``; record the outcome."""
    ex = db.get(Execution, alarm.execution_id)
    lock_scheduler(db)
    run = ReactionRun(alarm_id=alarm.id, owner_id=ex.owner_id, scenario_name=reaction.scenario,
                      node_name=alarm.node_name, outcome="limited")
    last = _last_booked(db, run, reaction.min_interval)
    if last is not None:
        run.reason = f"reaction run {last.id} booked schedule {last.schedule_id} at " \
                     f"{last.created_at.isoformat()}, within {reaction.min_interval:g} s"
    else:
        _book(db, ex, alarm, reaction, settings, policies, run)
    db.add(run)
    db.flush()
    return run


def _last_booked(db: Session, run: ReactionRun, interval: float) -> ReactionRun | None:
    since = utcnow() - timedelta(seconds=interval)
    return db.scalar(select(ReactionRun).where(
        ReactionRun.owner_id == run.owner_id, ReactionRun.scenario_name == run.scenario_name,
        ReactionRun.node_name == run.node_name, ReactionRun.outcome == "scheduled",
        ReactionRun.created_at > since).order_by(ReactionRun.id.desc()).limit(1))


def _book(db: Session, ex: Execution, alarm: Alarm, reaction: Reaction,
          settings: CoreSettings, policies: list, run: ReactionRun) -> None:
    try:
        with db.begin_nested():
            spec = scenario_spec(db, ex.owner, reaction.scenario)
            nodes = [alarm.node_name] if spec.roles else None
            req = ScheduleCreate(scenario=reaction.scenario, duration=reaction.duration,
                                 nodes=nodes)
            booked = service.create(db, ex.owner, req, settings, policies)
    except VantageError as exc:
        run.outcome, run.reason = "refused", str(exc)
        core_log(db, ex.id, f"alarm {alarm.id}: follow-up {reaction.scenario!r} on "
                            f"{alarm.node_name} refused: {exc}", "warning", alarm.node_name)
        return
    run.outcome, run.schedule_id = "scheduled", booked.id
    core_log(db, ex.id, f"alarm {alarm.id} ({alarm.condition}): follow-up "
                        f"{reaction.scenario!r} scheduled on {alarm.node_name} "
                        f"(schedule {booked.id})", node=alarm.node_name)
