"""The agents' side: registration, heartbeats, assignments, reports and record upload."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import event, select, update

from vantagepoint.core.api.deps import CurrentNode, SessionDep, SettingsDep, transaction
from vantagepoint.core.api.nodes import node_out
from vantagepoint.core.archive import enqueue
from vantagepoint.core.heartbeats import Beat
from vantagepoint.core.ingest import ingest_counted
from vantagepoint.core.plugins import model_of
from vantagepoint.core.run.coordinator import lock_execution, step
from vantagepoint.core.run.logbook import core_log
from vantagepoint.core.run.states import NODE_ACTIVE, NODE_FINAL, check_node
from vantagepoint.core.scheduler import quotas
from vantagepoint.core.store.models import Execution, ExecutionNode, Node
from vantagepoint.core.store.types import utcnow
from vantagepoint.errors import Forbidden, NotFound
from vantagepoint.wire import (
    Assignment,
    BatchAck,
    ExecState,
    Heartbeat,
    NodeOut,
    NodeRegistration,
    NodeReport,
    NodeState,
    RecordBatch,
)

router = APIRouter(prefix="/agent", tags=["agent"])
OFFERED = [ExecState.DEPLOYING, ExecState.READY, ExecState.RUNNING]


@router.post("/register", summary="Register or update this node")
def register(body: NodeRegistration, request: Request, db: SessionDep, settings: SettingsDep,
             node_name: CurrentNode) -> NodeOut:
    """Record the node's interfaces, attributes and tools; the name must be the token's."""
    if body.name != node_name:
        raise Forbidden(f"this token enrols node {node_name!r}, not {body.name!r}")
    node = db.scalar(select(Node).where(Node.name == node_name))
    if node is None:
        node = Node(name=node_name)
        db.add(node)
    now = utcnow()
    node.interfaces = [i.model_dump() for i in body.interfaces]
    node.attributes = body.attributes
    node.tools = [t.model_dump(mode="json") for t in body.tools]
    node.tool_errors = body.tool_errors
    node.agent_version = body.agent_version
    node.registered_at, node.last_seen = now, now
    db.flush()
    event.listen(db, "after_commit", lambda _: _learn(request.app.state, node_name,
                                                      body.attributes), once=True)
    return node_out(node, settings.node_offline_seconds)


def _learn(state, node_name: str, attributes: dict) -> None:
    """What this process keeps about a node, known once its registration committed."""
    state.heartbeats.learn(node_name)
    state.metrics.ingest.learn(node_name, attributes)


def _touch(db, name: str, **values) -> None:
    """Mark the node seen now (and set ``values``) in one UPDATE; NotFound if unknown."""
    values.setdefault("last_seen", utcnow())
    done = db.execute(update(Node).where(Node.name == name).values(**values)
                      .execution_options(synchronize_session=False))
    if done.rowcount == 0:
        raise NotFound(f"node {name!r} is not registered; POST /agent/register first")


@router.post("/heartbeat", summary="Heartbeat")
async def heartbeat(body: Heartbeat, request: Request, node_name: CurrentNode) -> dict[str, float]:
    """Mark the node alive; the answer carries the core's clock.

    Async and without the database once the node is known: the beat is kept in memory
    and written with the others within heartbeat_flush_seconds (core/heartbeats.py)."""
    now = utcnow()
    skew = None if body.ts is None else (now.timestamp() - body.ts) * 1000.0
    beats = request.app.state.heartbeats
    if beats.knows(node_name):
        beats.note(node_name, Beat(now, skew))
    else:
        await run_in_threadpool(_first_beat, request, node_name, now, skew)
    return {"server_time": now.timestamp()}


def _first_beat(request: Request, node_name: str, now, skew: float | None) -> None:
    """Written at once: NotFound for a node not registered."""
    with transaction(request) as db:
        _touch(db, node_name, last_seen=now,
               **({} if skew is None else {"clock_skew_ms": skew}))
    request.app.state.heartbeats.learn(node_name)


def assignment(ex: Execution, part: ExecutionNode) -> Assignment:
    actions = [a for t in ex.snapshot["tasks"] for a in t["actions"]
               if a["node"] == part.node_name]
    return Assignment(execution_id=ex.id, state=ex.state, node_state=part.state,
                      reason=ex.reason, start_at=ex.start_at, run_at=ex.run_at,
                      duration=ex.duration, actions=actions,
                      tolerant=model_of(ex.snapshot)[0].tolerates_failures)


@router.get("/assignments", summary="This node's current work")
def assignments(request: Request, node_name: CurrentNode) -> list[Assignment]:
    """Executions being deployed or run in which this node's part is not final."""
    with transaction(request) as db:
        _touch(db, node_name)
        rows = db.execute(
            select(Execution, ExecutionNode)
            .join(ExecutionNode, ExecutionNode.execution_id == Execution.id)
            .where(ExecutionNode.node_name == node_name,
                   ExecutionNode.state.in_([s.value for s in NODE_ACTIVE]),
                   Execution.state.in_([s.value for s in OFFERED]))
            .order_by(Execution.start_at))
        return [assignment(ex, part) for ex, part in rows]


@router.post("/executions/{execution_id}/report", summary="Report this node's part")
def report(execution_id: int, body: NodeReport, request: Request, db: SessionDep,
           node_name: CurrentNode) -> Assignment:
    """ready (every init succeeded), failed (with the reason) or done (all uploaded)."""
    ex = lock_execution(db, execution_id)
    part = next((p for p in ex.nodes if p.node_name == node_name), None) if ex else None
    if part is None:
        raise NotFound(f"node {node_name!r} takes no part in execution {execution_id}")
    target = NodeState(body.state)
    if part.state not in NODE_FINAL and part.state != target:
        part.state = check_node(part.state, target)
        part.reason = body.reason
        part.updated_at = utcnow()
        core_log(db, ex.id, f"node {node_name} reports {target}"
                            + (f": {body.reason}" if body.reason else ""),
                 level="error" if target == NodeState.FAILED else "info", node=node_name)
        _note_failed_actions(db, ex, part, body.failed_actions)
        if body.traffic_bytes is not None:
            quotas.correct_data(db, ex, node_name, body.traffic_bytes)
        step(db, ex, request.app.state.settings, utcnow())
    return assignment(ex, part)


def _note_failed_actions(db, ex: Execution, part: ExecutionNode,
                         failed: dict[str, str]) -> None:
    """Keep (and log) each action a tolerant node reports failed; known ones once."""
    new = {a: r for a, r in failed.items() if a not in (part.failed_actions or {})}
    for action, reason in sorted(new.items()):
        core_log(db, ex.id, f"action {action!r} on node {part.node_name} failed: {reason}",
                 level="error", node=part.node_name)
    if new:
        part.failed_actions = {**(part.failed_actions or {}), **new}


@router.post("/records", summary="Upload spooled results and log lines")
def records(body: RecordBatch, request: Request, node_name: CurrentNode) -> BatchAck:
    """Idempotent: a record already stored (same node, spool and seq) is skipped."""
    with transaction(request) as db:
        ack, counts = ingest_counted(db, node_name, body)
        enqueue(db, request.app.state.archivers, node_name, body)  # same transaction
        request.app.state.metrics.ingest.count(db, node_name, "records", counts)
    return ack
