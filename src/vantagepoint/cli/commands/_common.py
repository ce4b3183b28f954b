"""What every command shares: core options, consoles, error reporting, KEY=VALUE pairs."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import httpx
import typer
from rich.console import Console

from vantagepoint.client import Client, Problem, VantageError

out = Console()
err = Console(stderr=True)

UrlOption = Annotated[str | None, typer.Option(
    "--url", show_default=False,
    help="Core URL (default: $VANTAGE_URL, else DATA/url, else http://127.0.0.1:8080).",
)]
TokenOption = Annotated[str | None, typer.Option(
    "--token", show_default=False,
    help="API token (default: $VANTAGE_TOKEN, else DATA/admin-token).",
)]
DataOption = Annotated[Path | None, typer.Option(
    "--data", show_default=False,
    help="Data directory of a local `vantage up` (default: ./vantage-data).",
)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def say_error(message: str) -> None:
    """Print one line in red on stderr, literally (no Rich markup)."""
    err.print(message, style="red", markup=False, highlight=False, soft_wrap=True)


def fail(message: str, problems: Iterable[Problem] = ()) -> NoReturn:
    """Print an error and every problem as `pointer: message`, then exit 1."""
    say_error(message)
    for problem in problems:
        say_error(f"  {problem.pointer or '/'}: {problem.message}")
    raise typer.Exit(1)


@contextmanager
def errors_reported(url: str | None = None) -> Iterator[None]:
    """Turn the errors a command may meet into a red message and exit status 1."""
    where = url or "the core"
    try:
        yield
    except VantageError as exc:
        fail(exc.message, exc.problems)
    except httpx.ConnectError as exc:
        fail(f"cannot reach the core at {where} ({exc}); is it running? "
             "`vantage up` starts a local one")
    except httpx.TimeoutException:
        fail(f"the core at {where} did not answer in time")
    except httpx.HTTPError as exc:
        fail(f"talking to the core at {where} failed: {exc}")
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))


@contextmanager
def connect(url: str | None, token: str | None, data: Path | None) -> Iterator[Client]:
    """A client resolved as `Client` does, whose errors end the command with status 1."""
    client = Client(url, token, data_dir=data)
    with client, errors_reported(client.url):
        yield client


def parse_pairs(values: list[str] | None, option: str) -> dict[str, str]:
    """KEY=VALUE strings as a dict; a malformed one is a usage error naming the option."""
    pairs = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep or not key.strip() or not val.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint=option)
        pairs[key.strip()] = val.strip()
    return pairs
