"""Results: filtered, keyset-paginated, only from executions the caller may see."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy import select

from vantagepoint.core.api.deps import CurrentUser, SessionDep
from vantagepoint.core.store.models import Execution, Result
from vantagepoint.wire import ResultOut, ResultPage

router = APIRouter(tags=["results"])


def visible_to(query, user):
    """Restrict a query over results to executions the user may see."""
    if user.is_admin:
        return query
    return query.join(Execution, Execution.id == Result.execution_id).where(
        Execution.owner_id == user.id)


@router.get("/results", summary="Query results")
def query_results(
    db: SessionDep, user: CurrentUser,
    execution: int | None = None, node: str | None = None, action: str | None = None,
    name: str | None = None,
    since: float | None = Query(None, description="Epoch seconds, inclusive."),
    until: float | None = Query(None, description="Epoch seconds, exclusive."),
    cursor: int = Query(0, ge=0, description="next_cursor of the previous page."),
    limit: int = Query(1000, ge=1, le=10000),
    background: bool = Query(False, description="Only the nodes' background results "
                                                "(continuous ping), which have no execution."),
) -> ResultPage:
    """Results in arrival order; follow ``next_cursor`` until it is null."""
    query = select(Result).where(Result.id > cursor).order_by(Result.id).limit(limit + 1)
    query = query.where(Result.background.is_(background))
    if not background:  # background results belong to the fleet, not to one user
        query = visible_to(query, user)
    for column, value in ((Result.execution_id, execution), (Result.node_name, node),
                          (Result.action, action), (Result.name, name)):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(Result.ts >= since)
    if until is not None:
        query = query.where(Result.ts < until)
    rows = list(db.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return ResultPage(
        items=[ResultOut(id=r.id, execution=r.execution_id, node=r.node_name, action=r.action,
                         name=r.name, ts=r.ts, value=r.value, background=r.background)
               for r in rows],
        next_cursor=rows[-1].id if more else None,
    )
