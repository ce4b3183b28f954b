"""`vantage unschedule ID`: cancel a schedule's future occurrences and stop running ones."""

from typing import Annotated

import typer

from vantagepoint.cli.commands._common import (
    DataOption,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    out,
)
from vantagepoint.cli.commands._output import print_json


def unschedule(
    schedule_id: Annotated[int, typer.Argument(metavar="ID", help="The schedule's id.")],
    json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """Cancel a schedule: future occurrences are dropped (quota refunded), running ones stop."""
    with connect(url, token, data) as client:
        canceled = client.cancel_schedule(schedule_id)
    if json:
        print_json(canceled)
        return
    occurrences = canceled.get("occurrences", [])
    dropped = sum(1 for occ in occurrences if occ.get("state") == "canceled")
    out.print(f"schedule {canceled.get('id')} ({canceled.get('scenario')}) is now "
              f"{canceled.get('state')}: {dropped} of {len(occurrences)} occurrence(s) "
              "canceled", markup=False)


def register(app: typer.Typer) -> None:
    app.command("unschedule")(unschedule)
