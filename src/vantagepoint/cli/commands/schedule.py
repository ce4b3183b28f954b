"""`vantage schedule FILE_OR_SCENARIO --duration S`: book time slots for a scenario."""

from datetime import UTC, datetime
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
from vantagepoint.cli.commands._units import (
    parse_duration,
    parse_time,
    show_duration,
    show_size,
)
from vantagepoint.client import Scenario

SPEC_SUFFIXES = (".yaml", ".yml", ".json")
LOW_PRIORITY = ("low", "low_priority", "low-priority")

ScenarioArgument = Annotated[str, typer.Argument(
    metavar="FILE_OR_SCENARIO", show_default=False,
    help="A spec file (.yaml, .yml, .json), submitted first, or a stored scenario's name.")]
DurationOption = Annotated[str, typer.Option(
    "--duration", "-d", metavar="DURATION", show_default=False,
    help="Length of each occurrence: seconds, or 30s, 5m, 2h, 1d, 1h30m.")]
StartOption = Annotated[str, typer.Option(
    "--start", metavar="TIME|earliest|low",
    help="TIME (RFC 3339, 'now' or relative like +10m): exactly then; earliest: the first "
         "free slot from now; low: low priority, whenever the nodes are idle, unreserved.")]
EveryOption = Annotated[str | None, typer.Option(
    "--every", metavar="DURATION", show_default=False,
    help="Repeat with this period (seconds or 30m, 2h, 1d).")]
UntilOption = Annotated[str | None, typer.Option(
    "--until", metavar="TIME", show_default=False,
    help="With --every: no occurrence starts at or after this time.")]
NodesOption = Annotated[str | None, typer.Option(
    "--nodes", metavar="N1,N2", show_default=False,
    help="Explicit nodes, bound to the scenario's roles in order.")]
FilterOption = Annotated[str | None, typer.Option(
    "--filter", metavar="EXPR", show_default=False,
    help="Choose nodes by attributes, e.g. 'type=deployed and (country=se or country=no) "
         "and not model=apu1'; keys: any attribute, name, status, interfaces.")]
CountOption = Annotated[int | None, typer.Option(
    "--count", min=1, show_default=False, help="With --filter: how many nodes.")]
MinInterfacesOption = Annotated[int | None, typer.Option(
    "--min-interfaces", min=0, show_default=False,
    help="Only nodes with at least this many interfaces.")]
RoleOption = Annotated[list[str] | None, typer.Option(
    "--role", metavar="ROLE=N1,N2", show_default=False,
    help="Bind a role of the scenario to nodes (repeatable).")]
DryRunOption = Annotated[bool, typer.Option(
    "--dry-run", help="Show the slots that would be booked; book nothing.")]


def schedule(scenario: ScenarioArgument, duration: DurationOption,
             start: StartOption = "earliest", every: EveryOption = None,
             until: UntilOption = None, nodes: NodesOption = None, filter: FilterOption = None,
             count: CountOption = None, min_interfaces: MinInterfacesOption = None,
             role: RoleOption = None, dry_run: DryRunOption = False, json: JsonOption = False,
             url: UrlOption = None, token: TokenOption = None, data: DataOption = None) -> None:
    """Book a scenario's occurrences on nodes; prints the slots and what they cost.

    A periodic or multi-node request is booked whole or refused whole; each refusal is
    printed and the exit status is 1.
    """
    now = datetime.now(UTC)  # one "now" for every relative time of the request
    request = {"duration": parse_duration(duration), **start_mode(start, now),
               **period(every, until, now), **node_choice(nodes, filter, count, role),
               "min_interfaces": min_interfaces, "dry_run": dry_run}
    with connect(url, token, data) as client:
        booked = client.schedule(scenario_source(scenario), **request)
    if json:
        print_json(booked)
    else:
        print_schedule(booked)


def start_mode(start: str, now: datetime | None = None) -> dict[str, Any]:
    """The mode and start time of a --start value."""
    if start.strip().lower() == "earliest":
        return {"mode": "earliest"}
    if start.strip().lower() in LOW_PRIORITY:
        return {"mode": "low_priority"}
    return {"mode": "at", "start": parse_time(start, "--start", now)}


def period(every: str | None, until: str | None,
           now: datetime | None = None) -> dict[str, Any]:
    """The period and span end of a periodic request."""
    if until is not None and every is None:
        raise typer.BadParameter("--until needs --every", param_hint="--until")
    return {"every": None if every is None else parse_duration(every, "--every"),
            "until": None if until is None else parse_time(until, "--until", now)}


def node_choice(nodes: str | None, filter: str | None, count: int | None,
                roles: list[str] | None) -> dict[str, Any]:
    """At most one of --nodes, --filter (with --count) and --role, checked here."""
    given = [name for name, value in (("--nodes", nodes), ("--filter", filter),
                                      ("--role", roles)) if value is not None]
    if len(given) > 1:
        raise typer.BadParameter(f"give only one of {', '.join(given)}", param_hint=given[1])
    return {"nodes": None if nodes is None else node_list(nodes, "--nodes"),
            "filter": None if filter is None else checked_filter(filter),
            "count": count, "roles": parse_roles(roles) if roles else None}


def node_list(text: str, option: str) -> list[str]:
    """``n1,n2`` as a list; an empty name is a usage error."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise typer.BadParameter(f"expected node names separated by commas, got {text!r}",
                                 param_hint=option)
    return names


def parse_roles(values: list[str]) -> dict[str, list[str]]:
    """``ROLE=N1,N2`` values as a role binding; each role once."""
    roles: dict[str, list[str]] = {}
    for value in values:
        role, sep, names = value.partition("=")
        if not sep or not role.strip():
            raise typer.BadParameter(f"expected ROLE=N1,N2, got {value!r}", param_hint="--role")
        if role.strip() in roles:
            raise typer.BadParameter(f"role {role.strip()!r} given twice", param_hint="--role")
        roles[role.strip()] = node_list(names, "--role")
    return roles


def checked_filter(text: str) -> str:
    """The filter as given, once it parses; else a usage error saying where and what."""
    from vantagepoint.core.scheduler.filters import parse_filter  # the core is slow to import
    from vantagepoint.errors import Invalid

    try:
        parse_filter(text)
    except Invalid as exc:
        raise typer.BadParameter("; ".join(p.message for p in exc.problems),
                                 param_hint="--filter") from None
    return text


def scenario_source(argument: str) -> str | Scenario:
    """A spec file's scenario (to submit first), or the stored scenario's name."""
    path = Path(argument)
    if path.is_file() or path.suffix.lower() in SPEC_SUFFIXES:
        return Scenario.from_file(path)
    return argument


def occurrence_table(booked: dict[str, Any]) -> Table:
    """Every occurrence of a schedule: index, start, end, nodes, state."""
    title = "Dry run: would book" if booked.get("dry_run") else f"Schedule {booked.get('id')}"
    table = Table(title=f"{title} ({booked.get('scenario')}, {booked.get('mode')})")
    for column in ("#", "start", "end", "nodes", "state"):
        table.add_column(column, no_wrap=column in ("start", "end"))
    for occ in booked.get("occurrences", []):
        table.add_row(str(occ["index"]), when(occ["start"]), when(occ["end"]),
                      Text(", ".join(occ["nodes"])), occ.get("state", ""))
    return table


def print_schedule(booked: dict[str, Any]) -> None:
    """The occurrence table and a line with what was (or would be) debited."""
    if booked.get("mode") == "low_priority" and not booked.get("occurrences"):
        out.print(f"schedule {booked.get('id')} ({booked.get('scenario')}) waits at low "
                  f"priority: it runs whenever its nodes are idle for "
                  f"{show_duration(booked.get('duration', 0))}", markup=False)
        return
    out.print(occurrence_table(booked))
    verb = "would debit" if booked.get("dry_run") else "debited"
    out.print(f"{len(booked.get('occurrences', []))} occurrence(s); {verb} "
              f"{show_duration(booked.get('node_seconds', 0))} of node time and "
              f"{show_size(booked.get('data_bytes', 0))} of data", markup=False)


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule)
