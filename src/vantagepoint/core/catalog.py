"""The validation catalog backed by the store: the fleet, and one owner's stored specs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vantagepoint.core.scheduler.calendar_db import node_info
from vantagepoint.core.scheduler.model import NodeInfo
from vantagepoint.core.store.models import Node, Spec
from vantagepoint.core.store.types import utcnow
from vantagepoint.spec.tools import ToolInfo
from vantagepoint.spec.validate import NodeView, fleet_node


def node_view(node: Node) -> NodeView:
    return NodeView(
        name=node.name,
        interfaces=[i["name"] for i in node.interfaces],
        tools=[ToolInfo.model_validate(t) for t in node.tools],
    )


def is_online(node: Node, offline_after: float, now: datetime | None = None) -> bool:
    if node.last_seen is None:
        return False
    return (now or utcnow()) - node.last_seen < timedelta(seconds=offline_after)


class StoreCatalog:
    """Implements ``vantagepoint.spec.validate.Catalog`` for one owner."""

    def __init__(self, db: Session, owner_id: int):
        self.db, self.owner_id = db, owner_id
        self._nodes: dict[str, NodeView | None] = {}
        self.rows: dict[str, Node] = {}  # the node rows read, for callers that need more

    def node(self, name: str) -> NodeView | None:
        if name not in self._nodes:
            row = self.db.scalar(select(Node).where(Node.name == name))
            self._nodes[name] = node_view(row) if row is not None else None
            if row is not None:
                self.rows[name] = row
        return self._nodes[name]

    def nodes(self) -> list[NodeView]:
        return _fleet(self.db).views

    def role_node(self, tool: str, version: str | None) -> NodeView | str:
        """A stand-in for any node offering the tool, computed once per fleet state."""
        fleet = _fleet(self.db)
        key = (tool, version)
        if key not in fleet.roles:
            fleet.roles[key] = fleet_node(fleet.views, tool, version)
        return fleet.roles[key]

    def task(self, name: str) -> dict[str, Any] | None:
        return self._spec("task", name)

    def action(self, name: str) -> dict[str, Any] | None:
        return self._spec("action", name)

    def _spec(self, kind: str, name: str) -> dict[str, Any] | None:
        row = find_spec(self.db, kind, self.owner_id, name)
        return row.spec if row is not None else None


def find_spec(db: Session, kind: str, owner_id: int, name: str) -> Spec | None:
    return db.scalar(select(Spec).where(
        Spec.kind == kind, Spec.owner_id == owner_id, Spec.name == name))


@dataclass
class _Fleet:
    """The fleet as validation sees it, with the role stand-ins derived from it so far."""

    key: tuple
    views: list[NodeView]
    infos: list[NodeInfo]  # as the scheduler sees them; status as of the last registration
    roles: dict[tuple[str, str | None], NodeView | str] = field(default_factory=dict)


# Per database, reused until a node registers or changes: rebuilding the views (JSON and
# ToolInfo for every node) and scanning them for role stand-ins dominated each request.
_FLEET: dict[str, _Fleet] = {}


def fleet_views(db: Session) -> list[NodeView]:
    """Every node's view, rebuilt only when the fleet's registrations changed."""
    return _fleet(db).views


def fleet_nodes(db: Session) -> list[tuple[NodeInfo, frozenset[str]]]:
    """Every node as last registered (status included: callers read it fresh) and its tools."""
    fleet = _fleet(db)
    return [(info, frozenset(t.name for t in view.tools))
            for info, view in zip(fleet.infos, fleet.views, strict=True)]


def _fleet(db: Session) -> _Fleet:
    key = tuple(db.execute(select(func.count(Node.id), func.max(Node.registered_at))).one())
    url = db.get_bind().engine.url.render_as_string(hide_password=True)
    cached = _FLEET.get(url)
    if cached is None or cached.key != key:
        rows = db.scalars(select(Node).order_by(Node.name)).all()
        _FLEET[url] = cached = _Fleet(key, [node_view(n) for n in rows],
                                      [node_info(n) for n in rows])
    return cached
