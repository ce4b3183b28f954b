"""Chart data for the dashboard: reduced series, as JSON, under the API's own auth."""

from __future__ import annotations

import time

from fastapi import APIRouter, Query

from vantagepoint.core.api.deps import CurrentUser, SessionDep, SettingsDep
from vantagepoint.core.api.executions import visible
from vantagepoint.core.api.nodes import get_node
from vantagepoint.core.api.results import visible_to
from vantagepoint.core.store.models import Result
from vantagepoint.errors import Invalid, Problem
from vantagepoint.web.series import MAX_POINTS, downsample, quantiles, stats

router = APIRouter(prefix="/ui", include_in_schema=False)
RTT_RESULT = "rtt_ms"
Points = Query(600, ge=10, le=MAX_POINTS, description="At most this many points.")


def _one_result(execution_id: int, action: str, name: str):
    def scope(query):
        return query.where(Result.execution_id == execution_id, Result.action == action,
                           Result.name == name)
    return scope


def _one_series(execution_id: int, node: str, action: str, name: str):
    def scope(query):
        return _one_result(execution_id, action, name)(query).where(Result.node_name == node)
    return scope


@router.get("/executions/{execution_id}/series")
def execution_series(execution_id: int, node: str, action: str, name: str, db: SessionDep,
                     user: CurrentUser, points: int = Points) -> dict:
    """One result of one action over time: min/mean/max per bucket."""
    visible(db, user, execution_id)
    found = downsample(db, _one_series(execution_id, node, action, name), points,
                       span_scope=_one_result(execution_id, action, name))
    return found[""].to_dict() if found else {"ts": [], "min": [], "mean": [], "max": [],
                                              "count": 0}


@router.get("/executions/{execution_id}/cdf")
def execution_cdf(execution_id: int, node: str, action: str, name: str, db: SessionDep,
                  user: CurrentUser, points: int = Points) -> dict:
    """The empirical distribution of one result of one action."""
    visible(db, user, execution_id)
    return quantiles(db, _one_series(execution_id, node, action, name), points)


@router.get("/executions/{execution_id}/stats")
def execution_stats(execution_id: int, db: SessionDep, user: CurrentUser) -> list[dict]:
    """Min, mean and max of every numeric result, per node and action."""
    visible(db, user, execution_id)
    return stats(db, execution_id)


@router.get("/nodes/{name}/rtt")
def node_rtt(name: str, db: SessionDep, settings: SettingsDep, user: CurrentUser,
             since: float | None = Query(None, description="Epoch s; default a day ago."),
             until: float | None = Query(None, description="Epoch s; default now."),
             points: int = Points) -> dict:
    """RTT results measured on the node, per action, over a range, from visible executions."""
    get_node(name, db, settings, user)
    until = until if until is not None else time.time() + 60
    since = since if since is not None else until - 86400
    if since >= until:
        raise Invalid("the range is empty", [Problem("query:since", "must be before until")])

    def scope(query):
        return visible_to(query, user).where(Result.node_name == name,
                                             Result.name == RTT_RESULT,
                                             Result.ts >= since, Result.ts < until)

    series = downsample(db, scope, points, group=Result.action)
    return {"since": since, "until": until,
            "series": {action: b.to_dict() for action, b in sorted(series.items())}}
