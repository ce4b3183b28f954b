"""Bulk insert of result rows on the driver's fastest path, skipping origins seen before.

The ORM's bulk insert spent ~40 µs of Python per row (bind processing, compilation).
PostgreSQL: COPY straight into results, under a savepoint; a batch holding an origin
stored before (a retried upload, or its twin still in flight) fails on the unique key,
is rolled back to the savepoint and goes through a per-connection staging table and one
INSERT ... SELECT ... ON CONFLICT DO NOTHING instead. The server spends ~9 µs a row on
that second way, ~6 on the first (one connection, 500-row batches). SQLite's driver
executemany is cheaper still. Both run in the caller's transaction, so the rows commit
(or roll back) with everything else the request wrote.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import psycopg
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

# The columns of ``results`` an ingested row fills, in the order of a row tuple.
COLUMNS = ("execution_id", "node_name", "action", "name", "ts", "value", "value_num",
           "spool_id", "seq")
_COLS = ", ".join(COLUMNS)
STAGE = "ingest_stage"
_STAGE_DDL = (f"create temp table if not exists {STAGE} (execution_id integer, node_name text, "
              "action text, name text, ts float8, value json, value_num float8, "
              "spool_id text, seq bigint) on commit delete rows")
# No conflict target: any unique origin constraint (partitioned tables carry theirs
# with the partition key) makes a row already stored a no-op.
_PG_INSERT = (f"insert into results ({_COLS}) select {_COLS} from {STAGE} "
              "on conflict do nothing")
_SQLITE_INSERT = (f"insert into results ({_COLS}) values ({', '.join('?' * len(COLUMNS))}) "
                  "on conflict (node_name, spool_id, seq) do nothing")

Row = tuple  # (execution_id, node, action, name, ts, value, value_num, spool_id, seq)


def encode(value) -> str:
    """A result's value as the JSON column stores it (what SQLAlchemy's JSON type writes).

    The scalars most results are take a short way to json.dumps's very text (its
    encoder object cost more than the rest of a row's handling)."""
    kind = type(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    if kind is int:
        return int.__repr__(value)
    if kind is str:
        return _encode_str(value)
    if kind is bool or value is None:
        return _CONSTANTS[value]
    return json.dumps(value)


_encode_str = json.encoder.encode_basestring_ascii  # json.dumps's own, for ensure_ascii
_CONSTANTS = {True: "true", False: "false", None: "null"}


def insert_results(db: Session, rows: Sequence[Row]) -> int:
    """Insert rows (value already JSON text) whose origin is new; how many were new."""
    if not rows:
        return 0
    dbapi = db.connection().connection.driver_connection
    if db.get_bind().dialect.name == "postgresql":
        with dbapi.cursor() as cur:
            return _copy_new(db, cur, rows)
    cur = dbapi.cursor()
    try:
        cur.executemany(_SQLITE_INSERT, rows)
        return cur.rowcount
    finally:
        cur.close()


def _copy_new(db: Session, cur: psycopg.Cursor, rows: Sequence[Row]) -> int:
    cur.execute("savepoint vp_ingest")  # released with the transaction
    try:
        _copy(cur, "results", rows)
        return len(rows)
    except psycopg.errors.UniqueViolation:
        cur.execute("rollback to savepoint vp_ingest")
    if db.info.get(STAGE):  # a second batch in this session's transaction
        cur.execute(f"delete from {STAGE}")
    db.info[STAGE] = True
    _copy(cur, STAGE, rows)
    cur.execute(_PG_INSERT)
    return cur.rowcount


def _copy(cur: psycopg.Cursor, table: str, rows: Sequence[Row]) -> None:
    with cur.copy(f"copy {table} ({_COLS}) from stdin") as copy:
        for row in rows:
            copy.write_row(row)


def prepare_staging(engine: Engine) -> None:
    """Give every PostgreSQL connection its staging table once, when it is opened."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _stage(dbapi_conn, _record):
        with dbapi_conn.cursor() as cur:
            cur.execute(_STAGE_DDL)
        dbapi_conn.commit()
