"""`vantage layer push PATH`: upload an experiment's directory or root file system image."""

from pathlib import Path
from typing import Annotated

import typer

from vantagepoint.cli.commands._common import (
    DataOption,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    fail,
    out,
)
from vantagepoint.cli.commands._output import print_json

app = typer.Typer(help="Experiment layers: directories and root file system images (tar).",
                  no_args_is_help=True)


@app.command("push")
def push(
    path: Annotated[Path, typer.Argument(help="A directory (packed as tar) or a tar file.")],
    json: JsonOption = False, url: UrlOption = None, token: TokenOption = None,
    data: DataOption = None,
) -> None:
    """Upload a layer once; print the digest to name in an experiment's config."""
    if not path.exists():
        fail(f"{path} does not exist")
    with connect(url, token, data) as client:
        try:
            layer = client.push_layer(path)
        except ValueError as exc:
            fail(str(exc))
    if json:
        print_json(layer)
    else:
        out.print(f"{layer['digest']}  ({layer['size']} bytes)", markup=False)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="layer")
