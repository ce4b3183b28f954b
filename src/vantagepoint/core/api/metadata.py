"""Node metadata: the bus messages nodes recorded, by node, topic prefix and time."""

from __future__ import annotations

from fastapi import APIRouter, Query

from vantagepoint.core.api.deps import CurrentUser, SessionDep
from vantagepoint.core.metadata import metadata_query
from vantagepoint.wire import TOPIC_PATTERN, MetadataOut, MetadataPage

router = APIRouter(tags=["metadata"])


@router.get("/metadata", summary="Query node metadata")
def query_metadata(
    db: SessionDep, _: CurrentUser,
    node: str | None = None,
    topic: str | None = Query(None, max_length=200, pattern=TOPIC_PATTERN,
                              description="Topic prefix, e.g. MONROE.META.DEVICE.GPS."),
    since: float | None = Query(None, description="Epoch seconds, inclusive."),
    until: float | None = Query(None, description="Epoch seconds, exclusive."),
    cursor: int = Query(0, ge=0, description="next_cursor of the previous page."),
    limit: int = Query(1000, ge=1, le=10000),
) -> MetadataPage:
    """Messages in arrival order; follow ``next_cursor`` until it is null."""
    rows = list(db.scalars(metadata_query(node, topic, since, until, cursor, limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return MetadataPage(
        items=[MetadataOut(id=r.id, node=r.node_name, topic=r.topic, ts=r.ts, message=r.message)
               for r in rows],
        next_cursor=rows[-1].id if more else None)
