"""`vantage retention`: how long results are kept, and the results partitions (admin)."""

from datetime import UTC, datetime

import typer
from rich.table import Table

from vantagepoint.cli.commands._common import (
    DataOption,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    out,
)
from vantagepoint.cli.commands._output import print_json


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def retention(json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
              data: DataOption = None) -> None:
    """Show the retention rules (set by VANTAGE_RETENTION_DAYS) and the partitions."""
    with connect(url, token, data) as client:
        found = client.storage()
    if json:
        print_json(found)
        return
    if not found["rules"]:
        out.print("every result is kept forever (set VANTAGE_RETENTION_DAYS on the core)")
    else:
        table = Table(title="Retention (results no rule names are kept forever)")
        for column in ("pattern", "days", "applies to"):
            table.add_column(column)
        for rule in found["rules"]:
            table.add_row(rule["pattern"], f"{rule['days']:g}", rule["applies_to"])
        out.print(table)
    if found["partitioned"]:
        weeks = found["partitions"]
        span = f"{_day(weeks[0]['start'])} to {_day(weeks[-1]['end'])}" if weeks else "none"
        out.print(f"results partitions: {len(weeks)} weekly ({span}) and a default one")


def register(app: typer.Typer) -> None:
    app.command("retention")(retention)
