"""`vantage study`: create a study from a file, follow its runs, rerun it."""

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

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
from vantagepoint.cli.commands._units import parse_time
from vantagepoint.client.builder import load_document

group = typer.Typer(help="Studies: one scenario template over parameter axes.",
                    no_args_is_help=True)
STATE_STYLES = {"finished": "green", "failed": "red", "canceled": "yellow", "running": "cyan",
                "reserved": "dim"}
NameArgument = Annotated[str, typer.Argument(help="The study's name.")]
RunOption = Annotated[int | None, typer.Option("--run", help="Only this run (default: all).")]


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v.get('name', v) if isinstance(v, dict) else v}"
                     for k, v in params.items())


def run_table(study: dict[str, Any], run: dict[str, Any]) -> Table:
    """One run's combinations: parameters, slot, execution and state."""
    counts = ", ".join(f"{n} {s}" for s, n in sorted(run["states"].items()))
    table = Table(title=f"Study {study['name']}, run {run['number']}"
                        + (f" ({run['note']})" if run["note"] else "") + f": {counts}")
    for column in ("#", "parameters", "scenario", "start", "end", "execution", "state"):
        table.add_column(column, no_wrap=column in ("start", "end"))
    for item in run["items"]:
        state = item["state"]
        table.add_row(str(item["position"]), Text(_params(item["params"])), item["scenario"],
                      when(item["start"]), when(item["end"]), str(item["execution"] or "-"),
                      f"[{STATE_STYLES.get(state, '')}]{state}[/]")
    return table


def _summary(study: dict[str, Any]) -> str:
    axes = " x ".join(f"{k} ({len(v)})" for k, v in study["parameters"].items())
    return (f"study [bold]{study['name']}[/]: {study['combinations']} combinations from "
            f"{axes}; {len(study['runs'])} run(s)")


@group.command("create")
def create(file: Annotated[Path, typer.Argument(help="Study file (.yaml, .yml or .json).")],
           json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
           data: DataOption = None) -> None:
    """Generate, validate, store and schedule one scenario per combination."""
    with connect(url, token, data) as client:
        study = client.create_study(load_document(file))
    if json:
        print_json(study)
        return
    out.print(_summary(study))
    items = study["runs"][0]["items"]
    out.print(f"run 1 booked back to back from {when(items[0]['start'])} "
              f"to {when(items[-1]['end'])}")


@group.command("status")
def status(name: NameArgument, run: RunOption = None, json: JsonOption = False,
           url: UrlOption = None, token: TokenOption = None, data: DataOption = None) -> None:
    """Each run's combinations with their parameters, slots and execution states."""
    with connect(url, token, data) as client:
        study = client.study(name)
    runs = [r for r in study["runs"] if run is None or r["number"] == run]
    if json:
        print_json({**study, "runs": runs})
        return
    out.print(_summary(study))
    for r in runs:
        out.print(run_table(study, r))


@group.command("rerun")
def rerun(name: NameArgument,
          start: Annotated[str | None, typer.Option(
              "--start", help="Not before this time (RFC 3339 or +10m); default: "
                              "first fit from now.")] = None,
          note: Annotated[str, typer.Option("--note", help="Why, e.g. 'firmware 2.1'.")] = "",
          json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
          data: DataOption = None) -> None:
    """Repeat the whole study as a new run; earlier runs stay beside it."""
    when_start = parse_time(start, "--start") if start else None
    with connect(url, token, data) as client:
        booked = client.rerun_study(name, start=when_start, note=note)
    if json:
        print_json(booked)
        return
    states = Counter(i["state"] for i in booked["items"])
    out.print(f"run {booked['number']} of study [bold]{name}[/]: {sum(states.values())} "
              f"combinations from {when(booked['items'][0]['start'])} to "
              f"{when(booked['items'][-1]['end'])}")


@group.command("list")
def list_studies(json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
                 data: DataOption = None) -> None:
    """Your studies and their runs."""
    with connect(url, token, data) as client:
        found = client.studies()
    if json:
        print_json(found)
        return
    for study in found:
        out.print(_summary(study))


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="study")
