"""The validation catalog backed by the store: the fleet, and one owner's stored specs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from vantagepoint.core.scheduler.calendar_db import node_info
from vantagepoint.core.scheduler.model import NodeInfo
from vantagepoint.core.store.db import database_key
from vantagepoint.core.store.models import Node, Spec
from vantagepoint.core.store.prepared import Prepared
from vantagepoint.core.store.types import utcnow
from vantagepoint.spec.models import ScenarioSpec
from vantagepoint.spec.tools import ToolInfo
from vantagepoint.spec.validate import NodeView, fleet_node, resolve_scenario


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

    def node(self, name: str) -> NodeView | None:
        return _fleet(self.db).by_name.get(name)

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


def resolved_scenario(db: Session, owner_id: int, name: str) -> ScenarioSpec | None:
    """A stored scenario resolved and checked against the fleet (None if there is none).

    Resolving (parsing, JSON Schema checks of every action) cost more than the rest of a
    scheduling request, so the result is kept while the scenario's version and the fleet
    stay the same; only the version is read then. A scenario with references is resolved
    anew: what it refers to may have changed without its own version changing. Treat
    the result as read-only.
    """
    found = _SPEC_VERSION.first(db, {"kind": "scenario", "owner": owner_id, "name": name})
    if found is None:
        return None
    spec_id, version = found
    key = (_url(db), spec_id, version, _fleet(db).key)
    spec = _RESOLVED.get(key)
    if spec is None:
        raw = db.scalar(select(Spec.spec).where(Spec.id == spec_id))
        spec = resolve_scenario(raw, StoreCatalog(db, owner_id))
        if not _has_refs(raw):
            if len(_RESOLVED) >= MAX_RESOLVED:
                _RESOLVED.clear()
            _RESOLVED[key] = spec
    return spec


def _has_refs(raw: Any) -> bool:
    tasks = raw.get("tasks") if isinstance(raw, dict) else None
    if not isinstance(tasks, list):
        return True  # malformed: let resolving say what is wrong, every time
    for task in tasks:
        if not isinstance(task, dict) or "ref" in task:
            return True
        actions = task.get("actions")
        if not isinstance(actions, list) or any(
                not isinstance(a, dict) or "ref" in a for a in actions):
            return True
    return False


MAX_RESOLVED = 1024
_RESOLVED: dict[tuple, ScenarioSpec] = {}


def find_spec(db: Session, kind: str, owner_id: int, name: str) -> Spec | None:
    return db.scalar(_FIND_SPEC, {"kind": kind, "owner": owner_id, "name": name})


_WHICH_SPEC = (Spec.kind == bindparam("kind"), Spec.owner_id == bindparam("owner"),
               Spec.name == bindparam("name"))
_FIND_SPEC = select(Spec).where(*_WHICH_SPEC)
_SPEC_VERSION = Prepared(select(Spec.id, Spec.version).where(*_WHICH_SPEC))


@dataclass
class _Fleet:
    """The fleet as validation sees it, with the role stand-ins derived from it so far."""

    key: tuple
    views: list[NodeView]
    infos: list[NodeInfo]  # as the scheduler sees them; status as of the last registration
    roles: dict[tuple[str, str | None], NodeView | str] = field(default_factory=dict)
    memos: dict[str, dict] = field(default_factory=dict)  # see fleet_memo
    by_name: dict[str, NodeView] = field(init=False)
    info_by_name: dict[str, NodeInfo] = field(init=False)

    def __post_init__(self) -> None:
        self.by_name = {view.name: view for view in self.views}
        self.info_by_name = {info.name: info for info in self.infos}


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


def fleet_memo(db: Session, name: str) -> dict:
    """A dict named ``name`` that lives as long as the fleet's registrations stay the same."""
    memos = _fleet(db).memos
    if name not in memos:
        memos[name] = {}
    return memos[name]


def node_infos(db: Session, names: list[str]) -> list[NodeInfo]:
    """The named nodes as the scheduler sees them, their status read fresh."""
    known = _fleet(db).info_by_name
    if len(names) == 1:  # the common case, without an expanding IN
        rows = _STATUS_ONE.rows(db, {"name": names[0]})
    else:
        rows = db.execute(_STATUS, {"names": names}).all()
    return [info if info.status == status else replace(info, status=status)
            for name, status in rows if (info := known.get(name)) is not None]


# The fleet's version: a new node raises the largest id, a re-registration the latest
# time; both read from an index's end (nodes are never deleted, only disabled). Two
# subqueries: SQLite answers a lone max() from an index, but scans for two in one select.
# Raw driver values: the key is only compared with itself.
_FLEET_KEY = Prepared(select(select(func.max(Node.id)).scalar_subquery(),
                             select(func.max(Node.registered_at)).scalar_subquery()))
_STATUS = select(Node.name, Node.status).where(Node.name.in_(bindparam("names", expanding=True)))
_STATUS_ONE = Prepared(select(Node.name, Node.status).where(Node.name == bindparam("name")))


def _fleet(db: Session) -> _Fleet:
    """The fleet, checked against the store once per transaction."""
    transaction = db.get_transaction()
    seen = db.info.get("vp_fleet")
    if seen is not None and seen[0] is transaction:
        return seen[1]
    key = tuple(_FLEET_KEY.first(db))
    url = _url(db)
    cached = _FLEET.get(url)
    if cached is None or cached.key != key:
        rows = db.scalars(select(Node).order_by(Node.name)).all()
        _FLEET[url] = cached = _Fleet(key, [node_view(n) for n in rows],
                                      [node_info(n) for n in rows])
    db.info["vp_fleet"] = (transaction, cached)
    return cached


def _url(db: Session) -> str:
    """Which database: caches here are per database, shared by the process's sessions."""
    return database_key(db.get_bind().engine)
