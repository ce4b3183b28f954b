"""Shared renderings: JSON, times, log lines and the per-result summary table."""

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

LEVEL_STYLES = {"debug": "dim", "info": "", "warning": "yellow", "error": "red"}


def print_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    print(json.dumps(data, indent=2, default=str))


def jsonable(item: Any) -> Any:
    """A pydantic model or a list of them as plain JSON data."""
    if isinstance(item, list):
        return [jsonable(i) for i in item]
    return item.model_dump(mode="json") if hasattr(item, "model_dump") else item


def when(value: float | str | datetime | None) -> str:
    """A timestamp (epoch seconds or RFC 3339) as local `YYYY-MM-DD HH:MM:SS`."""
    if value is None or value == "":
        return "-"
    if isinstance(value, (int, float)):
        moment = datetime.fromtimestamp(value).astimezone()
    else:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def log_line(line: dict[str, Any]) -> Text:
    """One execution log line: time, level, where, message."""
    where = "/".join(p for p in (line.get("node"), line.get("action")) if p) or "core"
    level = str(line.get("level", "info"))
    text = Text(f"{when(line.get('ts'))} ", style="dim")
    text.append(f"{level:<7} ", style=LEVEL_STYLES.get(level, ""))
    text.append(f"{where}: ", style="cyan")
    text.append(str(line.get("message", "")))
    return text


def print_logs(console: Console, lines: list[dict[str, Any]]) -> None:
    """Log lines, one per output line whatever the width (so grep finds them)."""
    for line in lines:
        console.print(log_line(line), soft_wrap=True)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def summarize(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Count, min, avg and max of each (action, result name); stats only over numbers."""
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for item in results:
        groups[(item["action"], item["name"])].append(item["value"])
    rows = []
    for (action, name), values in sorted(groups.items()):
        numbers = [n for n in map(_number, values) if n is not None]
        stats = (min(numbers), sum(numbers) / len(numbers), max(numbers)) if numbers else None
        rows.append({"action": action, "name": name, "count": len(values),
                     "min": stats and stats[0], "avg": stats and stats[1],
                     "max": stats and stats[2]})
    return rows


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}".rstrip("0").rstrip(".")


def summary_table(results: list[dict[str, Any]], title: str = "Results") -> Table:
    """A table of `summarize(results)`."""
    table = Table(title=title)
    for column in ("action", "result", "count", "min", "avg", "max"):
        table.add_column(column, justify="left" if column in ("action", "result") else "right")
    for row in summarize(results):
        table.add_row(row["action"], row["name"], str(row["count"]),
                      _fmt(row["min"]), _fmt(row["avg"]), _fmt(row["max"]))
    return table
