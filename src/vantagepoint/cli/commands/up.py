"""`vantage up`: the embedded default — a SQLite core and a local agent, no setup."""

from pathlib import Path
from typing import Annotated

import typer

from vantagepoint.cli.commands._common import fail, out
from vantagepoint.cli.commands._local import (
    LOCAL_NODE,
    LocalStack,
    StackError,
    interrupt_on_sigterm,
    local_stack,
    port_free,
)

DEFAULT_DATA = Path("vantage-data")


def _banner(stack: LocalStack, data: Path, agent: bool) -> None:
    """Where everything is, and what to try next."""
    data_flag = "" if data == DEFAULT_DATA else f" --data {data}"
    out.print(f"[bold green]vantagepoint is up[/] at [bold]{stack.url}[/]")
    out.print(f"  dashboard    {stack.url}/")
    out.print(f"  API docs     {stack.url}/docs")
    out.print(f"  admin token  {data / 'admin-token'} (the CLI reads it from there)")
    out.print(f"  logs         {data / 'core.log'}" + (f", {data / 'agent.log'}" if agent else ""))
    if agent:
        out.print(f"  local node   {LOCAL_NODE!r} (agent started)")
    out.print(f"next: [bold]vantage run examples/ping.yaml --duration 10{data_flag}[/]")
    out.print("Ctrl-C stops everything.", style="dim")


def up(
    data: Annotated[Path, typer.Option("--data", help="Data directory.")] = DEFAULT_DATA,
    port: Annotated[int, typer.Option("--port", help="Port of the core.")] = 8080,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    no_agent: Annotated[bool, typer.Option("--no-agent", help="Start no local agent.")] = False,
) -> None:
    """Start a local core (SQLite in DATA) and a local agent; Ctrl-C stops both."""
    if not port_free(host, port):
        fail(f"port {port} on {host} is in use; pass --port")
    interrupt_on_sigterm()
    try:
        with local_stack(data, host, port, agent=not no_agent) as stack:
            _banner(stack, data, agent=not no_agent)
            stack.wait_forever()
    except StackError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        out.print("stopped")


def register(app: typer.Typer) -> None:
    app.command("up")(up)
