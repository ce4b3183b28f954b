"""Nodes a filter may choose: matching, able to run the roles, ranked."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from vantagepoint.core.catalog import fleet_nodes
from vantagepoint.core.scheduler.binding import role_tools
from vantagepoint.core.scheduler.filters import parse_filter, rank
from vantagepoint.core.scheduler.model import NodeInfo
from vantagepoint.core.store.models import Node
from vantagepoint.spec.models import ScenarioSpec
from vantagepoint.wire import ScheduleCreate


def candidates(db: Session, spec: ScenarioSpec, req: ScheduleCreate) -> list[NodeInfo]:
    """Active nodes matching the filter that offer every tool the roles use, best first."""
    wanted = parse_filter(req.filter or "")
    tools = role_tools(spec)
    live = {name: (status, seen) for name, status, seen in
            db.execute(select(Node.name, Node.status, Node.last_seen))}
    matching = []
    for info, offered in fleet_nodes(db):  # cached: parsing every node's JSON is slow
        status, _ = live.get(info.name, (None, None))
        if status != "active":
            continue
        info = info if info.status == status else replace(info, status=status)
        if (wanted.matches(info) and len(info.interfaces) >= (req.min_interfaces or 0)
                and tools <= offered):
            matching.append(info)
    return rank(matching, {n.name: live[n.name][1] for n in matching})
