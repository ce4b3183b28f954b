"""Many rows inserted at once, each distinct value converted for the driver only once.

A periodic schedule on many nodes books thousands of rows that repeat a few values
(the same interfaces, tools and occurrence times on every node). SQLAlchemy's
executemany runs every column's bind processor (JSON encoding, UTC conversion) for
every row, which cost several times the insert itself; here each distinct value of a
column goes through its processor once and the driver's executemany gets the result.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import Compiled
from sqlalchemy.orm import Session


def insert_columns(db: Session, table: Table, values: dict[str, list[Any]]) -> None:
    """Insert rows given column by column (lists of equal length), in the session's transaction."""
    if not values or not next(iter(values.values())):
        return
    conn = db.connection()
    keys = list(values)
    compiled = _compiled(table, conn.dialect, tuple(keys))
    columns = {key: _converted(_processor(table, key, conn.dialect), values[key])
               for key in keys}
    if compiled.positional:
        params: list[Any] = list(zip(*(columns[k] for k in compiled.positiontup), strict=True))
    else:
        params = [dict(zip(keys, values, strict=True))
                  for values in zip(*(columns[k] for k in keys), strict=True)]
    cursor = conn.connection.cursor()  # the driver's own executemany, in the same transaction
    try:
        cursor.executemany(compiled.string, params)
    finally:
        cursor.close()


@functools.lru_cache(maxsize=64)
def _compiled(table: Table, dialect: Dialect, keys: tuple[str, ...]) -> Compiled:
    """The INSERT for these columns, compiled once per table, dialect and column set."""
    # inline: no RETURNING of generated keys, which an executemany has no use for
    compiled = table.insert().inline().compile(dialect=dialect, column_keys=list(keys))
    if compiled.prefetch:  # defaults computed in Python would be skipped by the driver
        missing = ", ".join(c.key for c in compiled.prefetch)
        raise ValueError(f"insert_columns into {table.name}: give {missing} in every row")
    return compiled


@functools.lru_cache(maxsize=256)
def _processor(table: Table, key: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    """What SQLAlchemy would do to a value of this column for this dialect's driver."""
    return table.c[key].type.dialect_impl(dialect).bind_processor(dialect)


def _converted(process: Callable[[Any], Any] | None, values: list[Any]) -> list[Any]:
    """One column's values as the driver takes them, each distinct value processed once."""
    if process is None:
        return values
    if values.count(values[0]) == len(values):  # one value in every row (in C)
        return [process(values[0])] * len(values)
    try:
        seen = {value: process(value) for value in set(values)}
        return list(map(seen.__getitem__, values))
    except TypeError:  # unhashable (lists): remember each distinct one by its items
        return _converted_lists(process, values)


def _converted_lists(process: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    seen: dict[Any, Any] = {}
    out = []
    for value in values:
        key = (list, tuple(value)) if isinstance(value, list) else value
        try:
            if key not in seen:
                seen[key] = process(value)
            out.append(seen[key])
        except TypeError:  # unhashable (nested containers): convert without remembering
            out.append(process(value))
    return out
