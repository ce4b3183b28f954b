"""Results: filtered, keyset-paginated, only from executions the caller may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from vantagepoint.core.api.deps import CurrentUser, SessionDep
from vantagepoint.core.store.models import Execution, Result, Study
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
    since: Annotated[float | None, Query(description="Epoch seconds, inclusive.")] = None,
    until: Annotated[float | None, Query(description="Epoch seconds, exclusive.")] = None,
    cursor: Annotated[int, Query(ge=0, description="next_cursor of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    background: Annotated[bool, Query(description="Only the nodes' background results "
                                                  "(continuous ping), which have no "
                                                  "execution.")] = False,
    study: Annotated[str | None, Query(description="Only results of this study's "
                                                   "executions.")] = None,
    run: Annotated[int | None, Query(ge=1, description="Only this run of the study.")] = None,
) -> ResultPage:
    """Results in arrival order, each with its study, run and parameter values when it
    has them; follow ``next_cursor`` until it is null."""
    query = (select(Result, Execution.study_run, Execution.study_params, Study.name)
             .outerjoin(Execution, Execution.id == Result.execution_id)
             .outerjoin(Study, Study.id == Execution.study_id)
             .where(Result.id > cursor, Result.background.is_(background))
             .order_by(Result.id).limit(limit + 1))
    if not user.is_admin and not background:  # background results belong to the fleet
        query = query.where(Execution.owner_id == user.id)
    if study is not None:
        query = query.where(Study.name == study)
    if run is not None:
        query = query.where(Execution.study_run == run)
    for column, value in ((Result.execution_id, execution), (Result.node_name, node),
                          (Result.action, action), (Result.name, name)):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(Result.ts >= since)
    if until is not None:
        query = query.where(Result.ts < until)
    rows = list(db.execute(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return ResultPage(
        items=[ResultOut(id=r.id, execution=r.execution_id, node=r.node_name, action=r.action,
                         name=r.name, ts=r.ts, value=r.value, background=r.background,
                         study=study_name, study_run=study_run, study_params=params)
               for r, study_run, params, study_name in rows],
        next_cursor=rows[-1][0].id if more else None,
    )
