"""Chart data for the dashboard: reduced series, as JSON, under the API's own auth."""

from __future__ import annotations

import time

from fastapi import APIRouter, Query

from vantagepoint.agent.background import action_name
from vantagepoint.core.api.deps import CurrentUser, SessionDep, SettingsDep
from vantagepoint.core.api.executions import visible
from vantagepoint.core.api.nodes import get_node
from vantagepoint.core.store.models import Result
from vantagepoint.errors import Invalid, Problem
from vantagepoint.web.node_meta import SENSORS, sensor_series
from vantagepoint.web.series import (
    MAX_POINTS,
    downsample,
    one_result,
    one_series,
    quantiles,
    stats,
)

router = APIRouter(prefix="/ui", include_in_schema=False)
RTT_RESULT = "rtt_ms"
BACKGROUND_PREFIX = action_name("")  # background-ping.<interface>
Points = Query(600, ge=10, le=MAX_POINTS, description="At most this many points.")


@router.get("/executions/{execution_id}/series")
def execution_series(execution_id: int, node: str, action: str, name: str, db: SessionDep,
                     user: CurrentUser, points: int = Points) -> dict:
    """One result of one action over time: min/mean/max per bucket."""
    visible(db, user, execution_id)
    found = downsample(db, one_series(execution_id, node, action, name), points,
                       span_scope=one_result(execution_id, action, name))
    return found[""].to_dict() if found else {"ts": [], "min": [], "mean": [], "max": [],
                                              "count": 0}


@router.get("/executions/{execution_id}/cdf")
def execution_cdf(execution_id: int, node: str, action: str, name: str, db: SessionDep,
                  user: CurrentUser, points: int = Points) -> dict:
    """The empirical distribution of one result of one action."""
    visible(db, user, execution_id)
    return quantiles(db, one_series(execution_id, node, action, name), points)


@router.get("/executions/{execution_id}/stats")
def execution_stats(execution_id: int, db: SessionDep, user: CurrentUser) -> list[dict]:
    """Min, mean and max of every numeric result, per node and action."""
    visible(db, user, execution_id)
    return stats(db, execution_id)


def _range(since: float | None, until: float | None) -> tuple[float, float]:
    """The chart range: default the last day; refused when empty."""
    until = until if until is not None else time.time() + 60
    since = since if since is not None else until - 86400
    if since >= until:
        raise Invalid("the range is empty", [Problem("query:since", "must be before until")])
    return since, until


Since = Query(None, description="Epoch s; default a day before until.")
Until = Query(None, description="Epoch s; default now.")


@router.get("/nodes/{name}/rtt")
def node_rtt(name: str, db: SessionDep, settings: SettingsDep, user: CurrentUser,
             since: float | None = Since, until: float | None = Until,
             points: int = Points) -> dict:
    """The node's background ping RTT per interface over a range (background results
    belong to the fleet: every user sees them)."""
    get_node(name, db, settings, user)
    since, until = _range(since, until)

    def scope(query):
        return query.where(Result.name == RTT_RESULT, Result.node_name == name,
                           Result.ts >= since, Result.ts < until,
                           Result.background.is_(True),
                           Result.action.startswith(BACKGROUND_PREFIX, autoescape=True))

    series = downsample(db, scope, points, group=Result.action)
    return {"since": since, "until": until,
            "series": {action.removeprefix(BACKGROUND_PREFIX): b.to_dict()
                       for action, b in sorted(series.items())}}


@router.get("/nodes/{name}/sensors/{kind}")
def node_sensor(name: str, kind: str, db: SessionDep, settings: SettingsDep,
                user: CurrentUser, since: float | None = Since, until: float | None = Until,
                points: int = Points) -> dict:
    """One sensor of the node (cpu, memory) from its metadata, bucketed over a range."""
    get_node(name, db, settings, user)
    if kind not in SENSORS:
        raise Invalid("unknown sensor", [Problem("path:kind",
                                                 f"use one of {', '.join(SENSORS)}")])
    since, until = _range(since, until)
    return {"since": since, "until": until,
            **sensor_series(db, name, kind, since, until, points)}
