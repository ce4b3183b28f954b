"""Experiment layers: tar archives users upload, named by their SHA-256, stored once."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

from vantagepoint.config import CoreSettings
from vantagepoint.core.files import files_dir, receive
from vantagepoint.errors import Invalid, NotFound, Problem
from vantagepoint.wire import LayerOut

DIGEST = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")


def parse_digest(text: str) -> str:
    """The 64 hex digits of ``sha256:<hex>`` or ``<hex>``; Invalid otherwise."""
    found = DIGEST.match(text)
    if found is None:
        raise Invalid("not a layer digest", [Problem(
            "path:digest", f"{text[:80]!r} is not 'sha256:' followed by 64 lowercase hex digits")])
    return found.group(1)


def layer_path(settings: CoreSettings, hexdigest: str) -> Path:
    return files_dir(settings) / "layers" / f"{hexdigest}.tar"


def layer_out(path: Path, hexdigest: str) -> LayerOut:
    return LayerOut(digest=f"sha256:{hexdigest}", size=path.stat().st_size)


def existing(settings: CoreSettings, hexdigest: str) -> Path:
    """The stored layer, or NotFound naming it."""
    path = layer_path(settings, hexdigest)
    if not path.is_file():
        raise NotFound(f"no layer sha256:{hexdigest}; upload it first (vantage layer push)")
    return path


async def store(stream, settings: CoreSettings, hexdigest: str) -> LayerOut:
    """Receive an upload, keep it only if its SHA-256 is the digest named and it is a tar."""
    target = layer_path(settings, hexdigest)
    incoming = target.with_name(f"{hexdigest}.incoming")
    try:
        _, digest = await receive(stream, incoming, settings.max_file_bytes)
    except ValueError as exc:
        raise Invalid("the layer is too large", [Problem("body", str(exc))]) from None
    if digest != hexdigest:
        incoming.unlink(missing_ok=True)
        raise Invalid("the layer's content does not match its digest", [Problem(
            "body", f"SHA-256 of the body is {digest}, the path names {hexdigest}")])
    if not tarfile.is_tarfile(incoming):
        incoming.unlink(missing_ok=True)
        raise Invalid("a layer must be a tar archive", [Problem(
            "body", "not a tar archive (plain or gzip/bzip2/xz compressed)")])
    incoming.replace(target)
    return layer_out(target, hexdigest)
