"""The fleet: a world map of nodes coloured by status, and a table."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from vantagepoint.core.api.deps import SessionDep, SettingsDep
from vantagepoint.core.api.nodes import list_nodes
from vantagepoint.core.run.states import EXEC_FINAL
from vantagepoint.core.store.models import Execution, ExecutionNode
from vantagepoint.web.positions import Position, position
from vantagepoint.web.render import PageRoute, ViewerDep, render
from vantagepoint.wire import NodeOut

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@dataclass(frozen=True)
class FleetRow:
    node: NodeOut
    status: str  # online | offline | maintenance | disabled
    position: Position | None
    running: int | None  # the execution the node takes part in now

    @property
    def xy(self) -> tuple[float, float] | None:
        """Map coordinates in the world outline's equirectangular frame (360 x 180)."""
        if self.position is None:
            return None
        lat, lon = self.position
        return lon + 180, 90 - lat


def status_of(node: NodeOut) -> str:
    if node.status != "active":
        return node.status
    return "online" if node.online else "offline"


def busy_nodes(db) -> dict[str, int]:
    """Node name -> id of an unfinished execution it takes part in (as the calendar shows)."""
    rows = db.execute(select(ExecutionNode.node_name, Execution.id)
                      .join(Execution, Execution.id == ExecutionNode.execution_id)
                      .where(Execution.state.not_in([str(s) for s in EXEC_FINAL]),
                             Execution.state != "queued"))
    return {node: execution for node, execution in rows}


def fleet_rows(db, settings, user) -> list[FleetRow]:
    busy = busy_nodes(db)
    return [FleetRow(n, status_of(n), position(db, n), busy.get(n.name))
            for n in list_nodes(db, settings, user)]


@router.get("/", response_class=HTMLResponse)
def fleet(request: Request, db: SessionDep, settings: SettingsDep, viewer: ViewerDep):
    """Map and table of every node."""
    rows = fleet_rows(db, settings, viewer.user)
    return render(request, "fleet.html", viewer, rows=rows,
                  unplaced=[r for r in rows if r.xy is None])
