"""`vantage files EXECUTION`: list an execution's result files; `--get ID` downloads one."""

from pathlib import Path
from typing import Annotated

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

COLUMNS = ("id", "node", "action", "path", "state", "size")


def files(
    execution_id: Annotated[int, typer.Argument(help="Execution id.")],
    node: Annotated[str | None, typer.Option("--node", help="Only this node's files.")] = None,
    get: Annotated[int | None, typer.Option("--get", help="Download the file with this id.")]
    = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Where --get writes (default: the file's name).")] = None,
    json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """List the files of an execution (experiments' /monroe/results, fetched files)."""
    with connect(url, token, data) as client:
        listed = client.result_files(execution_id, node=node)
        if get is not None:
            entry = next((f for f in listed if f["id"] == get), None)
            name = Path(entry["path"]).name if entry else f"file-{get}"
            target = output or Path(name)
            target.write_bytes(client.download_file(get))
            out.print(f"wrote {target}", markup=False)
            return
    if json:
        print_json(listed)
        return
    table = Table(title=f"{len(listed)} files of execution {execution_id}")
    for column in COLUMNS:
        table.add_column(column)
    for item in listed:
        table.add_row(*(str(item.get(c) if item.get(c) is not None else "") for c in COLUMNS))
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("files")(files)
