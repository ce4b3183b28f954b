"""Result files kept on nodes: fetch requests, the copies that arrive, where they live."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from vantagepoint.config import CoreSettings
from vantagepoint.core.store.models import FileFetch
from vantagepoint.wire import FileFetchOut

CHUNK = 1024 * 1024


def files_dir(settings: CoreSettings) -> Path:
    """The configured directory, else one beside the SQLite file, else ./vantage-files."""
    if settings.files_dir is not None:
        return settings.files_dir
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).parent / "files"
    return Path("vantage-files")


def stored_path(settings: CoreSettings, fetch: FileFetch) -> Path:
    return files_dir(settings) / f"{fetch.id}.bin"


async def receive(stream, target: Path, limit: int) -> tuple[int, str]:
    """Write an upload to ``target`` atomically; its size and SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    digest, size = hashlib.sha256(), 0
    with open(partial, "wb") as handle:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                handle.close()
                partial.unlink(missing_ok=True)
                raise ValueError(f"the file is larger than the limit of {limit} bytes")
            digest.update(chunk)
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(target)
    return size, digest.hexdigest()


def fetch_out(fetch: FileFetch) -> FileFetchOut:
    return FileFetchOut(id=fetch.id, execution=fetch.execution_id, node=fetch.node_name,
                        action=fetch.action, path=fetch.path, state=fetch.state,
                        reason=fetch.reason, size=fetch.size, sha256=fetch.sha256)
