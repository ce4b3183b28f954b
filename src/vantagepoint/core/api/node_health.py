"""The agents' side of the node platform: the metadata/background stream and node health."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from sqlalchemy import select

from vantagepoint.core.api.deps import CurrentNode, SessionDep
from vantagepoint.core.metadata import ingest_stream
from vantagepoint.core.store.models import Node
from vantagepoint.errors import NotFound
from vantagepoint.wire import BatchAck, MaintenanceReport, NodeStatusOut, StreamBatch

log = logging.getLogger(__name__)
router = APIRouter(prefix="/agent", tags=["agent"])


def _node(db, name: str) -> Node:
    node = db.scalar(select(Node).where(Node.name == name))
    if node is None:
        raise NotFound(f"node {name!r} is not registered; POST /agent/register first")
    return node


@router.post("/stream", summary="Upload recorded metadata and background results")
def stream(body: StreamBatch, request: Request, db: SessionDep,
           node_name: CurrentNode) -> BatchAck:
    """Idempotent: a record already stored (same node, stream and seq) is skipped."""
    ack = ingest_stream(db, node_name, body)
    request.app.state.metrics.ingest.count(db, node_name, "stream",
                                           {"stream": (ack.received, ack.stored)})
    return ack


@router.post("/maintenance", summary="This node enters maintenance")
def maintenance(body: MaintenanceReport, db: SessionDep, node_name: CurrentNode) -> NodeStatusOut:
    """The node's watchdog gave up: no new work is scheduled on it until an admin resumes it."""
    node = _node(db, node_name)
    node.status, node.status_reason = "maintenance", body.reason
    log.warning("node %s entered maintenance: %s", node_name, body.reason)
    return NodeStatusOut(status=node.status, reason=node.status_reason)


@router.get("/status", summary="This node's status")
def status(db: SessionDep, node_name: CurrentNode) -> NodeStatusOut:
    """active, maintenance or disabled, with the reason."""
    node = _node(db, node_name)
    return NodeStatusOut(status=node.status, reason=node.status_reason)
