"""Alarms: the list with filters, each acknowledged in place through the API."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from vantagepoint.core.api.alarms import list_alarms
from vantagepoint.core.api.deps import SessionDep
from vantagepoint.errors import Invalid, Problem
from vantagepoint.web.render import PageRoute, ViewerDep, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
ACKED = {"open": False, "acked": True, "all": None}


@router.get("/alarms", response_class=HTMLResponse)
def alarms_page(request: Request, db: SessionDep, viewer: ViewerDep,
                execution: str = Query("", max_length=20),
                node: str | None = Query(None, max_length=128),
                show: Literal["open", "acked", "all"] = "open",
                limit: int = Query(200, ge=1, le=1000)):
    """Alarms of the user's executions (admin: all), newest first, filtered."""
    node, number = node or None, _execution_number(execution)
    rows = list_alarms(db, viewer.user, execution=number, node=node, acked=ACKED[show],
                       after=0, limit=limit)
    return render(request, "alarms.html", viewer, alarms=rows, execution=number, node=node,
                  show=show, limit=limit)


def _execution_number(text: str) -> int | None:
    """The filter form sends an empty field when no execution is chosen."""
    if not text.strip():
        return None
    if not text.strip().isdigit():
        raise Invalid("bad filter", [Problem("query:execution", "must be an execution id")])
    return int(text)
