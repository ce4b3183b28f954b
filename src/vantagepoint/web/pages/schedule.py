"""The schedule form (dry run, then book) and the list of schedules."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from vantagepoint.core.api.deps import SessionDep, SettingsDep
from vantagepoint.core.api.nodes import list_nodes
from vantagepoint.core.api.schedules import list_schedules
from vantagepoint.core.api.specs import list_stored
from vantagepoint.web.render import PageRoute, ViewerDep, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/schedule", response_class=HTMLResponse)
def schedule_page(request: Request, db: SessionDep, settings: SettingsDep, viewer: ViewerDep,
                  scenario: str | None = None):
    """Form: scenario, start, duration, repetition, nodes; and the user's schedules."""
    return render(request, "schedule.html", viewer, chosen=scenario,
                  scenarios=list_stored(db, viewer.user, "scenario"),
                  nodes=list_nodes(db, settings, viewer.user),
                  schedules=list_schedules(db, viewer.user)[:50],
                  min_duration=settings.min_duration_seconds)
