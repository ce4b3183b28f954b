"""Exports: results and logs as CSV or Parquet, ping and traceroute runs as Atlas JSON.

Only rows from executions the caller may see; streamed, so any size fits.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from vantagepoint.core.analysis import atlas, export, kml
from vantagepoint.core.analysis.selection import Selection
from vantagepoint.core.api.analysis import FiltersDep
from vantagepoint.core.api.deps import CurrentUser, SessionDep
from vantagepoint.core.metadata import metadata_query
from vantagepoint.core.store.models import Node
from vantagepoint.errors import Invalid, NotFound, Problem
from vantagepoint.spec.tools import NAME_PATTERN

router = APIRouter(prefix="/export", tags=["export"])
Format = Literal["csv", "parquet"]


def export_selection(base: FiltersDep,
                     name: str | None = Query(None, pattern=NAME_PATTERN,
                                              description="One result name (type).")
                     ) -> Selection:
    return base.named(name)


ExportSelection = Annotated[Selection, Depends(export_selection)]


def _file(request: Request, table: str, sel: Selection, fmt: str) -> StreamingResponse:
    body = export.stream(request.app.state.sessions, export.TABLES[table], sel, fmt)
    stem = table if sel.name is None else f"{table}-{sel.name}"
    return StreamingResponse(body, media_type=export.FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})


@router.get("/results", summary="Export results as CSV or Parquet",
            response_class=StreamingResponse)
def export_results(request: Request, sel: ExportSelection,
                   format: Format = "csv") -> StreamingResponse:
    """Columns id, execution, node, action, name, ts, value (JSON text), value_num."""
    return _file(request, "results", sel, format)


@router.get("/logs", summary="Export execution logs as CSV or Parquet",
            response_class=StreamingResponse)
def export_logs(request: Request, sel: ExportSelection,
                format: Format = "csv") -> StreamingResponse:
    """Columns id, execution, node, action, ts, level, message (``name`` must be unset)."""
    if sel.name is not None:
        raise Invalid("logs have no result name", [Problem("query:name", "leave it unset")])
    return _file(request, "logs", sel, format)


@router.get("/atlas", summary="Export ping and traceroute runs as RIPE Atlas JSON",
            response_class=StreamingResponse)
def export_atlas(request: Request, sel: ExportSelection,
                 type: Literal["ping", "traceroute"] | None = None) -> StreamingResponse:
    """A JSON array of Atlas results (from the tools' ``atlas`` results); msm_id is the
    execution, prb_id the node's id."""
    records = atlas.records(request.app.state.sessions, sel, type)
    return StreamingResponse(atlas.json_array(records), media_type="application/json")


KML_TYPE = "application/vnd.google-earth.kml+xml"
GPS_TOPIC, MODEM_TOPIC = "MONROE.META.DEVICE.GPS", "MONROE.META.DEVICE.MODEM."


@router.get("/kml/{node}", summary="A node's GPS track, or radio coverage along it, as KML",
            response_class=Response)
def export_kml(db: SessionDep, _: CurrentUser, node: str,
               kind: Literal["track", "coverage"] = "track",
               since: float | None = Query(None, description="Epoch seconds, inclusive."),
               until: float | None = Query(None, description="Epoch seconds, exclusive.")
               ) -> Response:
    """From the node's metadata: GPS fixes, and (coverage) its modems' technology and signal."""
    if db.scalar(select(Node.id).where(Node.name == node)) is None:
        raise NotFound(f"no node {node!r}")
    gps = [m for _, m in _messages(db, node, GPS_TOPIC, since, until)]
    if kind == "track":
        body = kml.track_kml(node, gps)
    else:
        body = kml.coverage_kml(node, gps, _messages(db, node, MODEM_TOPIC, since, until))
    return Response(body, media_type=KML_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{node}-{kind}.kml"'})


def _messages(db, node: str, topic: str, since: float | None,
              until: float | None) -> list[tuple[str, dict]]:
    """Every (topic, message) of the node under a topic prefix, read page by page."""
    found, cursor = [], 0
    while True:
        page = list(db.scalars(metadata_query(node, topic, since, until, cursor, 5000)))
        found += [(row.topic, row.message) for row in page]
        if len(page) < 5000:
            return found
        cursor = page[-1].id
