"""Result processors: plugins (entry-point group ``vantagepoint.processors``).

A processor may ``transform`` each result of the actions whose spec lists it, on
ingest (see ``core.transforms``: anonymise, convert), and/or ``process`` an
execution's stored results when it ends, e.g. joining the sender and receiver
halves of a one-way-delay measurement. Each has a ``config_schema`` that an
action's ``processors: [{name, config}]`` is validated against."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from vantagepoint.core.ingest import insert_results
from vantagepoint.core.store.models import Execution, Node, Result

GROUP = "vantagepoint.processors"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Derived:
    """A result a processor adds, attributed to a node and an action of the execution."""

    node: str
    action: str
    name: str
    ts: float
    value: Any


Fetch = Callable[..., list[dict[str, Any]]]


class Processor(Protocol):
    name: str
    config_schema: dict[str, Any]

    def process(self, snapshot: dict[str, Any], fetch: Fetch,
                skews: dict[str, float | None]) -> list[Derived]:
        """Derive results; ``fetch(action=, name=)`` reads the execution's results."""
        ...


def load_processors() -> list[Processor]:
    """Every registered processor; one that fails to load raises, naming it."""
    from vantagepoint.core.plugins import load_group

    return list(load_group(GROUP).values())


def run_processors(db: Session, ex: Execution, processors: list[Processor]) -> int:
    """Run every processor over an ended execution; store what they derive (idempotent)."""
    nodes = sorted({a["node"] for t in ex.snapshot.get("tasks", []) for a in t["actions"]})
    skews = {n: db.scalar(select(Node.clock_skew_ms).where(Node.name == n)) for n in nodes}
    stored = 0
    for processor in processors:
        if not hasattr(processor, "process"):
            continue  # acts on ingest only
        derived = processor.process(ex.snapshot, _fetcher(db, ex.id), skews)
        stored += insert_results(db, ex.id, f"proc-{processor.name}-{ex.id}", derived)
    return stored


def _fetcher(db: Session, execution_id: int) -> Fetch:
    def fetch(action: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        query = select(Result).where(Result.execution_id == execution_id).order_by(Result.id)
        if action is not None:
            query = query.where(Result.action == action)
        if name is not None:
            query = query.where(Result.name == name)
        return [{"node": r.node_name, "action": r.action, "name": r.name, "ts": r.ts,
                 "value": r.value} for r in db.scalars(query)]
    return fetch


def process_ended(sessions, processors: list[Processor]) -> None:
    """Run the processors once over every execution that reached a final state."""
    from vantagepoint.core.run.coordinator import FINAL_VALUES
    from vantagepoint.core.store.types import utcnow

    with sessions() as db:
        ids = db.scalars(select(Execution.id).where(Execution.state.in_(FINAL_VALUES),
                                                    Execution.processed_at.is_(None))).all()
    for execution_id in ids:
        with sessions.begin() as db:
            ex = db.get(Execution, execution_id)
            if ex.processed_at is None:
                run_processors(db, ex, processors)
                ex.processed_at = utcnow()
