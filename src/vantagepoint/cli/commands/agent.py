"""`vantage agent`: run a node's agent against a core (blocking)."""

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from vantagepoint.cli.commands._common import fail, parse_pairs
from vantagepoint.cli.commands._local import interrupt_on_sigterm
from vantagepoint.config import AgentSettings


def _settings(given: dict) -> AgentSettings:
    """Settings from the given options; the rest from VANTAGE_AGENT_* or defaults."""
    try:
        settings = AgentSettings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        fail(f"bad agent settings: {exc}")
    if not settings.token:
        fail("no node token: pass --token or set VANTAGE_AGENT_TOKEN "
             "(an admin issues one with `vantage node-token NODE`)")
    if not settings.name:
        fail("no node name: pass --name or set VANTAGE_AGENT_NAME")
    return settings


def agent(
    core: Annotated[str | None, typer.Option(
        "--core", help="Core URL (default: $VANTAGE_AGENT_CORE_URL, else http://127.0.0.1:8080).",
        show_default=False,
    )] = None,
    token: Annotated[str | None, typer.Option(
        "--token", help="Node token (default: $VANTAGE_AGENT_TOKEN).", show_default=False,
    )] = None,
    name: Annotated[str | None, typer.Option("--name", help="This node's name.")] = None,
    interface: Annotated[list[str] | None, typer.Option(
        "--interface", "-i", help="Measurement interface NAME=DEVICE (repeatable).",
    )] = None,
    attr: Annotated[list[str] | None, typer.Option(
        "--attr", "-a", help="Node attribute KEY=VALUE (repeatable).",
    )] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Spool and work directory.")] = None,
    heartbeat: Annotated[float | None, typer.Option(
        "--heartbeat", help="Heartbeat period, s.", show_default=False,
    )] = None,
    poll: Annotated[float | None, typer.Option(
        "--poll", help="Assignment poll period, s.", show_default=False,
    )] = None,
    upload_interval: Annotated[float | None, typer.Option(
        "--upload-interval", help="Result upload period, s.",
    )] = None,
) -> None:
    """Run this node's agent: register, take assignments, run tools, upload results."""
    interfaces = parse_pairs(interface, "--interface") if interface else None
    attributes = parse_pairs(attr, "--attr") if attr else None
    settings = _settings({
        "core_url": core, "token": token, "name": name, "data_dir": data,
        "interfaces": interfaces, "attributes": attributes, "heartbeat_seconds": heartbeat,
        "poll_seconds": poll, "upload_seconds": upload_interval,
    })
    try:
        from vantagepoint.agent import run_agent
    except ImportError as exc:
        fail(f"the agent cannot be loaded: {exc}")
    interrupt_on_sigterm()
    try:
        run_agent(settings)
    except KeyboardInterrupt:
        pass


def register(app: typer.Typer) -> None:
    app.command("agent")(agent)
