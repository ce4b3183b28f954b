"""The Python client of the core's REST API (see docs/api.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from vantagepoint.client import layers
from vantagepoint.client._analysis import AnalysisMixin
from vantagepoint.client._http import DEFAULT_DATA_DIR, Http, resolve_token, resolve_url
from vantagepoint.client.builder import Scenario, Task
from vantagepoint.client.execution import Execution
from vantagepoint.client.stream import Stream
from vantagepoint.errors import NotFound
from vantagepoint.wire import NodeOut, ToolOut, UserOut

SpecLike = Scenario | Task | BaseModel | dict[str, Any]
Moment = datetime | float | str | None  # a datetime (naive: local), epoch seconds or RFC 3339


def _document(spec: SpecLike) -> dict[str, Any]:
    """The plain document of a builder, a spec model or a dict."""
    if isinstance(spec, (Scenario, Task)):
        return spec.to_dict()
    if isinstance(spec, BaseModel):
        return spec.model_dump(mode="json", exclude_unset=True)
    return dict(spec)


def _epoch(value: datetime | float | None) -> float | None:
    """Epoch seconds from a datetime (naive means local time) or a number."""
    return value.timestamp() if isinstance(value, datetime) else value


def _rfc3339(value: datetime | float | str | None) -> str | None:
    """An RFC 3339 UTC string from a datetime (naive means local time) or epoch seconds."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(value, UTC)
    return value.astimezone(UTC).isoformat()


def _seg(name: str) -> str:
    return quote(str(name), safe="")


class Client(AnalysisMixin):
    """Talk to a vantagepoint core; every non-2xx answer raises the matching VantageError.

    The URL and token come from the arguments, else VANTAGE_URL / VANTAGE_TOKEN, else
    the files a local ``vantage up`` writes in ``data_dir`` (url, admin-token).
    """

    def __init__(self, url: str | None = None, token: str | None = None, *,
                 data_dir: str | Path | None = None,
                 transport: httpx.BaseTransport | None = None, timeout: float = 30):
        data = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
        self._http = Http(resolve_url(url, data), resolve_token(token, data), data,
                          transport=transport, timeout=timeout)

    @property
    def url(self) -> str:
        """The core's base URL (without the API prefix)."""
        return self._http.url

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call any API route (path below /api/v1); return its decoded JSON."""
        return self._http.request(method, path, **kwargs)

    # ---- service ----------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """GET /health (needs no token)."""
        return self.request("GET", "/health", auth=False)

    def me(self) -> UserOut:
        return UserOut.model_validate(self.request("GET", "/users/me"))

    # ---- users and tokens -------------------------------------------------

    def users(self) -> list[UserOut]:
        return [UserOut.model_validate(u) for u in self.request("GET", "/users")]

    def create_user(self, name: str, admin: bool = False,
                    password: str | None = None) -> UserOut:
        """Create a user (admin only)."""
        body = {"name": name, "admin": admin, "password": password}
        return UserOut.model_validate(self.request("POST", "/users", json=_drop_none(body)))

    def create_token(self, label: str = "", user: str | None = None,
                     scopes: list[str] | None = None, expires: Moment = None) -> str:
        """Issue an API token (for another user: admin only); returns the secret.

        ``scopes`` (read, schedule, admin) default to all the owner's role allows;
        ``expires`` is when it stops working (never when unset)."""
        body = _drop_none({"label": label, "user": user, "scopes": scopes,
                           "expires_at": _rfc3339(expires)})
        return str(self.request("POST", "/tokens", json=body)["token"])

    def create_node_token(self, node: str, label: str = "", expires: Moment = None) -> str:
        """Issue a token an agent uses to act as ``node`` (admin only); returns the secret."""
        body = _drop_none({"node": node, "label": label, "expires_at": _rfc3339(expires)})
        return str(self.request("POST", "/node-tokens", json=body)["token"])

    def audit(self, **filters: Any) -> list[dict[str, Any]]:
        """GET /audit (admin): actor, action, target, since, until, before_id, limit."""
        for key in ("since", "until"):
            filters[key] = _rfc3339(filters.get(key))
        return self.request("GET", "/audit", params=filters)

    def tokens(self) -> list[dict[str, Any]]:
        return self.request("GET", "/tokens")

    def revoke_token(self, token_id: int) -> None:
        self.request("DELETE", f"/tokens/{int(token_id)}")

    # ---- fleet ------------------------------------------------------------

    def nodes(self) -> list[NodeOut]:
        return [NodeOut.model_validate(n) for n in self.request("GET", "/nodes")]

    def node(self, name: str) -> NodeOut:
        return NodeOut.model_validate(self.request("GET", f"/nodes/{_seg(name)}"))

    def tools(self) -> list[ToolOut]:
        """Every tool version some node offers, with those nodes."""
        return [ToolOut.model_validate(t) for t in self.request("GET", "/tools")]

    # ---- specs ------------------------------------------------------------

    def submit(self, scenario: SpecLike) -> dict[str, Any]:
        """Store a scenario (created, or a new version when it differs); returns StoredSpec."""
        return self._put("scenarios", _document(scenario))

    def put_task(self, task: SpecLike) -> dict[str, Any]:
        return self._put("tasks", _document(task))

    def put_action(self, action: SpecLike) -> dict[str, Any]:
        return self._put("actions", _document(action))

    def validate(self, spec: SpecLike, kind: str = "scenarios") -> dict[str, Any]:
        """Validate against the fleet without storing; raises Invalid listing every problem."""
        return self.request("POST", f"/{kind}/validate", json=_document(spec))

    def scenarios(self) -> list[dict[str, Any]]:
        return self.request("GET", "/scenarios")

    def scenario(self, name: str) -> dict[str, Any]:
        return self.request("GET", f"/scenarios/{_seg(name)}")

    def delete_scenario(self, name: str) -> None:
        self.request("DELETE", f"/scenarios/{_seg(name)}")

    def specs(self, kind: str) -> list[dict[str, Any]]:
        """Stored specs of one kind: "scenarios", "tasks" or "actions"."""
        return self.request("GET", f"/{kind}")

    def _put(self, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
        return self.request("PUT", f"/{kind}/{_seg(doc.get('name', ''))}", json=doc)

    # ---- executions -------------------------------------------------------

    def start(self, scenario: str | SpecLike, duration: float,
              start: datetime | float | str | None = None) -> Execution:
        """Execute a stored scenario (a spec or builder is submitted first); now by default."""
        if not isinstance(scenario, str):
            scenario = self.submit(scenario)["name"]
        body = _drop_none({"scenario": scenario, "duration": duration, "start": _rfc3339(start)})
        return Execution(self, self.request("POST", "/executions", json=body))

    def execution(self, execution_id: int) -> Execution:
        return Execution(self, self.request("GET", f"/executions/{int(execution_id)}"))

    def executions(self, state: str | None = None,
                   scenario: str | None = None) -> list[Execution]:
        """Executions, newest first."""
        found = self.request("GET", "/executions", params={"state": state, "scenario": scenario})
        return [Execution(self, data) for data in found]

    def cancel(self, execution_id: int) -> Execution:
        """Cancel an execution that has not ended yet."""
        return Execution(self, self.request("POST", f"/executions/{int(execution_id)}/cancel"))

    # ---- schedules, calendar, quotas --------------------------------------

    def schedule(self, scenario: str | SpecLike, duration: float, *, mode: str = "earliest",
                 start: Moment = None, every: float | None = None, until: Moment = None,
                 nodes: list[str] | None = None, filter: str | None = None,
                 count: int | None = None, min_interfaces: int | None = None,
                 roles: dict[str, list[str]] | None = None,
                 dry_run: bool = False) -> dict[str, Any]:
        """Book a scenario's occurrences (a spec or builder is submitted first); ScheduleOut.

        Raises Unschedulable, each refusal a problem, when any occurrence does not fit.
        """
        if not isinstance(scenario, str):
            scenario = self.submit(scenario)["name"]
        body = _drop_none({
            "scenario": scenario, "mode": mode, "duration": duration, "start": _rfc3339(start),
            "every": every, "until": _rfc3339(until), "nodes": nodes, "filter": filter,
            "count": count, "min_interfaces": min_interfaces, "roles": roles,
        })
        return self.request("POST", "/schedules", json=body | {"dry_run": dry_run})

    def schedules(self, state: str | None = None) -> list[dict[str, Any]]:
        """Schedules (own; an admin sees all)."""
        return self.request("GET", "/schedules", params={"state": state})

    def get_schedule(self, schedule_id: int) -> dict[str, Any]:
        return self.request("GET", f"/schedules/{int(schedule_id)}")

    def cancel_schedule(self, schedule_id: int) -> dict[str, Any]:
        """Cancel future occurrences (quota refunded) and stop running ones; ScheduleOut."""
        return self.request("DELETE", f"/schedules/{int(schedule_id)}")

    def calendar(self, node: str | None = None, start: Moment = None,
                 end: Moment = None) -> list[dict[str, Any]]:
        """Bookings overlapping ``[start, end)`` on one node or the whole fleet."""
        params = {"node": node, "start": _rfc3339(start), "end": _rfc3339(end)}
        return self.request("GET", "/calendar", params=params)

    def quota(self) -> dict[str, Any]:
        """The calling user's quota and what is used of it."""
        return self.request("GET", "/quotas/me")

    def quotas(self) -> list[dict[str, Any]]:
        """Every user's quota (admin)."""
        return self.request("GET", "/quotas")

    def set_quota(self, user: str, node_seconds_limit: float | None = None,
                  data_bytes_limit: int | None = None) -> dict[str, Any]:
        """Change a user's limits (admin); a limit left None is unchanged."""
        body = _drop_none({"node_seconds_limit": node_seconds_limit,
                           "data_bytes_limit": data_bytes_limit})
        return self.request("PUT", f"/quotas/{_seg(user)}", json=body)

    def set_node_status(self, node: str, status: str, reason: str | None = None) -> NodeOut:
        """Put a node in maintenance, disable it or make it active again (admin)."""
        body = _drop_none({"status": status, "reason": reason})
        return NodeOut.model_validate(self.request("PATCH", f"/nodes/{_seg(node)}", json=body))

    # ---- results and logs -------------------------------------------------

    def iter_results(self, execution: int | None = None, node: str | None = None,
                     action: str | None = None, name: str | None = None,
                     since: datetime | float | None = None,
                     until: datetime | float | None = None,
                     page_size: int | None = None,
                     background: bool = False, *, study: str | None = None,
                     run: int | None = None) -> Iterator[dict[str, Any]]:
        """Yield every matching result, following the cursor through all pages."""
        params = {"execution": execution, "node": node, "action": action, "name": name,
                  "since": _epoch(since), "until": _epoch(until), "limit": page_size,
                  "background": background or None, "study": study, "run": run}
        yield from self._pages("/results", params)

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        while True:
            page = self.request("GET", path, params=params)
            yield from page["items"]
            if page.get("next_cursor") is None:
                return
            params["cursor"] = page["next_cursor"]

    def results(self, execution: int | None = None, node: str | None = None,
                action: str | None = None, name: str | None = None,
                since: datetime | float | None = None,
                until: datetime | float | None = None, *, study: str | None = None,
                run: int | None = None) -> list[dict[str, Any]]:
        """Every matching result (``since``/``until``: half-open, epoch seconds or datetime);
        ``study``/``run`` keep those of one study (and run), each carrying its parameters."""
        return list(self.iter_results(execution, node, action, name, since, until,
                                      study=study, run=run))

    def background_results(self, node: str | None = None, name: str | None = None,
                           since: datetime | float | None = None,
                           until: datetime | float | None = None) -> list[dict[str, Any]]:
        """Every matching background result (the nodes' continuous ping; no execution)."""
        return list(self.iter_results(None, node, None, name, since, until, background=True))

    # ---- node platform: metadata and node health ---------------------------

    def iter_metadata(self, node: str | None = None, topic: str | None = None,
                      since: datetime | float | None = None,
                      until: datetime | float | None = None,
                      page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Yield every matching bus message a node recorded (``topic``: a prefix)."""
        params = {"node": node, "topic": topic, "since": _epoch(since),
                  "until": _epoch(until), "limit": page_size}
        yield from self._pages("/metadata", params)

    def metadata(self, node: str | None = None, topic: str | None = None,
                 since: datetime | float | None = None,
                 until: datetime | float | None = None) -> list[dict[str, Any]]:
        """Every matching message: ``{id, node, topic, ts, message}``, in arrival order."""
        return list(self.iter_metadata(node, topic, since, until))

    def resume_node(self, node: str, reason: str | None = None) -> NodeOut:
        """Clear a node's maintenance: it takes work again (admin)."""
        return self.set_node_status(node, "active", reason=reason)

    def fetch_file(self, execution: int, node: str, action: str, path: str,
                   timeout: float = 120.0, poll: float = 0.5) -> bytes:
        """A file from a node's result store: ask the core, wait for the node, download."""
        fetch = self.request("POST", f"/executions/{int(execution)}/files",
                             json={"node": node, "action": action, "path": path})
        deadline = time.monotonic() + timeout
        while fetch["state"] == "pending":
            if time.monotonic() > deadline:
                raise TimeoutError(f"node {node!r} did not send {path!r} within {timeout:g} s")
            time.sleep(poll)
            fetch = self.request("GET", f"/files/{fetch['id']}")
        if fetch["state"] == "failed":
            raise NotFound(fetch.get("reason") or f"node {node!r} could not send {path!r}")
        return self._http.download(f"/files/{fetch['id']}/content")

    def logs(self, execution_id: int, after: int | None = None) -> list[dict[str, Any]]:
        """An execution's log lines after id ``after``, oldest first, through all pages."""
        lines: list[dict[str, Any]] = []
        while True:
            page = self.request("GET", f"/executions/{int(execution_id)}/logs",
                                params={"after": after})
            if not page:
                return lines
            lines += page
            after = page[-1]["id"]

    # ---- alarms and the live stream ---------------------------------------

    def alarms(self, execution: int | None = None, node: str | None = None,
               acked: bool | None = None, after: int | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
        """Alarms of your executions (admin: all), newest first (AlarmOut)."""
        params = {"execution": execution, "node": node, "acked": acked, "after": after,
                  "limit": limit}
        return self.request("GET", "/alarms", params=params)

    def alarm(self, alarm_id: int) -> dict[str, Any]:
        return self.request("GET", f"/alarms/{int(alarm_id)}")

    def ack_alarm(self, alarm_id: int, note: str | None = None) -> dict[str, Any]:
        """Acknowledge an alarm; Conflict if someone already did."""
        return self.request("POST", f"/alarms/{int(alarm_id)}/ack", json={"note": note})

    def stream(self, kinds: list[str] | None = None, execution: int | None = None,
               node: str | None = None, timeout: float | None = None) -> Stream:
        """Subscribe to the live stream (results, alarms, state, node); iterate for events."""
        return Stream(self.url, self._http._need_token(), kinds=kinds, execution=execution,
                      node=node, timeout=timeout)

    # ---- experiment layers and pushed result files ------------------------

    def push_layer(self, path: str | Path) -> dict[str, Any]:
        """Upload a directory (packed reproducibly) or a tar file; LayerOut with its digest."""
        tar, scratch = layers.as_layer(Path(path))
        try:
            digest = layers.digest_of(tar)
            try:
                return self.request("GET", f"/layers/{digest}")  # stored already: once is enough
            except NotFound:
                return self._http.upload(f"/layers/{digest}", layers.chunks(tar))
        finally:
            if scratch is not None:
                scratch.cleanup()

    def result_files(self, execution: int, node: str | None = None,
                     action: str | None = None) -> list[dict[str, Any]]:
        """Files of an execution (pushed by nodes or fetched), optionally one node's."""
        return self.request("GET", f"/executions/{int(execution)}/files",
                            params={"node": node, "action": action})

    def download_file(self, file_id: int) -> bytes:
        """The bytes of a ready file listed by ``result_files``."""
        return self._http.download(f"/files/{int(file_id)}/content")


    # ---- studies ----------------------------------------------------------

    def create_study(self, study: dict[str, Any] | str | Path) -> dict[str, Any]:
        """Create a study from its document (or a YAML/JSON file): every combination is
        validated, stored and scheduled back to back; StudyOut. Invalid names the bad
        combination(s), and then nothing was stored."""
        if isinstance(study, (str, Path)):
            from vantagepoint.client.builder import load_document

            study = load_document(study)
        return self.request("POST", "/studies", json=study)

    def studies(self) -> list[dict[str, Any]]:
        """Studies (own; an admin sees all), each with its runs."""
        return self.request("GET", "/studies")

    def study(self, name: str) -> dict[str, Any]:
        """One study: every run, each combination's parameters, slot and state."""
        return self.request("GET", f"/studies/{_seg(name)}")

    def rerun_study(self, name: str, start: Moment = None, note: str = "") -> dict[str, Any]:
        """Schedule the whole study again as its next run; StudyRunOut."""
        body = _drop_none({"start": _rfc3339(start), "note": note})
        return self.request("POST", f"/studies/{_seg(name)}/runs", json=body)


    # ---- production: archivers (issue 8) -----------------------------------

    def archivers(self) -> list[dict[str, Any]]:
        """Every archiver's backlog, deliveries, attempts and last error (admin only)."""
        return self.request("GET", "/admin/archivers")

    def storage(self) -> dict[str, Any]:
        """The results retention policy and, on PostgreSQL, the partitions (admin only)."""
        return self.request("GET", "/admin/storage")

    # ---- lifetime ---------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Client {self.url}>"


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}
