"""A study's overview as a grid: rows and columns are parameter values, cells the runs.

One axis (by default the last) spreads across the columns; every combination of
the other axes is a row, in the study document's order. A cell holds each run's
item for that combination side by side: its state, its execution and the chosen
statistic of a result of that execution. Pure functions over the API's models.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from vantagepoint.wire import StudyOut

STATISTICS = ("mean", "min", "max", "stddev", "p50", "p90", "p95", "p99", "loss_pct", "count")


def label(value: Any) -> str:
    """How a parameter value reads in a header: an object by its ``name``, else as JSON."""
    if isinstance(value, dict) and "name" in value:
        return str(value["name"])
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@dataclass
class Entry:
    """One run's item in one cell."""

    run: int
    state: str
    execution: int | None
    value: float | None = None


@dataclass
class Grid:
    row_axes: list[str]
    col_axis: str | None
    rows: list[tuple[str, ...]]
    cols: list[str]
    cells: dict[tuple[tuple[str, ...], str], list[Entry]] = field(default_factory=dict)

    def cell(self, row: tuple[str, ...], col: str) -> list[Entry]:
        return self.cells.get((row, col), [])

    def entries(self) -> list[Entry]:
        return [e for cell in self.cells.values() for e in cell]


def build(study: StudyOut, col_axis: str | None) -> Grid:
    """The grid of ``study`` with ``col_axis`` (a parameter name, or None) across."""
    axes = list(study.parameters)
    if col_axis not in axes:
        col_axis = axes[-1] if len(axes) > 1 else None
    row_axes = [a for a in axes if a != col_axis]
    rows = list(itertools.product(*([label(v) for v in study.parameters[a]] for a in row_axes)))
    cols = [label(v) for v in study.parameters[col_axis]] if col_axis else [""]
    grid = Grid(row_axes, col_axis, rows, cols)
    for run in study.runs:
        for item in run.items:
            row = tuple(label(item.params.get(a)) for a in row_axes)
            col = label(item.params.get(col_axis)) if col_axis else ""
            grid.cells.setdefault((row, col), []).append(
                Entry(run.number, item.state, item.execution))
    return grid


def pick(stats: dict[str, Any], statistic: str) -> float | None:
    """One statistic out of a stats group (as GET /stats answers it)."""
    if statistic.startswith("p"):
        return stats["percentiles"].get(statistic[1:])
    return stats.get(statistic)


def result_names(template: dict[str, Any]) -> list[str]:
    """The result names the study's actions record, in the template's order."""
    names: list[str] = []
    for task in template.get("tasks", []):
        for action in task.get("actions", []):
            for name in action.get("results", []):
                if isinstance(name, str) and name not in names:
                    names.append(name)
    return names
