"""`vantage testbed up|down|status`: a virtual testbed of network namespaces on this host."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from vantagepoint.cli.commands._common import JsonOption, fail, out
from vantagepoint.cli.commands._output import print_json

app = typer.Typer(name="testbed", no_args_is_help=True,
                  help="A virtual testbed on this host: nodes as network namespaces, "
                       "links as veth pairs with rate limits and emulated impairments "
                       "(needs root).")

RunDirOption = Annotated[Path, typer.Option(
    "--run-dir", help="Where the state file, logs, core database and agent spools go.",
)]
PrefixOption = Annotated[str, typer.Option(
    "--prefix", help="Name prefix of every namespace and link the testbed makes.",
)]
DEFAULT_RUN_DIR = Path("vantage-testbed")
DEFAULT_PREFIX = "vp-"


@contextmanager
def _reported() -> Iterator[None]:
    """TestbedError as a red message and exit status 1."""
    from vantagepoint.testbed import TestbedError

    try:
        yield
    except TestbedError as exc:
        fail(str(exc))


def _link_text(link: dict[str, Any]) -> str:
    """E.g. `10 Mbit/s, 20±1 ms, 1% loss`; `plain` for an unlimited wire."""
    parts = [f"{link['rate_mbit']:g} Mbit/s"] if "rate_mbit" in link else []
    if link.get("delay_ms") or link.get("jitter_ms"):
        jitter = f"±{link['jitter_ms']:g}" if link.get("jitter_ms") else ""
        parts.append(f"{link.get('delay_ms', 0):g}{jitter} ms")
    parts += [f"{link[key]:g}% {word}" for key, word in
              (("loss_pct", "loss"), ("reorder_pct", "reorder")) if link.get(key)]
    return ", ".join(parts) or "plain"


def _nodes_table(plan: dict[str, Any]) -> Table:
    table = Table(title="Testbed nodes")
    for column in ("node", "namespace", "mgmt", "interface", "address", "operator", "link"):
        table.add_column(column, no_wrap=column != "link")
    for node in plan.get("nodes", []):
        for k, iface in enumerate(node["interfaces"]):
            first = k == 0
            link = _link_text(iface["link"]) + (" (emulated)" if iface["emulated"] else "")
            table.add_row(node["name"] if first else "", node["namespace"] if first else "",
                          node["mgmt"] if first else "", iface["name"], iface["address"],
                          Text(iface["operator"]), link)
    return table


def _banner(bed: Any, run_dir: Path) -> None:
    """Where everything is, and what to try next."""
    data_flag = f"--data {run_dir}"
    out.print(f"[bold green]testbed is up[/]: {len(bed.nodes)} nodes, core at "
              f"[bold]{bed.core_url}[/]")
    out.print(_nodes_table(bed.state.plan))
    out.print(f"  admin token  {bed.run_dir / 'admin-token'}")
    out.print(f"  logs         {bed.run_dir / 'logs'}")
    out.print(f"  state        {bed.state.path}")
    out.print(f"  in a node    ip netns exec {bed.nodes[0].namespace} ping "
              f"{bed.nodes[-1].interfaces[0].address}")
    out.print(f"next: [bold]vantage nodes {data_flag}[/]; "
              f"remove it all with [bold]vantage testbed down --run-dir {run_dir}[/]")


@app.command("up")
def up(
    nodes: Annotated[int, typer.Option("--nodes", "-n", help="Number of nodes.")] = 2,
    interfaces: Annotated[int, typer.Option(
        "--interfaces", "-k", help="Measurement interfaces per node (op0..), one per operator.",
    )] = 1,
    links: Annotated[Path | None, typer.Option(
        "--links", help="YAML: operators, defaults and per node/interface rate_mbit, "
                        "delay_ms, jitter_ms, loss_pct, reorder_pct, queue_ms.",
    )] = None,
    run_dir: RunDirOption = DEFAULT_RUN_DIR,
    core_url: Annotated[str | None, typer.Option(
        "--core-url", help="Use this core instead of starting one (it must listen where "
                           "the nodes reach it: 0.0.0.0 or 198.19.0.1).",
    )] = None,
    token: Annotated[str | None, typer.Option(
        "--token", envvar="VANTAGE_TOKEN", show_default=False,
        help="Admin token of --core-url (default: $VANTAGE_TOKEN).",
    )] = None,
    port: Annotated[int, typer.Option("--port", help="Port of the testbed's own core.")] = 8080,
    no_agents: Annotated[bool, typer.Option("--no-agents", help="Start no agents.")] = False,
    prefix: PrefixOption = DEFAULT_PREFIX,
) -> None:
    """Create the nodes, links and emulators, start a core and one agent per node; return."""
    from vantagepoint.testbed import Testbed

    with _reported():
        bed = Testbed.up(nodes, interfaces, links, run_dir=run_dir, core_url=core_url,
                         admin_token=token, core_port=port, start_agents=not no_agents,
                         prefix=prefix)
    _banner(bed, run_dir)


@app.command("down")
def down(run_dir: RunDirOption = DEFAULT_RUN_DIR, prefix: PrefixOption = DEFAULT_PREFIX) -> None:
    """Stop every process and remove every namespace and link the testbed made."""
    from vantagepoint.testbed import down as remove

    with _reported():
        removed = remove(run_dir, prefix)
    for item in removed:
        out.print(f"  removed {item}", markup=False, highlight=False)
    out.print("testbed is down" if removed else "nothing to remove")


@app.command("status")
def status(run_dir: RunDirOption = DEFAULT_RUN_DIR, prefix: PrefixOption = DEFAULT_PREFIX,
           json: JsonOption = False) -> None:
    """The testbed's nodes, processes, namespaces and links as they are now."""
    from vantagepoint.testbed import status as current

    with _reported():
        found = current(run_dir, prefix)
    if json:
        print_json(found)
        return
    if found["state_file"] is None and not (found["namespaces"] or found["links"]):
        out.print("no testbed is up")
        return
    out.print(f"core {found['core_url'] or '-'}; state {found['state_file'] or 'missing'}")
    out.print(_nodes_table(found["plan"]))
    for process in found["processes"]:
        alive = "[green]running[/]" if process["alive"] else "[red]stopped[/]"
        out.print(f"  {process['role']:<9} {process['name']:<10} pid {process['pid']:<8} "
                  f"{alive}  {process['log']}")
    out.print(f"namespaces: {', '.join(found['namespaces']) or '-'}")
    out.print(f"links: {', '.join(found['links']) or '-'}")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="testbed")
