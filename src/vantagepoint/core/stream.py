"""The live stream's source: new rows read from the database, so it works the same
whichever core process wrote them (several replicas may share one database).

A ``Feed`` remembers, per subscriber, the last result and alarm ids it sent and
the last execution, node-part and node states it saw; each ``poll`` returns
the events since. It starts at "now": history is for the REST queries.

Limitation: on PostgreSQL a result or alarm that commits after one with a
larger id, between two polls, is not streamed (it is stored and queryable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from vantagepoint.core.alarms.store import alarm_out
from vantagepoint.core.catalog import is_online
from vantagepoint.core.run.coordinator import ACTIVE
from vantagepoint.core.store.models import Alarm, Execution, ExecutionNode, Node, Result, User

KINDS = ("result", "alarm", "state", "node")
PAGE = 1000
Event = dict[str, Any]


@dataclass
class Filters:
    kinds: frozenset[str] = frozenset(KINDS)
    execution: int | None = None
    node: str | None = None


@dataclass
class Feed:
    """One subscriber's position in every stream."""

    user_id: int
    admin: bool
    filters: Filters
    offline_after: float
    last_result: int = 0
    last_alarm: int = 0
    states: dict[tuple[int, str | None], str] = field(default_factory=dict)
    nodes: dict[str, tuple[bool, str]] = field(default_factory=dict)
    primed: bool = False  # positions taken: from now on changes are events

    def start(self, db: Session) -> None:
        """Take the current positions, so that only what happens from now on is sent."""
        self.last_result = db.scalar(select(func.max(Result.id))) or 0
        self.last_alarm = db.scalar(select(func.max(Alarm.id))) or 0
        self._states(db)
        self._nodes(db)
        self.primed = True

    def poll(self, db: Session) -> list[Event]:
        """Every event since the last poll, kind by kind."""
        f, events = self.filters, []
        if "state" in f.kinds:
            events += self._states(db)
        if "node" in f.kinds:
            events += self._nodes(db)
        if "alarm" in f.kinds:
            events += self._alarms(db)
        if "result" in f.kinds:
            events += self._results(db)
        return events

    def _scoped(self, query, execution_column, node_column, joined: bool = False):
        """Only the caller's executions (admin: all), narrowed by the filters."""
        if not self.admin:
            if not joined:
                query = query.join(Execution, Execution.id == execution_column)
            query = query.where(Execution.owner_id == self.user_id)
        if self.filters.execution is not None:
            query = query.where(execution_column == self.filters.execution)
        if self.filters.node is not None and node_column is not None:
            query = query.where(node_column == self.filters.node)
        return query

    def _results(self, db: Session) -> list[Event]:
        query = self._scoped(select(Result).where(Result.id > self.last_result),
                             Result.execution_id, Result.node_name)
        rows = list(db.scalars(query.order_by(Result.id).limit(PAGE)))
        if rows:
            self.last_result = rows[-1].id
        return [_event("result", r.execution_id, r.node_name,
                       {"id": r.id, "action": r.action, "name": r.name, "ts": r.ts,
                        "value": r.value}) for r in rows]

    def _alarms(self, db: Session) -> list[Event]:
        query = self._scoped(select(Alarm).where(Alarm.id > self.last_alarm),
                             Alarm.execution_id, Alarm.node_name)
        rows = list(db.scalars(query.order_by(Alarm.id).limit(PAGE)))
        if rows:
            self.last_alarm = rows[-1].id
        return [_event("alarm", a.execution_id, a.node_name, alarm_out(a).model_dump(mode="json"))
                for a in rows]

    def _states(self, db: Session) -> list[Event]:
        """Changes of execution states and of node parts, for live or just-ended executions."""
        known = {execution for execution, _ in self.states}
        live = or_(Execution.state.in_(ACTIVE), Execution.id.in_(known))
        if self.filters.node is not None:  # executions in which the node takes part
            live = live & Execution.id.in_(select(ExecutionNode.execution_id).where(
                ExecutionNode.node_name == self.filters.node))
        query = self._scoped(select(Execution.id, Execution.state, Execution.reason)
                             .where(live), Execution.id, None, joined=True)
        events = [e for ex_id, state, reason in db.execute(query)
                  if (e := self._seen((ex_id, None), state, reason))]
        parts = self._scoped(select(ExecutionNode.execution_id, ExecutionNode.node_name,
                                    ExecutionNode.state, ExecutionNode.reason)
                             .join(Execution, Execution.id == ExecutionNode.execution_id)
                             .where(live), ExecutionNode.execution_id, ExecutionNode.node_name,
                             joined=True)
        events += [e for ex_id, node, state, reason in db.execute(parts)
                   if (e := self._seen((ex_id, node), state, reason))]
        self._forget_ended(db)
        return events

    def _seen(self, key: tuple[int, str | None], state: str, reason: str | None) -> Event | None:
        previous = self.states.get(key)
        self.states[key] = state
        if previous == state or not self.primed:
            return None
        return _event("state", key[0], key[1],
                      {"state": state, "previous": previous, "reason": reason})

    def _forget_ended(self, db: Session) -> None:
        ids = {execution for execution, _ in self.states}
        if not ids:
            return
        live = set(db.scalars(select(Execution.id).where(Execution.id.in_(ids),
                                                         Execution.state.in_(ACTIVE))))
        self.states = {k: v for k, v in self.states.items() if k[0] in live}

    def _nodes(self, db: Session) -> list[Event]:
        query = select(Node)
        if self.filters.node is not None:
            query = query.where(Node.name == self.filters.node)
        events = []
        for node in db.scalars(query):
            now = (is_online(node, self.offline_after), node.status)
            before = self.nodes.get(node.name)
            self.nodes[node.name] = now
            if before != now and self.primed:
                events.append(_event("node", None, node.name, {
                    "online": now[0], "status": now[1], "reason": node.status_reason,
                    "previous": None if before is None else
                    {"online": before[0], "status": before[1]}}))
        return events


def _event(kind: str, execution: int | None, node: str | None, data: dict) -> Event:
    return {"kind": kind, "execution": execution, "node": node, "data": data}


def feed_for(user: User, filters: Filters, offline_after: float) -> Feed:
    return Feed(user_id=user.id, admin=user.is_admin, filters=filters,
                offline_after=offline_after)
