"""The tables. Portable SQL only: the same models serve SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from vantagepoint.core.store.types import ScalarJSON, UTCDateTime, utcnow

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Token(Base):
    """An API secret, stored only as its SHA-256; kind 'user' or 'node'."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(128), default="")
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    node_name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # Space-separated scopes (core.scopes); migration 0020 gave old tokens their role's.
    scopes: Mapped[str] = mapped_column(String(64), default="")
    expires_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship()


class Node(Base):
    __tablename__ = "nodes"
    # The fleet's version (count, latest registration) is read on every scheduling
    # request; without it SQLite reads every row, JSON columns and all.
    __table_args__ = (Index("ix_nodes_registered_at", "registered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    interfaces: Mapped[list[Any]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tools: Mapped[list[Any]] = mapped_column(default=list)
    tool_errors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    agent_version: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Core clock minus node clock at the last heartbeat (includes the one-way delay).
    clock_skew_ms: Mapped[float | None] = mapped_column(Float)
    registered_at: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]


class Spec(Base):
    """A stored scenario, task or action document, versioned on change."""

    __tablename__ = "specs"
    __table_args__ = (UniqueConstraint("kind", "owner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=1)
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship()


class Execution(Base):
    """One run of a scenario, with the frozen snapshot of what it runs."""

    __tablename__ = "executions"
    __table_args__ = (Index("ix_executions_state", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id"))
    occurrence: Mapped[int | None] = mapped_column(Integer)
    scenario_name: Mapped[str] = mapped_column(String(64))
    scenario_version: Mapped[int]
    snapshot: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    start_at: Mapped[datetime]
    run_at: Mapped[datetime | None]
    duration: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]  # when result processors ran over it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the execution is one combination of a study's run.
    study_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id"), index=True)
    study_run: Mapped[int | None] = mapped_column(Integer)
    study_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    owner: Mapped[User] = relationship()
    study: Mapped[Study | None] = relationship()
    nodes: Mapped[list[ExecutionNode]] = relationship(
        back_populates="execution", order_by="ExecutionNode.node_name"
    )


class ExecutionNode(Base):
    """One node's part in one execution."""

    __tablename__ = "execution_nodes"
    __table_args__ = (
        UniqueConstraint("execution_id", "node_name"),
        Index("ix_execution_nodes_node_state", "node_name", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id"))
    node_name: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # action -> why it failed, for execution models that go on without it.
    failed_actions: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")

    execution: Mapped[Execution] = relationship(back_populates="nodes")


class Result(Base):
    """One typed value from an action; (node, spool_id, seq) makes ingest idempotent.

    On PostgreSQL the table is partitioned by week of ``ts`` (migration 0021,
    core/store/partitions.py), so its keys also hold ts: primary key (id, ts) and
    uq_results_origin (node_name, spool_id, seq, ts); a retried record has the same ts.
    There, execution_id has no foreign key (0024): its check was most of the server's
    CPU in ingest, which admits only executions the node takes part in.
    """

    __tablename__ = "results"
    __table_args__ = (
        UniqueConstraint("node_name", "spool_id", "seq", name="uq_results_origin"),
        # An execution's charts, summary and statistics from the index alone (0021).
        Index("ix_results_query", "execution_id", "action", "name", "node_name", "ts",
              "value_num"),
        # An execution's results in id order: API paging, processors, export (0021).
        Index("ix_results_execution", "execution_id", "id"),
        # Statistics and charts: one result name on one node over a time range, the
        # value in the index so the range scan never visits the table (migration 0009).
        Index("ix_results_series", "name", "node_name", "ts", "value_num"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # None for a background result (the node's continuous measurements; ``background``).
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("executions.id"))
    node_name: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    ts: Mapped[float] = mapped_column(Float)
    value: Mapped[Any] = mapped_column(ScalarJSON)
    value_num: Mapped[float | None] = mapped_column(Float)
    spool_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    background: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class LogEntry(Base):
    """A line of an execution's log, from the core (no node) or an agent."""

    __tablename__ = "logs"
    __table_args__ = (
        UniqueConstraint("node_name", "spool_id", "seq", name="uq_logs_origin"),
        Index("ix_logs_execution", "execution_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id"))
    node_name: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(Text)
    spool_id: Mapped[str | None] = mapped_column(String(64))
    seq: Mapped[int | None] = mapped_column(BigInteger)


class Schedule(Base):
    """A request to execute a scenario, accepted whole; its bookings are its calendar."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    scenario_name: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]]
    binding: Mapped[dict[str, Any]] = mapped_column(default=dict)  # role -> [nodes]
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    system: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="active")
    duration: Mapped[float] = mapped_column(Float)
    every: Mapped[float | None] = mapped_column(Float)
    node_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    data_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship()


class Booking(Base):
    """One node's part of one occurrence of a schedule: ``[start, end)`` on the calendar."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_node_start", "node_name", "start"),
        Index("ix_bookings_schedule", "schedule_id", "occurrence"),
        Index("ix_bookings_due", "state", "start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"))
    occurrence: Mapped[int] = mapped_column(Integer)
    node_name: Mapped[str] = mapped_column(String(128))
    start: Mapped[datetime]
    end: Mapped[datetime]
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    system: Mapped[bool] = mapped_column(Boolean, default=False)
    interfaces: Mapped[list[Any]] = mapped_column(default=list)
    tools: Mapped[list[Any]] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(String(16), default="reserved")  # reserved|released|canceled
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("executions.id"))


class CalendarStamp(Base):
    """One row: a fresh random stamp written by every change to the bookings' calendar.

    Core processes keep the bookings they read in memory between requests; a stamp
    other than the one they last saw tells them to forget it (see scheduler.calendar_cache).
    """

    __tablename__ = "calendar_stamp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stamp: Mapped[str] = mapped_column(String(32))


class TokenStamp(Base):
    """One row: a counter the database's triggers bump on every update or delete of a token.

    Core processes cache verified node tokens; a counter other than the one they last
    read tells them to forget the cache (see core/principals.py; migration 0023).
    """

    __tablename__ = "token_stamp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class QuotaEntry(Base):
    """A debit (positive) or refund (negative) of a user's node time or data volume."""

    __tablename__ = "quota_ledger"
    __table_args__ = (Index("ix_quota_ledger_user", "user_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id"))
    kind: Mapped[str] = mapped_column(String(8))  # time | data
    amount: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Quota(Base):
    """A user's limits; absent means the configured defaults."""

    __tablename__ = "quotas"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    node_seconds_limit: Mapped[float] = mapped_column(Float)
    data_bytes_limit: Mapped[int] = mapped_column(BigInteger)


class QuotaUsage(Base):
    """A user's running totals of the ledger, kept with it so a check reads one row."""

    __tablename__ = "quota_usage"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    node_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    data_bytes: Mapped[float] = mapped_column(Float, default=0.0)


class FileFetch(Base):
    """A request for a file kept in a node's result store, and the copy once it arrived."""

    __tablename__ = "file_fetches"
    __table_args__ = (Index("ix_file_fetches_node_state", "node_name", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id"), index=True)
    node_name: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(1024))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---- alarms (issue 6) -------------------------------------------------------

class Alarm(Base):
    """A condition that became true: raised on a node (origin 'node') or at the core."""

    __tablename__ = "alarms"
    __table_args__ = (
        UniqueConstraint("node_name", "spool_id", "seq", name="uq_alarms_origin"),
        Index("ix_alarms_execution", "execution_id", "id"),
        Index("ix_alarms_delivery", "delivered_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id"))
    node_name: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    condition: Mapped[str] = mapped_column(String(200))
    result: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    ts: Mapped[float] = mapped_column(Float)  # of the violating result (or window end)
    raised_at: Mapped[float] = mapped_column(Float)
    origin: Mapped[str] = mapped_column(String(8))  # node | core
    spool_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]  # a core process is delivering it
    delivered_at: Mapped[datetime | None]
    acked_at: Mapped[datetime | None]
    acked_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class WatchCursor(Base):
    """How far the core has watched a row stream (e.g. derived results), shared by replicas."""

    __tablename__ = "watch_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)


class ReactionRun(Base):
    """A follow-up an alarm asked for: scheduled, held back by the rate limit, or refused."""

    __tablename__ = "reaction_runs"
    __table_args__ = (Index("ix_reaction_runs_key", "owner_id", "scenario_name", "node_name",
                            "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scenario_name: Mapped[str] = mapped_column(String(64))
    node_name: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16))  # scheduled | limited | refused
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---- node platform: the metadata stream ------------------------------------

# Byte order for topics on PostgreSQL too, so a prefix is a range the index serves.
TopicString = String(200).with_variant(String(200, collation="C"), "postgresql")


class MetadataEntry(Base):
    """One bus message of one node; (node, spool_id, seq) makes ingest idempotent."""

    __tablename__ = "metadata"
    __table_args__ = (
        UniqueConstraint("node_name", "spool_id", "seq", name="uq_metadata_origin"),
        Index("ix_metadata_query", "node_name", "topic", "ts"),
        Index("ix_metadata_node_ts", "node_name", "ts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    node_name: Mapped[str] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(TopicString)
    ts: Mapped[float] = mapped_column(Float)
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    spool_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)


# ---- studies: a scenario template over parameter axes, run and rerun -------------

class Study(Base):
    """A study document and the scenarios generated from it (one per combination)."""

    __tablename__ = "studies"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship()
    runs: Mapped[list[StudyRun]] = relationship(back_populates="study",
                                                order_by="StudyRun.number")


class StudyRun(Base):
    """One pass over every combination of a study, scheduled back to back."""

    __tablename__ = "study_runs"
    __table_args__ = (UniqueConstraint("study_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    number: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    study: Mapped[Study] = relationship(back_populates="runs")
    items: Mapped[list[StudyItem]] = relationship(order_by="StudyItem.position")


class StudyItem(Base):
    """One combination within one run: its parameters, scenario and schedule."""

    __tablename__ = "study_items"
    __table_args__ = (UniqueConstraint("run_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("study_runs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    scenario_name: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]]
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"), unique=True)
# --- production: duty lease and archivers' outbox (issue 8) ---------------------------


class DutyLease(Base):
    """Who runs a background duty across core processes, until when (see core.lease)."""

    __tablename__ = "duty_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[float] = mapped_column(Float, default=0.0)  # epoch seconds
    acquired_at: Mapped[float | None] = mapped_column(Float)


class ArchiveOutbox(Base):
    """A result waiting to be pushed by one archiver; written with the result itself."""

    __tablename__ = "archive_outbox"
    __table_args__ = (
        UniqueConstraint("archiver", "key", name="uq_archive_outbox_key"),
        Index("ix_archive_outbox_due", "archiver", "next_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    archiver: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(256))  # idempotency key: node/spool_id/seq
    topic: Mapped[str] = mapped_column(String(512))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[float] = mapped_column(Float)
    next_at: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class ArchiverStatus(Base):
    """Running totals of one archiver, kept across restarts."""

    __tablename__ = "archiver_status"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)
    expired: Mapped[int] = mapped_column(BigInteger, default=0)
    dropped: Mapped[int] = mapped_column(BigInteger, default=0)
    attempts: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(BigInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[float | None] = mapped_column(Float)
    last_delivered_at: Mapped[float | None] = mapped_column(Float)


# --- production: hardening (issue 8) ---------------------------------------------------


class AuditEntry(Base):
    """One admin action, written in the transaction of the action itself."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    token_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(256), default="")
    address: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(256), default="ok")
