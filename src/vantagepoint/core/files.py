"""Result files kept on nodes: fetch requests, the copies that arrive, where they live."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.engine import make_url

from vantagepoint.config import CoreSettings
from vantagepoint.core.store.models import Execution, FileFetch
from vantagepoint.errors import Invalid, NotFound, Problem
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


def relative_path(path: str) -> str:
    """A pushed file's path, relative and inside its action's results; Invalid otherwise."""
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or "\x00" in path:
        raise Invalid("not a path inside the results", [Problem(
            "query:path", f"{path[:200]!r} must be relative and must not contain '..'")])
    return str(pure)


def check_part(db, execution_id: int, node: str, action: str) -> Execution:
    """The execution, if ``action`` runs on ``node`` in it; NotFound otherwise."""
    ex = db.get(Execution, execution_id)
    actions = ({(a["node"], a["name"]) for t in ex.snapshot.get("tasks", [])
                for a in t["actions"]} if ex is not None else set())
    if (node, action) not in actions:
        raise NotFound(f"node {node!r} runs no action {action!r} in execution {execution_id}")
    return ex


def pushed(db, execution_id: int, node: str, action: str, path: str) -> FileFetch:
    """The row of a pushed file, created on its first push (ids name the stored copies)."""
    fetch = db.scalar(select(FileFetch).where(
        FileFetch.execution_id == execution_id, FileFetch.node_name == node,
        FileFetch.action == action, FileFetch.path == path, FileFetch.state == "ready")
        .order_by(FileFetch.id.desc()).limit(1))
    if fetch is None:
        fetch = FileFetch(execution_id=execution_id, node_name=node, action=action, path=path,
                          state="pending")
        db.add(fetch)
        db.flush()
    return fetch
