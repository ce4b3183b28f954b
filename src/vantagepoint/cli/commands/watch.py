"""`vantage watch`: follow results, alarms, state changes and node status as they happen."""

import json as jsonlib
from typing import Annotated, Any

import typer
from rich.text import Text

from vantagepoint.cli.commands._common import (
    DataOption,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    out,
)
from vantagepoint.cli.commands._output import when

KINDS = ("result", "alarm", "state", "node")
STYLES = {"result": "", "alarm": "bold red", "state": "cyan", "node": "magenta"}


def describe(event: dict[str, Any]) -> str:
    """One event as a short sentence."""
    d, kind = event["data"], event["kind"]
    if kind == "result":
        return f"{d['action']}.{d['name']} = {jsonlib.dumps(d['value'])[:200]}"
    if kind == "alarm":
        return f"ALARM {d['id']}: {d['condition']} (value {d['value']:g}) on {d['action']}"
    if kind == "state":
        what = "execution" if event.get("node") is None else "part"
        reason = f" ({d['reason']})" if d.get("reason") else ""
        return f"{what} {d.get('previous') or '-'} -> {d['state']}{reason}"
    return f"node {'online' if d['online'] else 'offline'}, {d['status']}"


def event_line(event: dict[str, Any]) -> Text:
    d, kind = event["data"], event["kind"]
    stamp = when(d["ts"]) if "ts" in d else when(None)
    where = "/".join(str(p) for p in (event.get("execution"), event.get("node"))
                     if p is not None) or "-"
    text = Text(f"{stamp} ", style="dim")
    text.append(f"{kind:<6} ", style=STYLES[kind])
    text.append(f"{where}: ", style="cyan")
    text.append(describe(event), style=STYLES[kind] if kind == "alarm" else "")
    return text


def watch(
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", help=f"Only these kinds ({', '.join(KINDS)}); repeat the option.")] = None,
    execution: Annotated[int | None, typer.Option("--execution", help="Only of it.")] = None,
    node: Annotated[str | None, typer.Option("--node", help="Only of this node.")] = None,
    count: Annotated[int | None, typer.Option("--count", min=1,
                                              help="Stop after this many events.")] = None,
    json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """Follow the live stream until interrupted (Ctrl-C)."""
    bad = sorted(set(kind or ()) - set(KINDS))
    if bad:
        raise typer.BadParameter(f"unknown kind(s) {', '.join(bad)}; use {', '.join(KINDS)}",
                                 param_hint="--kind")
    seen = 0
    with connect(url, token, data) as client, client.stream(kind, execution, node) as stream:
        for event in stream:
            if json:
                print(jsonlib.dumps(event), flush=True)
            else:
                out.print(event_line(event))
            seen += 1
            if count is not None and seen >= count:
                return


def register(app: typer.Typer) -> None:
    app.command("watch")(watch)
