"""A lean HTTP/1.1 client for the load generators: keep-alive connections, one call each.

httpx's connection pool scans every queued request on each event; with 1,000 simulated
agents queued on 16 connections it took most of the generator's CPU, so the generator,
not the core, set the pace and the latencies. This pool hands calls to its connections
through one queue: each call is a real HTTP/1.1 request on a real socket, and a
connection the server closed is opened again and the call sent once more (the agents'
calls are idempotent: heartbeats, and uploads keyed by spool and seq).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: bytes


class Http11Pool:
    """``size`` keep-alive connections to one server, fed from one queue of calls."""

    def __init__(self, base: str, size: int, timeout: float = 60.0):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.size, self.timeout = size, timeout
        self._calls: asyncio.Queue = asyncio.Queue()
        self._workers: list[asyncio.Task] = []

    async def post(self, path: str, content: bytes, headers: dict[str, str]) -> Answer:
        """POST ``content`` to ``path``; the answer once a connection has carried it."""
        if not self._workers:
            self._workers = [asyncio.create_task(self._worker()) for _ in range(self.size)]
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{head}"
                   f"Content-Length: {len(content)}\r\n\r\n").encode() + content
        answer = asyncio.get_running_loop().create_future()
        self._calls.put_nowait((request, answer))
        return await answer

    async def aclose(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    async def _worker(self) -> None:
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                request, answer = await self._calls.get()
                for attempt in (1, 2):
                    try:
                        conn = conn or await asyncio.open_connection(self.host, self.port)
                        conn[1].write(request)
                        got, keep = await asyncio.wait_for(_read_answer(conn[0]), self.timeout)
                    except (OSError, EOFError, ValueError, TimeoutError) as exc:
                        conn = _close(conn)
                        if attempt == 2 and not answer.done():
                            answer.set_exception(exc)
                        continue
                    if not keep:
                        conn = _close(conn)
                    if not answer.done():
                        answer.set_result(got)
                    break
        finally:
            _close(conn)


async def _read_answer(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
    """One response with a Content-Length body; and whether the connection stays open."""
    status_line = await reader.readline()
    if not status_line:
        raise EOFError("the server closed the connection")
    version, status, *_ = status_line.decode("latin-1").split(" ", 2)
    length, keep = 0, version == "HTTP/1.1"
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            keep = value == "keep-alive" or (keep and value != "close")
        elif name == "transfer-encoding":
            raise ValueError(f"transfer-encoding {value} is not read by this client")
    body = await reader.readexactly(length) if length else b""
    return Answer(int(status), body), keep


def _close(conn) -> None:
    if conn is not None:
        conn[1].close()
    return None
