"""Per-action result processors applied on ingest, before anything is stored.

An action's ``processors`` (from the execution's frozen spec) run in order over
each of its results; each may change the value and the name (e.g. anonymise
addresses, convert ms to s). A processor without ``transform`` only acts when
the execution ends (see ``core.processors``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vantagepoint.core.plugins import processors
from vantagepoint.core.store.models import Execution
from vantagepoint.errors import VantageError

Chain = list[tuple[Any, dict[str, Any]]]  # (processor, its config) in order


def chains(db: Session, execution_ids: set[int]) -> dict[tuple[int, str], Chain]:
    """(execution, action) -> the transforms its spec asks for; absent means none."""
    if not execution_ids:
        return {}
    registered = processors()
    found = {}
    rows = db.execute(select(Execution.id, Execution.snapshot).where(
        Execution.id.in_(execution_ids)))
    for execution_id, snapshot in rows:
        for task in (snapshot or {}).get("tasks", []):
            for action in task["actions"]:
                chain = _chain(registered, execution_id, action)
                if chain:
                    found[(execution_id, action["name"])] = chain
    return found


def _chain(registered: dict[str, Any], execution_id: int, action: dict[str, Any]) -> Chain:
    chain = []
    for use in action.get("processors") or []:
        processor = registered.get(use["name"])
        if processor is None:
            # Storing unprocessed (e.g. not anonymised) results would be worse than waiting:
            # the agent keeps them spooled and retries.
            raise VantageError(f"result processor {use['name']!r} of action "
                               f"{action['name']!r} in execution {execution_id} is not "
                               f"installed on this core; its results wait on the node")
        if hasattr(processor, "transform"):
            chain.append((processor, use.get("config") or {}))
    return chain


def apply(chain: Chain, name: str, value: Any) -> tuple[str, Any]:
    """Run one result through a chain of transforms."""
    for processor, config in chain:
        name, value = processor.transform(name, value, config)
    return name, value
