"""Versioned wire models shared by core, agent and client (unknown fields refused).

Times in the API are RFC 3339 UTC strings; result and log timestamps are epoch
seconds (float), as results carry them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vantagepoint.spec.tools import NAME_PATTERN, ToolInfo

API_PREFIX = "/api/v1"
NODE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExecState(StrEnum):
    QUEUED = "queued"
    DEPLOYING = "deploying"
    READY = "ready"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELED = "canceled"


class NodeState(StrEnum):
    """One node's part in one execution."""

    ASSIGNED = "assigned"
    READY = "ready"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"


# ---- agent -> core --------------------------------------------------------

class Interface(Wire):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    device: str | None = Field(None, max_length=64)


class NodeRegistration(Wire):
    name: str = Field(pattern=NODE_NAME_PATTERN)
    interfaces: list[Interface] = Field(default_factory=list)
    attributes: dict[str, str] = Field(default_factory=dict)
    tools: list[ToolInfo] = Field(default_factory=list)
    tool_errors: dict[str, str] = Field(default_factory=dict)
    agent_version: str = ""


class Heartbeat(Wire):
    ts: float | None = None


class NodeReport(Wire):
    """An agent's word on its part of an execution."""

    state: Literal["ready", "failed", "done"]
    reason: str | None = Field(None, max_length=4000)
    traffic_bytes: int | None = Field(
        None, ge=0, description="Bytes sent and received on the measurement interfaces "
                                "during the run (for the data quota).")
    failed_actions: dict[str, Annotated[str, Field(max_length=4000)]] = Field(
        default_factory=dict, max_length=1000,
        description="Actions that failed while the others went on (tolerant execution "
                    "models only): action name -> reason.")


class ResultRecord(Wire):
    kind: Literal["result"] = "result"
    seq: int = Field(ge=1)
    execution_id: int
    action: str = Field(pattern=NAME_PATTERN)
    name: str = Field(pattern=NAME_PATTERN)
    ts: float
    value: Any


class LogRecord(Wire):
    kind: Literal["log"] = "log"
    seq: int = Field(ge=1)
    execution_id: int
    action: str | None = None
    ts: float
    level: Literal["debug", "info", "warning", "error"] = "info"
    message: str = Field(max_length=16000)


Record = Annotated[ResultRecord | LogRecord, Field(discriminator="kind")]


class RecordBatch(Wire):
    """Spooled records; (node, spool_id, seq) makes every upload idempotent."""

    spool_id: str = Field(pattern=r"^[A-Za-z0-9-]{8,64}$")
    records: list[Record] = Field(max_length=10000)


class BatchAck(Wire):
    received: int
    stored: int
    max_seq: int


# ---- core -> agent --------------------------------------------------------

class Assignment(Wire):
    """One execution as one node must carry it out."""

    execution_id: int
    state: ExecState
    node_state: NodeState
    reason: str | None = None
    start_at: datetime
    run_at: datetime | None = None
    duration: float
    actions: list[dict[str, Any]]
    tolerant: bool = Field(False, description="The execution model goes on when an action "
                                              "fails: keep the others running.")


# ---- users ----------------------------------------------------------------

class UserCreate(Wire):
    name: str = Field(pattern=NAME_PATTERN)
    admin: bool = False
    password: str | None = Field(None, min_length=8, max_length=256)


class UserOut(Wire):
    name: str
    admin: bool
    created_at: datetime


Scope = Literal["read", "schedule", "admin", "node"]


class TokenCreate(Wire):
    label: str = Field("", max_length=128)
    user: str | None = Field(None, description="Admin only: issue for another user.")
    scopes: list[Scope] | None = Field(
        None, description="What the token may do; all its owner's role allows when unset.")
    expires_at: datetime | None = Field(None, description="When the token stops working.")


class NodeTokenCreate(Wire):
    node: str = Field(pattern=NODE_NAME_PATTERN)
    label: str = Field("", max_length=128)
    expires_at: datetime | None = Field(None, description="When the token stops working.")


class TokenOut(Wire):
    id: int
    label: str
    kind: Literal["user", "node"]
    user: str | None = None
    node: str | None = None
    created_at: datetime
    scopes: list[Scope] = Field(default_factory=list)
    expires_at: datetime | None = None
    token: str | None = Field(None, description="The secret; shown once, at creation.")


class AuditOut(Wire):
    """One admin action as the audit log keeps it."""

    id: int
    at: datetime
    actor: str
    token_id: int | None = None
    action: str
    target: str
    address: str | None = None
    outcome: str


# ---- nodes and tools ------------------------------------------------------

class NodeOut(Wire):
    name: str
    interfaces: list[Interface]
    attributes: dict[str, str]
    tools: list[str] = Field(description="name@version of each tool offered")
    tool_errors: dict[str, str] = Field(default_factory=dict)
    online: bool
    status: str = "active"
    state: str = Field("active", description="active, maintenance, disabled, or offline when "
                                             "an active node has not been heard from.")
    clock_skew_ms: float | None = Field(
        None, description="Core clock minus node clock at the last heartbeat, ms.")
    last_seen: datetime | None
    registered_at: datetime | None
    agent_version: str = ""


class ToolOut(Wire):
    name: str
    version: str
    description: str
    config_schema: dict[str, Any]
    results: list[dict[str, Any]]
    dynamic_results: bool
    nodes: list[str]


# ---- specs ----------------------------------------------------------------

class StoredSpec(Wire):
    """A stored scenario, task or action."""

    kind: Literal["scenario", "task", "action"]
    name: str
    version: int
    owner: str
    spec: dict[str, Any]
    created_at: datetime
    updated_at: datetime


# ---- executions -----------------------------------------------------------

class ExecutionCreate(Wire):
    scenario: str = Field(pattern=NAME_PATTERN)
    start: datetime | None = Field(None, description="UTC start; now when omitted.")
    duration: float = Field(gt=0, le=40 * 86400, description="Seconds.")


class ExecutionNodeOut(Wire):
    node: str
    state: NodeState
    reason: str | None
    failed_actions: dict[str, str] = Field(
        default_factory=dict, description="Actions that failed while the execution went on.")


class ExecutionOut(Wire):
    id: int
    owner: str
    scenario: str
    scenario_version: int
    state: ExecState
    reason: str | None
    start_at: datetime
    run_at: datetime | None
    duration: float
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    nodes: list[ExecutionNodeOut]
    snapshot: dict[str, Any] | None = None
    study: str | None = None
    study_run: int | None = None
    study_params: dict[str, Any] | None = None


class LogOut(Wire):
    id: int
    ts: float
    node: str | None
    action: str | None
    level: str
    message: str


class ResultOut(Wire):
    id: int
    execution: int | None = Field(description="None for a background result.")
    node: str
    action: str
    name: str
    ts: float
    value: Any
    background: bool = False
    study: str | None = None
    study_run: int | None = None
    study_params: dict[str, Any] | None = None


class ResultPage(Wire):
    items: list[ResultOut]
    next_cursor: int | None = Field(None, description="Pass as ?cursor= for the next page.")


# ---- schedules ------------------------------------------------------------

class ScheduleCreate(Wire):
    """A request to execute a scenario: when, how long, how often, on which nodes."""

    scenario: str = Field(pattern=NAME_PATTERN)
    mode: Literal["at", "earliest", "low_priority"] = Field(
        "earliest", description="at: exactly `start`; earliest: first fit from `start` "
        "(or now); low_priority: whenever the nodes are idle for the whole duration.")
    start: datetime | None = Field(None, description="UTC; required for mode 'at'.")
    duration: float = Field(gt=0, description="Seconds per occurrence.")
    every: float | None = Field(None, gt=0, description="Period in seconds (periodic).")
    until: datetime | None = Field(None, description="Periodic: no occurrence starts at or "
                                                     "after this time.")
    nodes: list[str] | None = Field(None, description="Explicit nodes, bound to the "
                                                      "scenario's roles in order.")
    filter: str | None = Field(None, max_length=1000,
                               description="Node filter, e.g. 'type=deployed and not "
                                           "model=apu1'.")
    count: int | None = Field(None, ge=1, le=10000, description="How many filtered nodes.")
    min_interfaces: int | None = Field(None, ge=0, le=64)
    roles: dict[str, list[str]] | None = Field(None, description="Explicit role binding.")
    dry_run: bool = Field(False, description="Return the slots without taking them.")


class OccurrenceOut(Wire):
    index: int
    start: datetime
    end: datetime
    nodes: list[str]
    execution: int | None = None
    state: str = "reserved"


class RefusalOut(Wire):
    policy: str
    message: str
    node: str | None = None
    occurrence: int | None = None
    at: datetime | None = None
    conflict_schedule: int | None = None


class ScheduleOut(Wire):
    id: int | None = Field(None, description="None for a dry run.")
    owner: str
    scenario: str
    mode: str
    state: str
    duration: float
    every: float | None
    shared: bool
    node_seconds: float
    data_bytes: int
    created_at: datetime | None = None
    occurrences: list[OccurrenceOut]
    dry_run: bool = False


class BookingOut(Wire):
    """One entry of a calendar."""

    schedule: int
    occurrence: int
    node: str
    start: datetime
    end: datetime
    owner: str
    scenario: str
    shared: bool
    state: str
    execution: int | None = None


class QuotaOut(Wire):
    user: str
    node_seconds_limit: float
    node_seconds_used: float
    data_bytes_limit: int
    data_bytes_used: int


class QuotaSet(Wire):
    node_seconds_limit: float | None = Field(None, ge=0)
    data_bytes_limit: int | None = Field(None, ge=0)


class NodeStatusSet(Wire):
    status: Literal["active", "maintenance", "disabled"]
    reason: str | None = Field(None, max_length=1000)


# ---- result files kept on nodes ---------------------------------------------

class FileFetchCreate(Wire):
    """Ask a node for a file from one action's result store."""

    node: str = Field(pattern=NODE_NAME_PATTERN)
    action: str = Field(pattern=NAME_PATTERN)
    path: str = Field(min_length=1, max_length=1024,
                      description="Relative to the action's store, or the absolute path the "
                                  "tool reported.")


class FileFetchOut(Wire):
    id: int
    execution: int
    node: str
    action: str
    path: str
    state: Literal["pending", "ready", "failed"]
    reason: str | None = None
    size: int | None = None
    sha256: str | None = None


class FetchFailure(Wire):
    reason: str = Field(max_length=2000)


# ---- alarms and the live stream ---------------------------------------------

class AlarmRecord(Wire):
    """A condition that became true on a node, as the agent spooled it."""

    seq: int = Field(ge=1)
    execution_id: int
    action: str = Field(pattern=NAME_PATTERN)
    condition: str = Field(min_length=1, max_length=200)
    result: str = Field(pattern=NAME_PATTERN)
    value: float
    ts: float = Field(description="Timestamp of the result (or window end) that violated.")
    raised_at: float = Field(description="When the node raised it (node clock).")


class AlarmBatch(Wire):
    """Alarms sent ahead of the results; (node, spool_id, seq) makes resending harmless."""

    spool_id: str = Field(pattern=r"^[A-Za-z0-9-]{8,64}$")
    alarms: list[AlarmRecord] = Field(max_length=1000)


class AlarmOut(Wire):
    id: int
    execution: int
    node: str
    action: str
    condition: str
    result: str
    value: float
    ts: float
    raised_at: float
    origin: Literal["node", "core"]
    received_at: datetime
    acked_at: datetime | None = None
    acked_by: str | None = None
    note: str | None = None


class AlarmAck(Wire):
    note: str | None = Field(None, max_length=1000)


StreamKind = Literal["result", "alarm", "state", "node", "ready"]


class StreamEvent(Wire):
    """One message of the live stream (GET /stream, a WebSocket); "ready" comes first."""

    kind: StreamKind
    execution: int | None = None
    node: str | None = None
    data: dict[str, Any]


# ---- experiment layers --------------------------------------------------------

class LayerOut(Wire):
    """A stored experiment layer (a tar archive), named by its content."""

    digest: str = Field(description="sha256:<64 hex digits> of the archive's bytes.")
    size: int


# ---- node platform: metadata stream, background results, node health --------

TOPIC_PATTERN = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"


class MetadataRecord(Wire):
    """One bus message as the agent's recorder spooled it."""

    kind: Literal["metadata"] = "metadata"
    seq: int = Field(ge=1)
    topic: str = Field(max_length=200, pattern=TOPIC_PATTERN)
    ts: float = Field(description="The message's Timestamp, epoch seconds.")
    message: dict[str, Any] = Field(description="The full message, common fields included.")


class BackgroundRecord(Wire):
    """A result of the node's continuous background measurements (no execution)."""

    kind: Literal["background"] = "background"
    seq: int = Field(ge=1)
    action: str = Field(pattern=NAME_PATTERN)
    name: str = Field(pattern=NAME_PATTERN)
    ts: float
    value: Any


StreamRecord = Annotated[MetadataRecord | BackgroundRecord, Field(discriminator="kind")]


class StreamBatch(Wire):
    """Spooled stream records; (node, spool_id, seq) makes every upload idempotent."""

    spool_id: str = Field(pattern=r"^[A-Za-z0-9-]{8,64}$")
    records: list[StreamRecord] = Field(max_length=10000)


class MetadataOut(Wire):
    id: int
    node: str
    topic: str
    ts: float
    message: dict[str, Any]


class MetadataPage(Wire):
    items: list[MetadataOut]
    next_cursor: int | None = Field(None, description="Pass as ?cursor= for the next page.")


class MaintenanceReport(Wire):
    """An agent's watchdog puts its node in maintenance."""

    reason: str = Field(min_length=1, max_length=2000)


class NodeStatusOut(Wire):
    status: str
    reason: str | None = None


# ---- studies ----------------------------------------------------------------

class StudyRunCreate(Wire):
    """Repeat a whole study as a new run."""

    start: datetime | None = Field(None, description="UTC; first fit from now when unset.")
    note: str = Field("", max_length=256, description="e.g. 'after the firmware update'")


class StudyItemOut(Wire):
    """One combination within one run."""

    position: int
    params: dict[str, Any]
    scenario: str
    schedule: int
    start: datetime | None = None
    end: datetime | None = None
    execution: int | None = None
    state: str = Field(description="The execution's state, else the booking's.")


class StudyRunOut(Wire):
    number: int
    note: str
    created_at: datetime
    states: dict[str, int] = Field(description="How many combinations are in each state.")
    items: list[StudyItemOut]


class StudyOut(Wire):
    name: str
    owner: str
    description: str
    parameters: dict[str, list[Any]]
    combinations: int
    created_at: datetime
    runs: list[StudyRunOut]
