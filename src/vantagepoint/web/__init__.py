"""The dashboard, served by the core itself at ``/``.

Pages are server-rendered (Jinja2) from the API's own route functions, so a user
sees exactly what the API would show them; the interactive parts (live
validation, dry runs, cancel, log following) call the JSON API from the browser
with the session cookie. To add a page: write ``pages/<thing>.py`` with a
``router`` and a template, list it in ``PAGES`` and give it a ``nav.NAV`` entry.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from vantagepoint.web import data, login
from vantagepoint.web.pages import (
    account,
    alarms,
    executions,
    fleet,
    nodes,
    scenarios,
    schedule,
    studies,
)

STATIC = Path(__file__).parent / "static"
PAGES = (login, fleet, nodes, scenarios, schedule, executions, account, data, alarms, studies)


def install(app: FastAPI) -> None:
    """Mount the dashboard's pages, data routes and static files on the core's app."""
    for module in PAGES:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
