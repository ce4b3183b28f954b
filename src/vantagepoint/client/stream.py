"""The live stream as an iterator: ``for event in client.stream(kind=["alarm"]): ...``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from vantagepoint.errors import Invalid, Unauthorized, VantageError
from vantagepoint.wire import API_PREFIX

_REFUSED = 1008


class Stream:
    """A subscription; live once constructed (the core's "ready" was received).

    Iterate for events (dicts shaped as ``StreamEvent``); ``close()`` or leave
    the ``with`` block to end it. ``timeout`` bounds each wait for an event:
    ``next()`` raises TimeoutError after it (None waits for ever).
    """

    def __init__(self, url: str, token: str, *, kinds: list[str] | None = None,
                 execution: int | None = None, node: str | None = None,
                 timeout: float | None = None, open_timeout: float = 10.0):
        params = [("kind", k) for k in kinds or []]
        params += [(k, v) for k, v in (("execution", execution), ("node", node))
                   if v is not None]
        target = _ws_url(url) + API_PREFIX + "/stream" + (f"?{urlencode(params)}" if params
                                                          else "")
        self.timeout = timeout
        self._exit = contextlib.ExitStack()
        try:
            self._ws: ClientConnection = self._exit.enter_context(connect(
                target, additional_headers={"Authorization": f"Bearer {token}"},
                open_timeout=open_timeout))
        except InvalidStatus as exc:
            raise VantageError(f"the core refused the stream: HTTP "
                               f"{exc.response.status_code}") from exc
        try:
            first = self._receive(open_timeout)
        except BaseException:
            self.close()
            raise
        if first.get("kind") != "ready":
            self.close()
            raise VantageError(f"unexpected first message on the stream: {first}")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        try:
            return self._receive(self.timeout)
        except ConnectionClosedOK:
            raise StopIteration from None

    def _receive(self, timeout: float | None) -> dict[str, Any]:
        try:
            return json.loads(self._ws.recv(timeout=timeout))
        except ConnectionClosedOK:
            raise
        except ConnectionClosed as exc:
            raise _closed_error(exc) from exc

    def close(self) -> None:
        self._exit.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ws_url(url: str) -> str:
    return "ws" + url.removeprefix("http") if url.startswith("http") else url


def _closed_error(exc: ConnectionClosed) -> VantageError:
    """The core's refusal (close code 1008 with a reason) as the matching error."""
    reason = exc.rcvd.reason if exc.rcvd is not None else ""
    if exc.rcvd is not None and exc.rcvd.code == _REFUSED:
        cls = Unauthorized if "token" in reason else Invalid
        return cls(f"the core refused the stream: {reason}")
    return VantageError(f"the stream ended: {reason or exc}")
