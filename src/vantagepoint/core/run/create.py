"""Starting a scenario now or at a time: a one-occurrence schedule on its own nodes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vantagepoint.config import CoreSettings
from vantagepoint.core.catalog import StoreCatalog
from vantagepoint.core.store.models import Execution, User
from vantagepoint.core.store.types import utcnow
from vantagepoint.spec.models import ScenarioSpec
from vantagepoint.spec.validate import pick_tool
from vantagepoint.wire import ExecutionCreate, ScheduleCreate


def create_execution(db: Session, user: User, body: ExecutionCreate, settings: CoreSettings,
                     policies: list) -> Execution:
    """Book the slot through the scheduler (policies, quotas) and create its execution."""
    from vantagepoint.core.scheduler.allocate import book, lock_scheduler, plan
    from vantagepoint.core.scheduler.materialize import materialize

    req = ScheduleCreate(scenario=body.scenario, mode="at", start=body.start or utcnow(),
                         duration=body.duration)
    lock_scheduler(db)
    found = plan(db, user, req, settings, policies, utcnow())
    schedule = book(db, user, req, found)
    return materialize(db, schedule.id, 0)


def pin_versions(spec: ScenarioSpec, catalog: StoreCatalog) -> None:
    """Freeze the exact tool version each action was validated against."""
    for action in spec.actions():
        tool = pick_tool(catalog.node(action.node), action.tool, action.version)
        action.version = tool.version
