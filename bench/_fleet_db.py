"""The database side of bench/fleet.py: fresh PostgreSQL databases, the row check, COPY."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from collections import Counter

import psycopg
from sqlalchemy.engine import make_url

ORIGIN = "select node_name, spool_id, seq, ts, value_num from results where spool_id like 'fleet-%'"


def create_pg(server_url: str) -> tuple[str, str]:
    """A fresh database on the server; its SQLAlchemy URL and its name."""
    name = f"fleet_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = make_url(server_url).set(database=name)
    return url.render_as_string(hide_password=False), name


def drop_pg(server_url: str, name: str) -> None:
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def _libpq(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def stored_rows(database_url: str) -> list[tuple]:
    """Every fleet row in the results table: (node, spool_id, seq, ts, value)."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(database_url).database)
        try:
            return conn.execute(ORIGIN).fetchall()
        finally:
            conn.close()
    with psycopg.connect(_libpq(database_url)) as conn:
        return conn.execute(ORIGIN).fetchall()


def check(sent: dict[tuple[str, str, int], tuple[float, float]],
          rows: list[tuple]) -> tuple[int, int, bool]:
    """(lost, duplicated, checksums equal) by count and content of every row.

    Lost: a sent record with no stored row, or whose stored row differs. Duplicated:
    every stored row beyond the first for an origin, and rows nobody sent.
    """
    counts = Counter((node, spool, seq) for node, spool, seq, _, _ in rows)
    stored = {(n, s, q): (ts, v) for n, s, q, ts, v in rows}
    lost = sum(1 for key, content in sent.items() if stored.get(key) != content)
    duplicated = sum(n - 1 for n in counts.values()) + sum(1 for k in counts if k not in sent)
    same = _checksum(sent.items()) == _checksum(((n, s, q), (ts, v)) for n, s, q, ts, v in rows)
    return lost, duplicated, same


def _checksum(items) -> str:
    digest = hashlib.sha256()
    for key, content in sorted(items):
        digest.update(repr((key, content)).encode())
    return digest.hexdigest()


def copy_rate(database_url: str, rows: list[tuple]) -> float:
    """Rows/s of a raw COPY of ``rows`` into a fresh table shaped like results."""
    with psycopg.connect(_libpq(database_url)) as conn:
        conn.execute("create table fleet_copy (like results including all)")
        conn.commit()
        columns = "execution_id, node_name, action, name, ts, value, value_num, spool_id, seq"
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"copy fleet_copy ({columns}) from stdin") as copy:
            for execution, node, action, name, ts, value, spool, seq in rows:
                copy.write_row((execution, node, action, name, ts, json.dumps(value), value,
                                spool, seq))
        conn.commit()
        elapsed = time.perf_counter() - start
        conn.execute("drop table fleet_copy")
        conn.commit()
    return len(rows) / elapsed
