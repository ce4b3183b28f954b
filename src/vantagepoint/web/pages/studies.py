"""Studies: the list, and one study's grid of combinations with a statistic per run."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from vantagepoint.core.analysis.selection import Selection
from vantagepoint.core.api.analysis import stats
from vantagepoint.core.api.deps import SessionDep
from vantagepoint.core.api.studies import get_study, list_studies
from vantagepoint.core.studies import service
from vantagepoint.errors import Invalid, Problem
from vantagepoint.spec.tools import NAME_PATTERN
from vantagepoint.web.render import PageRoute, ViewerDep, render
from vantagepoint.web.study_grid import STATISTICS, Grid, build, pick, result_names

router = APIRouter(route_class=PageRoute, include_in_schema=False)
DEFAULT_RESULT = "rtt_ms"


@router.get("/studies", response_class=HTMLResponse)
def studies_page(request: Request, db: SessionDep, viewer: ViewerDep):
    """The user's studies (admin: all) with each run's states."""
    return render(request, "studies.html", viewer, studies=list_studies(db, viewer.user))


@router.get("/studies/{name}", response_class=HTMLResponse)
def study_page(name: str, request: Request, db: SessionDep, viewer: ViewerDep,
               result: str | None = Query(None, pattern=NAME_PATTERN),
               stat: str = "mean", cols: str | None = Query(None, max_length=64)):
    """The grid of parameter combinations; per cell each run's state and ``stat`` of
    ``result`` (from the stats API, per execution)."""
    if stat not in STATISTICS:
        raise Invalid("unknown statistic", [Problem("query:stat",
                                                    f"use one of {', '.join(STATISTICS)}")])
    study = get_study(name, db, viewer.user)
    names = result_names(service.find(db, viewer.user, name).document.get("template", {}))
    result = result or (names[0] if names else DEFAULT_RESULT)
    grid = build(study, cols)
    fill(db, viewer.user, grid, result, stat)
    return render(request, "study.html", viewer, study=study, grid=grid, result=result,
                  stat=stat, names=names, statistics=STATISTICS)


def fill(db, user, grid: Grid, result: str, stat: str) -> None:
    """Each entry's statistic, one stats query per execution (the index serves each)."""
    percentiles = stat[1:] if stat.startswith("p") else ""
    for entry in grid.entries():
        if entry.execution is None:
            continue
        sel = Selection.for_user(user, name=result, execution=entry.execution)
        groups = stats(db, sel, by=[], percentiles=percentiles).groups
        entry.value = pick(groups[0].model_dump(), stat) if groups else None
