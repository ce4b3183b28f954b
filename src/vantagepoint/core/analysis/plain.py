"""Running one compiled statement many times, or over many rows, as plain DB-API SQL
(SQLAlchemy's Row objects cost more than SQLite's reading of the rows)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.orm import Session


class PlainQuery:
    """A statement compiled once; each run skips the ORM's per-statement work."""

    def __init__(self, db: Session, query: Executable):
        self.conn = db.connection()
        self.compiled = query.compile(dialect=self.conn.dialect)
        self.sql = str(self.compiled)
        self.names = self.compiled.positiontup or []

    def run(self, **values: Any) -> Iterator[tuple]:
        """The rows as the DB-API cursor gives them (plain tuples), in this transaction."""
        params = self.compiled.construct_params(values)
        cursor = self.conn.connection.dbapi_connection.cursor()
        cursor.execute(self.sql, tuple(params[k] for k in self.names))
        return cursor
