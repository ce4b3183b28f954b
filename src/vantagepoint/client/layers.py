"""Experiment layers on the client side: a directory or a tar file, named by its SHA-256.

A directory is packed reproducibly (sorted names, owner root, time 0), so the
same tree always gets the same digest and nodes fetch it once.
"""

from __future__ import annotations

import hashlib
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1024 * 1024


def digest_of(path: Path) -> str:
    """``sha256:<hex>`` of a file's bytes."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
    return f"sha256:{sha.hexdigest()}"


def chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def pack_directory(source: Path, target: Path) -> None:
    """Write ``source``'s tree as a reproducible tar at ``target`` (paths relative to it)."""
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(source.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(source)), recursive=False,
                    filter=_normalised)


def as_layer(path: Path) -> tuple[Path, tempfile.TemporaryDirectory | None]:
    """The tar file to upload for ``path`` (packed first when it is a directory)."""
    if path.is_dir():
        scratch = tempfile.TemporaryDirectory(prefix="vp-layer-")
        target = Path(scratch.name) / "layer.tar"
        pack_directory(path, target)
        return target, scratch
    if not tarfile.is_tarfile(path):
        raise ValueError(f"{path} is neither a directory nor a tar archive")
    return path, None
