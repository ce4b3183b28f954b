"""Per-action result processors applied on ingest, before anything is stored.

An action's ``processors`` (from the execution's frozen spec) run in order over
each of its results; each may change the value and the name (e.g. anonymise
addresses, convert ms to s). A processor without ``transform`` only acts when
the execution ends (see ``core.processors``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vantagepoint.core.plugins import processors
from vantagepoint.core.store.db import database_key
from vantagepoint.core.store.models import Execution
from vantagepoint.errors import VantageError

Chain = list[tuple[Any, dict[str, Any]]]  # (processor, its config) in order


def chains(db: Session, execution_ids: set[int]) -> dict[tuple[int, str], Chain]:
    """(execution, action) -> the transforms its spec asks for; absent means none."""
    if not execution_ids:
        return {}
    registered = processors()
    database = database_key(db.get_bind())
    found, missing = {}, set()
    for execution_id in execution_ids:
        cached = _CHAINS.get((database, execution_id))
        if cached is not None and cached[0] is registered:
            found.update(cached[1])
        else:
            missing.add(execution_id)
    if missing:
        rows = db.execute(select(Execution.id, Execution.snapshot).where(
            Execution.id.in_(missing)))
        for execution_id, snapshot in rows:
            own = {(execution_id, action["name"]): chain
                   for task in (snapshot or {}).get("tasks", []) for action in task["actions"]
                   if (chain := _chain(registered, execution_id, action))}
            _remember((database, execution_id), (registered, own))
            found.update(own)
    return found


# An execution's snapshot is frozen when it is created, so its chains never change:
# caching them spares every upload from reading and walking the whole snapshot.
_CHAINS: OrderedDict[tuple[str, int], tuple[dict, dict]] = OrderedDict()
_CHAINS_MAX = 4096
_CHAINS_LOCK = threading.Lock()


def _remember(key: tuple[str, int], value: tuple[dict, dict]) -> None:
    with _CHAINS_LOCK:
        _CHAINS[key] = value
        while len(_CHAINS) > _CHAINS_MAX:
            _CHAINS.popitem(last=False)


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
