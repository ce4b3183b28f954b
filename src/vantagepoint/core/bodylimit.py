"""Request size limits, enforced before a body is read whole (ASGI middleware).

A declared ``Content-Length`` over the limit is refused at once; a body sent
without one (chunked) is counted as it streams and refused when it crosses the
limit. Either way the client gets 413 with a JSON error naming the limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from vantagepoint.config import CoreSettings
from vantagepoint.errors import TooLarge
from vantagepoint.wire import API_PREFIX

# Routes that take big bodies: file and layer uploads (streamed to disk), and the
# agents' batch uploads of results, stream messages and alarms.
_FILES = re.compile(rf"^{API_PREFIX}/(agent/fetches/\d+|agent/executions/\d+/files|"
                    r"layers/[^/]+)$")
_UPLOADS = re.compile(rf"^{API_PREFIX}/agent/(records|stream|alarms)$")


def limit_for(settings: CoreSettings, path: str) -> tuple[int, str]:
    """The largest body a path takes, and the setting that says so."""
    if _FILES.match(path):
        return settings.max_file_bytes, "max_file_bytes"
    if _UPLOADS.match(path):
        return settings.max_upload_bytes, "max_upload_bytes"
    return settings.max_body_bytes, "max_body_bytes"


class _Overflow(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over their route's limit with 413."""

    def __init__(self, app, settings: CoreSettings):
        self.app, self.settings = app, settings

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, name = limit_for(self.settings, scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit, name)
            return
        await self._counted(scope, receive, send, limit, name)

    async def _counted(self, scope, receive, send, limit: int, name: str) -> None:
        state = {"seen": 0, "over": False, "started": False}

        async def counting_receive():
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > limit:
                    state["over"] = True
                    raise _Overflow
            return message

        async def guarded_send(message):
            if state["over"]:
                return  # whatever the app answers, the client gets the 413
            state["started"] = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            await _refuse(send, limit, name)


def _content_length(scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Callable, limit: int, name: str) -> None:
    error = TooLarge(f"the request body is larger than the limit of {limit} bytes "
                     f"(setting {name})")
    body = json.dumps({**error.to_dict(), "limit_bytes": limit}).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
