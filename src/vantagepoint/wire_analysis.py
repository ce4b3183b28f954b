"""Wire models of the analysis routes: statistics, time buckets (unknown fields refused)."""

from __future__ import annotations

from pydantic import Field

from vantagepoint.wire import Wire

KeyValue = str | int | None


class GroupStatsOut(Wire):
    """Statistics of one group; numbers only over results whose value is a number."""

    key: dict[str, KeyValue] = Field(description="The group's value of each group key.")
    count: int = Field(description="Results in the group.")
    numeric: int = Field(description="Of those, results whose value is a number.")
    min: float | None
    max: float | None
    mean: float | None
    stddev: float | None = Field(description="Sample standard deviation (n - 1).")
    percentiles: dict[str, float | None] = Field(
        description="Linear interpolation between closest ranks (percentile_cont).")
    sent: int | None = Field(None, description="Packets sent (the tools' `sent` results).")
    received: int | None = Field(None, description="Packets received (`received` results).")
    loss_pct: float | None = Field(None, description="100 * (1 - received / sent).")


class StatsOut(Wire):
    name: str
    by: list[str]
    since: float | None
    until: float | None
    groups: list[GroupStatsOut]


class BucketOut(Wire):
    start: float = Field(description="Epoch seconds where the bucket begins.")
    count: int
    numeric: int
    min: float | None
    max: float | None
    mean: float | None


class SeriesOut(Wire):
    key: dict[str, KeyValue]
    buckets: list[BucketOut] = Field(description="Non-empty buckets, in time order.")


class BucketsOut(Wire):
    name: str
    by: list[str]
    since: float | None
    until: float | None
    width: float | None = Field(description="Seconds per bucket.")
    buckets: int
    series: list[SeriesOut]
