"""One node: interfaces with their modems, attributes, tools, its calendar, events (its
own and its executions'), and charts of its background RTT and sensors."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from vantagepoint.core.api.deps import SessionDep, SettingsDep
from vantagepoint.core.api.executions import list_executions
from vantagepoint.core.api.nodes import get_node
from vantagepoint.core.api.schedules import calendar
from vantagepoint.core.store.types import utcnow
from vantagepoint.web.node_meta import events, modems
from vantagepoint.web.pages.fleet import status_of
from vantagepoint.web.positions import located
from vantagepoint.web.render import PageRoute, ViewerDep, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
CALENDAR_DAYS = 7
EVENTS = 50


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
                  located=located(db, node), bookings=bookings, modems=modems(db, name),
                  events=timeline(recent, events(db, name, EVENTS), name),
                  calendar_days=CALENDAR_DAYS)


def timeline(recent: list, node_events: list, node: str) -> list[dict]:
    """The node's own events and its part in the user's executions, newest first."""
    rows = [{"ts": e.ts, "kind": e.message.get("EventType", "event"),
             "text": e.message.get("Message", "")} for e in node_events]
    rows += [{"ts": ex.created_at.timestamp(), "kind": "execution", "execution": ex,
              "part": part} for ex in recent for part in ex.nodes if part.node == node]
    return sorted(rows, key=lambda r: r["ts"], reverse=True)
