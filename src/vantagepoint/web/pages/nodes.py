"""One node: interfaces, attributes, tools, its calendar, recent executions, RTT chart."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from vantagepoint.core.api.deps import SessionDep, SettingsDep
from vantagepoint.core.api.executions import list_executions
from vantagepoint.core.api.nodes import get_node
from vantagepoint.core.api.schedules import calendar
from vantagepoint.core.store.types import utcnow
from vantagepoint.web.pages.fleet import status_of
from vantagepoint.web.positions import position
from vantagepoint.web.render import PageRoute, ViewerDep, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
CALENDAR_DAYS = 7


@router.get("/nodes/{name}", response_class=HTMLResponse)
def node_page(name: str, request: Request, db: SessionDep, settings: SettingsDep,
              viewer: ViewerDep):
    """Everything about one node a user may see."""
    node = get_node(name, db, settings, viewer.user)
    now = utcnow()
    bookings = calendar(db, viewer.user, node=name, start=now - timedelta(days=1),
                        end=now + timedelta(days=CALENDAR_DAYS), limit=500)
    recent = [ex for ex in list_executions(db, viewer.user, limit=200)
              if any(part.node == name for part in ex.nodes)][:20]
    return render(request, "node.html", viewer, node=node, status=status_of(node),
                  position=position(db, node), bookings=bookings, recent=recent,
                  calendar_days=CALENDAR_DAYS)
