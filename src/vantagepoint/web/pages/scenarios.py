"""Scenarios, tasks and actions: lists, and a YAML editor validated live by the API."""

from __future__ import annotations

import yaml
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from vantagepoint.core.api.deps import SessionDep
from vantagepoint.core.api.specs import KINDS, get_stored, list_stored
from vantagepoint.errors import NotFound
from vantagepoint.web.render import PageRoute, ViewerDep, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
COLLECTION = {kind: kinds for kinds, kind in KINDS.items()}  # scenario -> scenarios
TEMPLATE = """name: my-scenario
description: what this measures
tasks:
  - name: main
    actions:
      - name: ping
        node: NODE
        tool: ping
        config:
          target: 127.0.0.1
        results: [rtt_ms]
"""


@router.get("/scenarios", response_class=HTMLResponse)
def spec_lists(request: Request, db: SessionDep, viewer: ViewerDep):
    """Stored scenarios, tasks and actions."""
    lists = {kind: list_stored(db, viewer.user, kind) for kind in COLLECTION}
    return render(request, "scenarios.html", viewer, lists=lists)


@router.get("/specs/{kind}/{name}", response_class=HTMLResponse)
def spec_page(kind: str, name: str, request: Request, db: SessionDep, viewer: ViewerDep):
    """One stored spec, in the editor."""
    if kind not in COLLECTION:
        raise NotFound(f"no kind {kind!r}")
    stored = get_stored(db, viewer.user, kind, name)
    text = yaml.safe_dump(stored.spec, sort_keys=False, allow_unicode=True)
    return _editor(request, viewer, kind, text, stored)


@router.get("/editor", response_class=HTMLResponse)
def new_spec(request: Request, viewer: ViewerDep,
             kind: str = Query("scenario", pattern="^(scenario|task|action)$")):
    """The editor with a starting template."""
    return _editor(request, viewer, kind, TEMPLATE if kind == "scenario" else "name: \n", None)


def _editor(request, viewer, kind, text, stored):
    return render(request, "editor.html", viewer, kind=kind, collection=COLLECTION[kind],
                  text=text, stored=stored)
