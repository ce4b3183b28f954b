"""Executions: the list with states and progress, one execution in detail, CSV export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from vantagepoint.core.api.alarms import list_alarms
from vantagepoint.core.api.deps import SessionDep
from vantagepoint.core.api.executions import get_execution, list_executions, logs
from vantagepoint.core.api.files import list_files
from vantagepoint.core.api.results import query_results
from vantagepoint.core.store.types import utcnow
from vantagepoint.web.render import PageRoute, ViewerDep, render
from vantagepoint.web.series import downsample, one_series, summary
from vantagepoint.wire import ExecutionOut

router = APIRouter(route_class=PageRoute, include_in_schema=False)
CSV_COLUMNS = ("id", "execution", "node", "action", "name", "ts", "value")
CSV_PAGE = 10000
FIRST_CHART_POINTS = 800  # as execution.js asks
FIRST_LOG_LINES = 1000  # as execution.js asks per call
PAGE_ALARMS = 50  # the newest; the alarms page has them all
ATLAS_TOOLS = ("ping", "traceroute")  # the tools whose runs export as RIPE Atlas JSON


def progress(ex: ExecutionOut) -> float:
    """How far it is, 0..1: by elapsed time while running, 1 once it ended."""
    if ex.ended_at is not None or ex.state == "finished":
        return 1.0
    if ex.started_at is None:
        return 0.0
    elapsed = (utcnow() - ex.started_at).total_seconds()
    return min(1.0, max(0.0, elapsed / ex.duration)) if ex.duration else 1.0


@router.get("/executions", response_class=HTMLResponse)
def executions_page(request: Request, db: SessionDep, viewer: ViewerDep,
                    state: str | None = None):
    """The user's executions, newest first (refreshed in place)."""
    rows = list_executions(db, viewer.user, state=state, scenario=None, limit=200)
    return render(request, "executions.html", viewer, rows=rows, progress=progress, state=state)


def snapshot_actions(ex: ExecutionOut) -> list[dict]:
    """The actions an execution runs, from its frozen snapshot."""
    return [{**action, "task": task["name"]} for task in (ex.snapshot or {}).get("tasks", [])
            for action in task.get("actions", [])]


@router.get("/executions/{execution_id}", response_class=HTMLResponse)
def execution_page(execution_id: int, request: Request, db: SessionDep, viewer: ViewerDep):
    """State, live log, per-action results, charts, files and export.

    The first page of the log and the first chart come inside the page, so it is
    drawn without waiting for more requests (execution.js follows from there).
    """
    ex = get_execution(execution_id, db, viewer.user)
    actions = snapshot_actions(ex)
    nodes_of: dict[str, list[str]] = {}
    for action in actions:
        nodes_of.setdefault(action["name"], []).append(action["node"])
    rows = summary(db, ex.id)
    log = logs(ex.id, db, viewer.user, after=0, limit=FIRST_LOG_LINES)
    return render(request, "execution.html", viewer, ex=ex, progress=progress(ex),
                  actions=actions, nodes_of=nodes_of, summary=rows,
                  first_chart=first_chart(db, ex.id, rows, nodes_of),
                  first_log={"lines": [line.model_dump(mode="json") for line in log],
                             "more": len(log) == FIRST_LOG_LINES},
                  files=list_files(ex.id, db, viewer.user, node=None, action=None),
                  alarms=list_alarms(db, viewer.user, execution=ex.id, node=None, acked=None,
                                     after=0, limit=PAGE_ALARMS),
                  atlas_types=atlas_types(actions))


def atlas_types(actions: list[dict]) -> list[str]:
    """Which Atlas exports make sense: the ping and traceroute tools the execution ran."""
    used = {action.get("tool") for action in actions}
    return [tool for tool in ATLAS_TOOLS if tool in used]


def first_chart(db, execution_id: int, rows: list[dict], nodes_of: dict) -> dict | None:
    """The series the page charts first (the result with most values), reduced; its time
    range comes from the summary, so this is one query."""
    if not rows:
        return None
    biggest = max(rows, key=lambda r: r["count"])
    nodes = nodes_of.get(biggest["action"])
    if not nodes:
        return None
    key = {"node": nodes[0], "action": biggest["action"], "name": biggest["name"]}
    scope = one_series(execution_id, key["node"], key["action"], key["name"])
    found = downsample(db, scope, FIRST_CHART_POINTS,
                       known_span=(biggest["first"], biggest["last"]))
    return {**key, "data": found[""].to_dict() if found else None}


@router.get("/executions/{execution_id}/results.csv")
def results_csv(execution_id: int, request: Request, db: SessionDep, viewer: ViewerDep):
    """Every result of the execution as CSV, in the API's order (non-scalars as JSON)."""
    get_execution(execution_id, db, viewer.user)  # 404 before streaming starts
    rows = _csv_rows(request.app.state.sessions, viewer.user, execution_id)
    return StreamingResponse(rows, media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="execution-{execution_id}.csv"'})


def _csv_rows(sessions, user, execution_id: int) -> Iterator[str]:
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(CSV_COLUMNS)
    cursor: int | None = 0
    while cursor is not None:
        with sessions() as db:  # a short read per page; the request's session has closed
            page = query_results(db, user, execution=execution_id, node=None, action=None,
                                 name=None, since=None, until=None, cursor=cursor,
                                 limit=CSV_PAGE, background=False, study=None, run=None)
        for r in page.items:
            out.writerow((r.id, r.execution, r.node, r.action, r.name, repr(r.ts),
                          _cell(r.value)))
        cursor = page.next_cursor
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)
