"""RIPE Atlas JSON of ping and traceroute runs, from the ``atlas`` results the tools emit.

A tool cannot know the ids Atlas readers key on, so the export fills them in:
``msm_id`` is the execution's id and ``prb_id`` the node's id in the core.
Everything else is the record as the tool wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vantagepoint.core.analysis.export import PAGE
from vantagepoint.core.analysis.selection import Selection
from vantagepoint.core.store.models import Node, Result

KINDS = ("ping", "traceroute")


def atlas_record(value: Any, execution_id: int, probe_id: int) -> dict[str, Any] | None:
    """The stored record with the core's ids, or None when it is no Atlas record."""
    if not isinstance(value, dict) or value.get("type") not in KINDS:
        return None
    return {**value, "msm_id": execution_id, "prb_id": probe_id}


def records(sessions: sessionmaker[Session], sel: Selection,
            kind: str | None = None) -> Iterator[dict[str, Any]]:
    """Every Atlas record of the selection in arrival order, optionally of one kind."""
    sel, after = sel.named("atlas"), 0
    with sessions() as db:
        probes = {name: node_id for name, node_id in db.execute(select(Node.name, Node.id))}
    while True:
        with sessions() as db:
            rows = db.execute(select(Result.id, Result.execution_id, Result.node_name,
                                     Result.value)
                              .where(*sel.where(), Result.id > after)
                              .order_by(Result.id).limit(PAGE)).all()
        if not rows:
            return
        for row in rows:
            record = atlas_record(row.value, row.execution_id, probes.get(row.node_name, 0))
            if record is not None and kind in (None, record["type"]):
                yield record
        after = rows[-1].id


def json_array(items: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """A JSON array, streamed an element at a time."""
    yield b"["
    for i, item in enumerate(items):
        yield (b"," if i else b"") + json.dumps(item, separators=(",", ":")).encode()
    yield b"]"
