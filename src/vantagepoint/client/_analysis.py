"""The analysis part of the client: statistics, time buckets, exports and daily dumps."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from vantagepoint.errors import Conflict

TimeLike = datetime | float | None
DUMP_TABLES = ("results", "logs")
MANIFEST = "MANIFEST.json"


def _epoch(value: TimeLike) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else value


def _by(by: str | list[str] | None) -> str | None:
    return ",".join(by) if isinstance(by, list | tuple) else by


class AnalysisMixin:
    """Methods of `Client` over the /stats and /export routes."""

    def _filters(self, execution: int | None, node: str | None, action: str | None,
                 since: TimeLike, until: TimeLike) -> dict[str, Any]:
        return {"execution": execution, "node": node, "action": action,
                "since": _epoch(since), "until": _epoch(until)}

    def stats(self, name: str, by: str | list[str] | None = None,
              percentiles: list[float] | None = None, *, execution: int | None = None,
              node: str | None = None, action: str | None = None, since: TimeLike = None,
              until: TimeLike = None) -> dict[str, Any]:
        """Count, min, max, mean, stddev, percentiles and loss of a result per group
        (``by``: node, interface, action, execution, param:<name>); StatsOut."""
        params = {"name": name, "by": _by(by),
                  "percentiles": ",".join(f"{q:g}" for q in percentiles)
                  if percentiles is not None else None,
                  **self._filters(execution, node, action, since, until)}
        return self.request("GET", "/stats", params=params)

    def buckets(self, name: str, buckets: int = 500, by: str | list[str] | None = None, *,
                execution: int | None = None, node: str | None = None,
                action: str | None = None, since: TimeLike = None,
                until: TimeLike = None) -> dict[str, Any]:
        """A result cut into time buckets (count, min, max, mean each) for charts;
        BucketsOut."""
        params = {"name": name, "buckets": buckets, "by": _by(by),
                  **self._filters(execution, node, action, since, until)}
        return self.request("GET", "/stats/buckets", params=params)

    def export(self, sink: BinaryIO | str | Path, table: str = "results", format: str = "csv",
               *, name: str | None = None, execution: int | None = None,
               node: str | None = None, action: str | None = None, since: TimeLike = None,
               until: TimeLike = None) -> int:
        """Stream results or logs as CSV or Parquet into a file or path; bytes written."""
        params = {"format": format, "name": name,
                  **self._filters(execution, node, action, since, until)}
        if isinstance(sink, str | Path):
            with open(sink, "wb") as handle:
                return self._http.stream_to(f"/export/{table}", handle, params)
        return self._http.stream_to(f"/export/{table}", sink, params)

    def atlas(self, kind: str | None = None, *, execution: int | None = None,
              node: str | None = None, action: str | None = None, since: TimeLike = None,
              until: TimeLike = None) -> list[dict[str, Any]]:
        """Ping and traceroute runs as RIPE Atlas results (``kind``: ping or traceroute)."""
        params = {"type": kind, **self._filters(execution, node, action, since, until)}
        return self.request("GET", "/export/atlas", params=params)

    def dump_day(self, directory: str | Path, day: date, *, force: bool = False,
                 tables: tuple[str, ...] = DUMP_TABLES) -> dict[str, Any] | None:
        """Write one CSV per table of a finished UTC day into DIRECTORY/YYYY-MM-DD/.

        Idempotent: a day whose manifest exists is left alone (None) unless ``force``.
        The manifest, written last, lists each file's rows, bytes and SHA-256.
        """
        start = datetime.combine(day, datetime.min.time(), UTC)
        end = start + timedelta(days=1)
        if end > datetime.now(UTC):
            raise Conflict(f"{day.isoformat()} is not over yet (UTC); dump it tomorrow")
        folder = Path(directory) / day.isoformat()
        if (folder / MANIFEST).exists() and not force:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        files = {t: self._dump_table(folder, t, start, end) for t in tables}
        manifest = {"day": day.isoformat(), "since": start.timestamp(),
                    "until": end.timestamp(), "created": datetime.now(UTC).isoformat(),
                    "files": files}
        _replace(folder / MANIFEST, json.dumps(manifest, indent=2).encode())
        return manifest

    def _dump_table(self, folder: Path, table: str, start: datetime,
                    end: datetime) -> dict[str, Any]:
        target = folder / f"{table}.csv"
        part = target.with_name(target.name + ".part")
        self.export(part, table, "csv", since=start, until=end)
        with open(part, newline="") as handle:
            rows = sum(1 for _ in csv.reader(handle)) - 1
        with open(part, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        os.replace(part, target)
        return {"file": target.name, "rows": rows, "bytes": target.stat().st_size,
                "sha256": digest}


def _replace(path: Path, data: bytes) -> None:
    """Write a file whole or not at all."""
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    os.replace(part, path)
