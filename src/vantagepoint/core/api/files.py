"""Result files kept on nodes: users ask for them, agents upload them, users download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from vantagepoint.core import files
from vantagepoint.core.api.deps import (
    CurrentNode,
    CurrentUser,
    SchedulerUser,
    SessionDep,
    SettingsDep,
)
from vantagepoint.core.api.executions import visible
from vantagepoint.core.store.models import FileFetch
from vantagepoint.errors import Conflict, Invalid, NotFound, Problem
from vantagepoint.spec.tools import NAME_PATTERN
from vantagepoint.wire import NODE_NAME_PATTERN, FetchFailure, FileFetchCreate, FileFetchOut

router = APIRouter(tags=["files"])


@router.post("/executions/{execution_id}/files", status_code=202,
             summary="Fetch a file from a node")
def request_file(execution_id: int, body: FileFetchCreate, db: SessionDep,
                 user: SchedulerUser) -> FileFetchOut:
    """Ask the node for a file of one of its actions; poll the answer until ready."""
    ex = visible(db, user, execution_id)
    actions = {(a["node"], a["name"]) for t in ex.snapshot.get("tasks", [])
               for a in t["actions"]}
    if (body.node, body.action) not in actions:
        raise Invalid("no such action on that node in this execution",
                      [Problem("/action", f"{body.action!r} on {body.node!r}")])
    fetch = FileFetch(execution_id=ex.id, node_name=body.node, action=body.action,
                      path=body.path)
    db.add(fetch)
    db.flush()
    return files.fetch_out(fetch)


@router.get("/executions/{execution_id}/files", summary="Files fetched for an execution")
def list_files(execution_id: int, db: SessionDep, user: CurrentUser,
               node: Annotated[str | None, Query(pattern=NODE_NAME_PATTERN)] = None,
               action: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None
               ) -> list[FileFetchOut]:
    """Every file fetched or pushed for this execution (optionally one node's, one
    action's), with its state."""
    visible(db, user, execution_id)
    query = select(FileFetch).where(FileFetch.execution_id == execution_id)
    if node is not None:
        query = query.where(FileFetch.node_name == node)
    if action is not None:
        query = query.where(FileFetch.action == action)
    rows = db.scalars(query.order_by(FileFetch.id))
    return [files.fetch_out(f) for f in rows]


def _own(db, user, fetch_id: int) -> FileFetch:
    fetch = db.get(FileFetch, fetch_id)
    if fetch is None:
        raise NotFound(f"no file {fetch_id}")
    visible(db, user, fetch.execution_id)
    return fetch


@router.get("/files/{fetch_id}", summary="A fetched file's state")
def get_file(fetch_id: int, db: SessionDep, user: CurrentUser) -> FileFetchOut:
    """pending until the node uploaded it; ready with size and SHA-256; or failed."""
    return files.fetch_out(_own(db, user, fetch_id))


@router.get("/files/{fetch_id}/content", summary="Download a fetched file")
def download(fetch_id: int, db: SessionDep, settings: SettingsDep,
             user: CurrentUser) -> FileResponse:
    """The file's bytes, once it is ready."""
    fetch = _own(db, user, fetch_id)
    if fetch.state != "ready":
        raise Conflict(f"file {fetch_id} is {fetch.state}" +
                       (f": {fetch.reason}" if fetch.reason else ""))
    name = fetch.path.rsplit("/", 1)[-1] or f"file-{fetch.id}"
    return FileResponse(files.stored_path(settings, fetch), filename=name,
                        media_type="application/octet-stream")


@router.get("/agent/fetches", tags=["agent"], summary="Files the core wants from this node")
def pending_fetches(db: SessionDep, node: CurrentNode) -> list[FileFetchOut]:
    """Pending fetch requests addressed to this node."""
    rows = db.scalars(select(FileFetch).where(FileFetch.node_name == node,
                                              FileFetch.state == "pending")
                      .order_by(FileFetch.id).limit(100))
    return [files.fetch_out(f) for f in rows]


def _pending(db, node: str, fetch_id: int) -> FileFetch:
    fetch = db.get(FileFetch, fetch_id)
    if fetch is None or fetch.node_name != node:
        raise NotFound(f"no fetch {fetch_id} for node {node!r}")
    if fetch.state != "pending":
        raise Conflict(f"fetch {fetch_id} is {fetch.state} already")
    return fetch


@router.put("/agent/fetches/{fetch_id}", tags=["agent"], summary="Upload a requested file")
async def upload(fetch_id: int, request: Request, db: SessionDep, settings: SettingsDep,
                 node: CurrentNode) -> FileFetchOut:
    """The file's bytes as the request body; stored, then marked ready."""
    fetch = await run_in_threadpool(_pending, db, node, fetch_id)  # see _pushed
    try:
        size, digest = await files.receive(request.stream(), files.stored_path(settings, fetch),
                                           settings.max_file_bytes)
    except ValueError as exc:
        fetch.state, fetch.reason = "failed", str(exc)
        return files.fetch_out(fetch)
    fetch.state, fetch.size, fetch.sha256 = "ready", size, digest
    return files.fetch_out(fetch)


@router.post("/agent/fetches/{fetch_id}/fail", tags=["agent"],
             summary="Say a requested file cannot be sent")
def fail(fetch_id: int, body: FetchFailure, db: SessionDep, node: CurrentNode) -> FileFetchOut:
    """E.g. the file does not exist or lies outside the action's store."""
    fetch = _pending(db, node, fetch_id)
    fetch.state, fetch.reason = "failed", body.reason
    return files.fetch_out(fetch)


# ---- files nodes push unasked (an experiment's /monroe/results) ----------------

@router.put("/agent/executions/{execution_id}/files", tags=["agent"],
            summary="Push a result file")
async def push(execution_id: int, request: Request, db: SessionDep, settings: SettingsDep,
               node: CurrentNode, action: str = Query(pattern=NAME_PATTERN),
               path: str = Query(min_length=1, max_length=1024)) -> FileFetchOut:
    """A file of an action's results, sent during and after the run; a newer copy of the
    same path replaces the older one, so users always download the latest."""
    clean = files.relative_path(path)
    fetch = await run_in_threadpool(_pushed, db, execution_id, node, action, clean)
    try:
        size, digest = await files.receive(request.stream(), files.stored_path(settings, fetch),
                                           settings.max_file_bytes)
    except ValueError as exc:
        raise Invalid("the file is too large", [Problem("body", str(exc))]) from None
    fetch.state, fetch.reason, fetch.size, fetch.sha256 = "ready", None, size, digest
    return files.fetch_out(fetch)


def _pushed(db, execution_id: int, node: str, action: str, path: str) -> FileFetch:
    """The row of a pushed file, checked and added; run in a worker thread by the async
    route: its first statement may wait for SQLite's write lock, which must never stall
    the event loop (and with it the request that holds the lock)."""
    files.check_part(db, execution_id, node, action)
    return files.pushed(db, execution_id, node, action, path)
