"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes, stored naive-UTC so SQLite keeps them exact."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the store only takes UTC-aware times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class _SQLiteJSONText(sqlite.JSON):
    """SQLite's JSON type in a column declared TEXT."""


@compiles(_SQLiteJSONText, "sqlite")
def _declared_text(type_, compiler, **kw) -> str:
    return "TEXT"


# JSON that may be a bare number (a result's value). SQLite gives a column declared
# JSON numeric affinity: it would store the text 0.066434 as a REAL parsed by its own
# reader, which is not correctly rounded (3.40 reads 0.06643399999999999). Declared
# TEXT, the column keeps the JSON text exactly as sent (migration 0022).
ScalarJSON = JSON().with_variant(_SQLiteJSONText(), "sqlite")
