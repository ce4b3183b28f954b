"""Nodes a filter may choose: matching, able to run the roles, ranked."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from vantagepoint.core.scheduler.binding import role_tools
from vantagepoint.core.scheduler.calendar_db import node_info
from vantagepoint.core.scheduler.filters import parse_filter, rank
from vantagepoint.core.scheduler.model import NodeInfo
from vantagepoint.core.store.models import Node
from vantagepoint.spec.models import ScenarioSpec
from vantagepoint.wire import ScheduleCreate


def candidates(db: Session, spec: ScenarioSpec, req: ScheduleCreate) -> list[NodeInfo]:
    """Active nodes matching the filter that offer every tool the roles use, best first."""
    wanted = parse_filter(req.filter or "")
    tools = role_tools(spec)
    rows = [n for n in db.scalars(select(Node).order_by(Node.name)) if n.status == "active"]
    matching = [n for n in rows
                if wanted.matches(node_info(n))
                and len(n.interfaces) >= (req.min_interfaces or 0)
                and tools <= {t["name"] for t in n.tools}]
    last_seen = {n.name: n.last_seen for n in matching}
    return rank([node_info(n) for n in matching], last_seen)
