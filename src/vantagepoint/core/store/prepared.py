"""Hot-path statements compiled once per dialect and run on the driver's own cursor.

A scheduling request runs about ten small statements; through the Session each costs
several times what the database spends on it (cache keys, execution contexts, result
objects). These run in the session's transaction on its connection, with the columns'
bind conversions applied as SQLAlchemy would, and return the driver's raw rows: use
them only where raw values are what the caller wants (numbers, strings, stamps).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement


class Prepared:
    """A Core statement without expanding parameters, run straight on the DB-API cursor."""

    def __init__(self, statement: ClauseElement):
        self.statement = statement
        self._by_dialect: dict[str, _Form] = {}
        self._processors: dict[tuple, list[tuple[int, Callable]]] = {}

    def rows(self, db: Session, params: dict[str, Any] | None = None) -> list[tuple]:
        """Every row the statement returns, as the driver gives them."""
        cursor = self._run(db, [params or {}])
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    def converted_rows(self, db: Session, params: dict[str, Any] | None = None) -> list:
        """Every row, each column converted as SQLAlchemy would (dates, JSON)."""
        cursor = self._run(db, [params or {}])
        try:
            active = self._results(db.get_bind().dialect, cursor.description)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if not active:
            return rows
        converted = []
        for row in rows:
            values = list(row)
            for i, process in active:
                values[i] = process(values[i])
            converted.append(values)
        return converted

    def first(self, db: Session, params: dict[str, Any] | None = None) -> tuple | None:
        """The first row, or None."""
        rows = self.rows(db, params)
        return rows[0] if rows else None

    def run(self, db: Session, params: dict[str, Any] | None = None) -> None:
        """Run a statement that returns nothing."""
        self._run(db, [params or {}]).close()

    def run_many(self, db: Session, params: Sequence[dict[str, Any]]) -> None:
        """Run a statement that returns nothing once per parameter set (executemany)."""
        if params:
            self._run(db, params, many=True).close()

    def _run(self, db: Session, params: Sequence[dict[str, Any]], many: bool = False):
        if db.autoflush:
            db.flush()  # as Session.execute would: pending objects are visible to the query
        conn = db.connection()  # begins the session's transaction if need be
        form = self._form(conn.dialect)
        args = [form.args(p) for p in params]
        cursor = conn.connection.cursor()
        if many:
            cursor.executemany(form.sql, args)
        else:
            cursor.execute(form.sql, args[0])
        return cursor

    def _results(self, dialect: Dialect, description) -> list[tuple[int, Callable]]:
        """The columns' result conversions (some depend on the driver's type codes)."""
        key = (dialect.name, tuple(d[1] for d in description))
        found = self._processors.get(key)
        if found is None:
            processors = [column.type.dialect_impl(dialect).result_processor(dialect, d[1])
                          for column, d in zip(self.statement.selected_columns, description,
                                               strict=True)]
            found = self._processors[key] = [(i, p) for i, p in enumerate(processors) if p]
        return found

    def _form(self, dialect: Dialect) -> _Form:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = _Form(self.statement.compile(dialect=dialect),
                                                           dialect)
        return found


_REQUIRED = object()


class _Form:
    """One dialect's SQL text and, per parameter in the driver's order, how to fill it."""

    def __init__(self, compiled, dialect: Dialect):
        self.sql = compiled.string
        self.positional = compiled.positional
        by_name = {compiled.bind_names[b]: b for b in compiled.binds.values()}
        self.names = list(compiled.positiontup if self.positional else by_name)
        self.slots = []
        for name in self.names:
            bind = by_name[name]
            default = _REQUIRED if bind.required or bind.callable else bind.value
            self.slots.append((name, default,
                               bind.type.dialect_impl(dialect).bind_processor(dialect)))

    def args(self, given: dict[str, Any]) -> tuple | dict:
        """The driver's parameters for the given values (literal binds filled in)."""
        out = []
        for name, default, process in self.slots:
            value = given.get(name, default)
            if value is _REQUIRED:
                raise KeyError(f"a value is required for bind parameter {name!r}")
            out.append(value if process is None else process(value))
        return tuple(out) if self.positional else dict(zip(self.names, out, strict=True))
