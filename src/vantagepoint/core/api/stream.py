"""The live stream: a WebSocket of results, alarms, execution states and node status.

    ws://core/api/v1/stream?kind=result&kind=alarm&execution=12&node=n1

Authenticated with a user token in the ``Authorization: Bearer`` header (or
``?token=`` for browsers, whose WebSocket API cannot set headers). The first
message is ``{"kind": "ready"}``; each further one is a ``StreamEvent``.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from vantagepoint.core.auth import check_token, token_scopes
from vantagepoint.core.stream import KINDS, Feed, Filters, feed_for
from vantagepoint.errors import Unauthorized

router = APIRouter(tags=["stream"])
POLICY_VIOLATION = 1008


@router.websocket("/stream")
async def stream(ws: WebSocket, kind: list[str] | None = Query(None),
                 execution: int | None = None, node: str | None = None,
                 token: str | None = None) -> None:
    """Follow results, alarms, state changes and node status as they are stored."""
    await ws.accept()  # before any refusal, so that the client gets the reason
    unknown = sorted(set(kind or ()) - set(KINDS))
    if unknown:
        await ws.close(POLICY_VIOLATION, f"unknown kind(s) {', '.join(unknown)}; "
                                         f"use {', '.join(KINDS)}")
        return
    sessions, settings = ws.app.state.sessions, ws.app.state.settings
    filters = Filters(frozenset(kind or KINDS), execution, node)
    feed = await run_in_threadpool(_open, sessions, _secret(ws, token), filters,
                                   settings.node_offline_seconds)
    if isinstance(feed, str):
        await ws.close(POLICY_VIOLATION, feed)
        return
    await ws.send_json({"kind": "ready", "execution": execution, "node": node,
                        "data": {"kinds": sorted(filters.kinds)}})
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await _pump(ws, feed, sessions, settings.stream_poll_seconds)


def _secret(ws: WebSocket, token: str | None) -> str | None:
    header = ws.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else token


def _open(sessions, secret: str | None, filters: Filters, offline_after: float) -> Feed | str:
    """A primed feed for the token's user, or why the stream is refused."""
    if not secret:
        return "missing token: send 'Authorization: Bearer <token>' or ?token="
    with sessions.begin() as db:
        try:
            found = check_token(db, secret)
        except Unauthorized as exc:
            return exc.message if "expired" in exc.message else "invalid or revoked user token"
        if found.kind != "user" or found.user is None:
            return "invalid or revoked user token"
        if "read" not in token_scopes(found):
            return "the stream needs a token with the 'read' scope"
        feed = feed_for(found.user, filters, offline_after)
        feed.start(db)
        return feed


def _poll(sessions, feed: Feed) -> list[dict]:
    with sessions.begin() as db:
        return feed.poll(db)


async def _pump(ws: WebSocket, feed: Feed, sessions, period: float) -> None:
    """Send what is new every ``period`` seconds until the client goes away."""
    closed = asyncio.ensure_future(_until_closed(ws))
    try:
        while not closed.done():
            for event in await run_in_threadpool(_poll, sessions, feed):
                await ws.send_json(event)
            await asyncio.wait([closed], timeout=period)
    finally:
        closed.cancel()


async def _until_closed(ws: WebSocket) -> None:
    """Read (and drop) what the client sends until it disconnects."""
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass
