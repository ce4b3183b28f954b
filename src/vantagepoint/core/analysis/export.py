"""Streaming exports of results and logs as CSV or Parquet.

Rows are read in pages by id (arrival order), each page in its own short
transaction, so a long download never holds the database. CSV carries a
result's value as JSON text; Parquet writes one row group per page and the
file's footer at the end.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vantagepoint.core.analysis.selection import Selection
from vantagepoint.core.store.models import LogEntry, Result

PAGE = 5000
FORMATS = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class Column:
    name: str
    attribute: str
    arrow: pa.DataType
    encode: Callable[[Any], Any] | None = None  # to the text both formats store


@dataclass(frozen=True)
class ExportTable:
    """A table as exported: its model and its columns in file order."""

    name: str
    model: type
    columns: tuple[Column, ...]

    def schema(self) -> pa.Schema:
        return pa.schema([(c.name, c.arrow) for c in self.columns])

    def rows(self, records) -> list[list[Any]]:
        return [[c.encode(getattr(r, c.attribute)) if c.encode else getattr(r, c.attribute)
                 for c in self.columns] for r in records]


_COMMON = (Column("id", "id", pa.int64()), Column("execution", "execution_id", pa.int64()),
           Column("node", "node_name", pa.string()), Column("action", "action", pa.string()))
TABLES = {
    "results": ExportTable("results", Result, (
        *_COMMON, Column("name", "name", pa.string()), Column("ts", "ts", pa.float64()),
        Column("value", "value", pa.string(), _json),
        Column("value_num", "value_num", pa.float64()))),
    "logs": ExportTable("logs", LogEntry, (
        *_COMMON, Column("ts", "ts", pa.float64()), Column("level", "level", pa.string()),
        Column("message", "message", pa.string()))),
}


def pages(sessions: sessionmaker[Session], table: ExportTable,
          sel: Selection) -> Iterator[list[list[Any]]]:
    """The selected rows as lists of column values, a page at a time, in id order."""
    model, after = table.model, 0
    while True:
        with sessions() as db:
            records = db.scalars(select(model).where(*sel.where(model=model), model.id > after)
                                 .order_by(model.id).limit(PAGE)).all()
            rows = table.rows(records)
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def csv_stream(table: ExportTable, chunks: Iterator[list[list[Any]]]) -> Iterator[bytes]:
    """A header line, then every row; floats written as repr, so they read back exactly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in table.columns])
    for rows in chunks:
        writer.writerows(rows)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


class _Chunks(io.RawIOBase):
    """A write-only file that hands over what was written since the last ``take``."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def parquet_stream(table: ExportTable, chunks: Iterator[list[list[Any]]]) -> Iterator[bytes]:
    """A Parquet file, one row group per page, sent as each group is written."""
    schema, sink = table.schema(), _Chunks()
    writer = pq.ParquetWriter(sink, schema)
    try:
        for rows in chunks:
            columns = list(zip(*rows, strict=True))
            writer.write_table(pa.Table.from_arrays(
                [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)],
                schema=schema))
            yield sink.take()
    finally:
        writer.close()
    yield sink.take()


def stream(sessions: sessionmaker[Session], table: ExportTable, sel: Selection,
           fmt: str) -> Iterator[bytes]:
    """The selected rows of ``table`` as a file of format ``csv`` or ``parquet``."""
    writer = csv_stream if fmt == "csv" else parquet_stream
    return writer(table, pages(sessions, table, sel))
