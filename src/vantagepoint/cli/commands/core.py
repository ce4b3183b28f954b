"""`vantage core`: run the core server (blocking)."""

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from vantagepoint.cli.commands._common import fail
from vantagepoint.config import CoreSettings
from vantagepoint.errors import VantageError


def ensure_sqlite_dir(database_url: str) -> None:
    """Create the directory of a SQLite file so a first start needs no setup."""
    if not database_url.startswith("sqlite:///"):
        return
    path = database_url.removeprefix("sqlite:///").split("?", 1)[0]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def core(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8080,
    database_url: Annotated[str | None, typer.Option(
        "--database-url", show_default=False,
        help="SQLAlchemy URL (default: $VANTAGE_DATABASE_URL, else sqlite:///./vantage-data/core.db).",
    )] = None,
    admin_token_file: Annotated[Path | None, typer.Option(
        "--admin-token-file", show_default=False,
        help="Where the bootstrap admin token is written on first start.",
    )] = None,
) -> None:
    """Run the core: REST API, dashboard and execution coordinator."""
    given = {"database_url": database_url, "admin_token_file": admin_token_file}
    try:
        settings = CoreSettings(**{k: v for k, v in given.items() if v is not None})
    except (ValidationError, SettingsError) as exc:
        fail(f"bad core settings: {exc}")
    ensure_sqlite_dir(settings.database_url)
    try:
        from vantagepoint.core import serve
    except ImportError as exc:
        fail(f"the core cannot be loaded: {exc}")
    try:
        serve(settings, host, port)
    except KeyboardInterrupt:
        pass
    except VantageError as exc:  # settings the app refuses, e.g. VANTAGE_ARCHIVERS
        fail(exc.message, exc.problems)


def register(app: typer.Typer) -> None:
    app.command("core")(core)
