"""`vantage archivers`: where ingested results are pushed, and how that goes (admin)."""

from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from vantagepoint.cli.commands._common import (
    DataOption,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    out,
)
from vantagepoint.cli.commands._output import print_json, when

COLUMNS = ("name", "kind", "backlog", "oldest", "delivered", "expired", "dropped", "attempts",
           "failures", "last delivered", "last error")


def _row(item: dict[str, Any]) -> list[str | Text]:
    age = item["oldest_age_seconds"]
    error = item["last_error"] or ""
    if error:
        error = f"{error} ({when(item['last_error_at'])})"
    return [Text(item["name"]), item["kind"], str(item["backlog"]),
            "" if age is None else f"{age:g} s",
            *(str(item[k]) for k in ("delivered", "expired", "dropped", "attempts", "failures")),
            when(item["last_delivered_at"]), Text(error, style="red")]


def archivers(json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
              data: DataOption = None) -> None:
    """Show every archiver: backlog, deliveries, expired and dropped results, last error."""
    with connect(url, token, data) as client:
        found = client.archivers()
    if json:
        print_json(found)
        return
    if not found:
        out.print("no archivers configured (set VANTAGE_ARCHIVERS on the core)")
        return
    table = Table(title="Archivers")
    for column in COLUMNS:
        table.add_column(column)
    for item in found:
        table.add_row(*_row(item))
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("archivers")(archivers)
