"""The agent's side of the REST contract (docs/api.md, "Agent"): one method per route.

Network failures raise ``httpx.HTTPError``; answers other than 2xx raise the
matching ``VantageError`` (with ``status``). ``is_permanent`` tells a refusal
the core will repeat (4xx) from one worth retrying (network, 5xx, 401, 408, 429).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import TypeAdapter

from vantagepoint.config import AgentSettings
from vantagepoint.errors import VantageError, error_from_dict
from vantagepoint.tls import tls_context
from vantagepoint.wire import (
    API_PREFIX,
    AlarmBatch,
    Assignment,
    BatchAck,
    FetchFailure,
    FileFetchOut,
    Heartbeat,
    MaintenanceReport,
    NodeRegistration,
    NodeReport,
    NodeStatusOut,
    RecordBatch,
    StreamBatch,
)

# Everything a call to the core may raise: network, HTTP answer, unreadable body.
FAILURES = (httpx.HTTPError, VantageError, ValueError)
_RETRY_STATUSES = frozenset({401, 408, 425, 429})
_ASSIGNMENTS = TypeAdapter(list[Assignment])


def is_permanent(exc: BaseException) -> bool:
    """True when the core refused for good (a 4xx other than 401/408/425/429)."""
    status = getattr(exc, "status", None) if isinstance(exc, VantageError) else None
    return status is not None and 400 <= status < 500 and status not in _RETRY_STATUSES


def describe(exc: BaseException) -> str:
    """One line for a failed call, for the agent's own log."""
    if isinstance(exc, VantageError):
        return f"HTTP {getattr(exc, 'status', '?')}: {exc.message}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class CoreClient:
    """An httpx client bound to the core, authenticated with the node token."""

    def __init__(self, settings: AgentSettings, transport: httpx.BaseTransport | None = None,
                 timeout: float = 10.0):
        self._http = httpx.Client(
            base_url=settings.core_url.rstrip("/") + API_PREFIX,
            headers={"Authorization": f"Bearer {settings.token}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
            verify=tls_context(settings.ca_bundle, settings.client_cert, settings.client_key))

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def register(self, registration: NodeRegistration) -> dict[str, Any]:
        """POST /agent/register; the answer is the core's NodeOut."""
        return self._call("POST", "/agent/register", registration)

    def heartbeat(self, ts: float, timeout: float | None = None) -> float | None:
        """POST /agent/heartbeat; return the core's clock (epoch seconds) if given."""
        answer = self._call("POST", "/agent/heartbeat", Heartbeat(ts=ts), timeout)
        server_time = (answer or {}).get("server_time")
        return float(server_time) if server_time is not None else None

    def assignments(self) -> list[Assignment]:
        """GET /agent/assignments: every execution in which this node's part is not final."""
        return _ASSIGNMENTS.validate_python(self._call("GET", "/agent/assignments"))

    def report(self, execution_id: int, report: NodeReport,
               timeout: float | None = None) -> Assignment:
        """POST /agent/executions/{id}/report."""
        answer = self._call("POST", f"/agent/executions/{int(execution_id)}/report",
                            report, timeout)
        return Assignment.model_validate(answer)

    def upload(self, batch: RecordBatch, timeout: float | None = None) -> BatchAck:
        """POST /agent/records (idempotent by node, spool_id and seq)."""
        return BatchAck.model_validate(self._call("POST", "/agent/records", batch, timeout))

    def send_alarms(self, batch: AlarmBatch, timeout: float | None = None) -> None:
        """POST /agent/alarms (idempotent by node, spool_id and seq)."""
        self._call("POST", "/agent/alarms", batch, timeout)


    def upload_stream(self, batch: StreamBatch, timeout: float | None = None) -> BatchAck:
        """POST /agent/stream: bus messages and background results (idempotent)."""
        return BatchAck.model_validate(self._call("POST", "/agent/stream", batch, timeout))

    def enter_maintenance(self, reason: str) -> NodeStatusOut:
        """POST /agent/maintenance: the watchdog gives up on this node."""
        return NodeStatusOut.model_validate(
            self._call("POST", "/agent/maintenance", MaintenanceReport(reason=reason)))

    def status(self) -> NodeStatusOut:
        """GET /agent/status: this node's status at the core (an admin may clear maintenance)."""
        return NodeStatusOut.model_validate(self._call("GET", "/agent/status"))

    def fetches(self) -> list[FileFetchOut]:
        """GET /agent/fetches: files the core asked this node for."""
        return [FileFetchOut.model_validate(f) for f in self._call("GET", "/agent/fetches")]

    def send_file(self, fetch_id: int, path: Path) -> None:
        """PUT /agent/fetches/{id} with the file's bytes, streamed."""
        def chunks():
            with open(path, "rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    yield chunk
        response = self._http.put(f"/agent/fetches/{int(fetch_id)}", content=chunks(),
                                  timeout=httpx.Timeout(300.0, connect=5.0))
        if not response.is_success:
            raise _error(response)

    def refuse_file(self, fetch_id: int, reason: str) -> None:
        """POST /agent/fetches/{id}/fail."""
        self._call("POST", f"/agent/fetches/{int(fetch_id)}/fail", FetchFailure(reason=reason))

    def download_layer(self, digest: str, target: Path,
                       check_size: Callable[[int], None] | None = None) -> None:
        """GET /agent/layers/{digest} streamed into ``target`` (``check_size`` sees its
        announced size before anything is written)."""
        with self._http.stream("GET", f"/agent/layers/{digest}",
                               timeout=httpx.Timeout(600.0, connect=5.0)) as response:
            if not response.is_success:
                response.read()
                raise _error(response)
            if check_size is not None:
                check_size(int(response.headers.get("content-length") or 0))
            with open(target, "wb") as handle:
                for chunk in response.iter_bytes(1024 * 1024):
                    handle.write(chunk)

    def push_file(self, execution_id: int, action: str, path: str, source: Path) -> None:
        """PUT /agent/executions/{id}/files: one result file, streamed."""
        def chunks():
            with open(source, "rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    yield chunk
        response = self._http.put(f"/agent/executions/{int(execution_id)}/files",
                                  params={"action": action, "path": path}, content=chunks(),
                                  timeout=httpx.Timeout(300.0, connect=5.0))
        if not response.is_success:
            raise _error(response)

    def _call(self, method: str, path: str, body: Any = None,
              timeout: float | None = None) -> Any:
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["json"] = body.model_dump(mode="json", exclude_none=False)
        if timeout is not None:
            kwargs["timeout"] = timeout
        response = self._http.request(method, path, **kwargs)
        if response.is_success:
            return response.json() if response.content else None
        raise _error(response)


def _error(response: httpx.Response) -> VantageError:
    """The core's error body as a VantageError carrying the HTTP status (and, for 429
    and 503, ``retry_after`` from the Retry-After header)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        err = error_from_dict(response.status_code, body)
    else:
        err = VantageError(f"HTTP {response.status_code}: {response.text[:200]}")
        err.status = response.status_code
    wait = retry_after(response) if response.status_code in (429, 503) else None
    if wait is not None:
        err.retry_after = wait  # type: ignore[attr-defined]
    return err


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the core asks us to wait (Retry-After in seconds), capped at a minute."""
    try:
        return min(60.0, max(0.0, float(response.headers["retry-after"])))
    except (KeyError, ValueError):
        return None


def wait_asked(exc: BaseException) -> float:
    """The Retry-After a failed call carried, else 0."""
    return float(getattr(exc, "retry_after", 0.0) or 0.0)
