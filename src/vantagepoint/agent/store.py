"""The node's result store: one directory per execution and action, kept after the run
(e.g. packet captures), sent to the core when it asks, pruned by age."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from vantagepoint.agent.client import FAILURES, CoreClient, describe
from vantagepoint.agent.uploader import _Periodic

log = logging.getLogger(__name__)


def resolve(root: Path, execution_id: int, action: str, path: str) -> Path | str:
    """The file a fetch names, or why it cannot be sent (outside the store, missing)."""
    store = (root / str(execution_id) / action).resolve()
    wanted = Path(path)
    candidate = (wanted if wanted.is_absolute() else store / wanted).resolve()
    if not candidate.is_relative_to(store):
        return f"{path!r} lies outside the result store of action {action!r}"
    if not candidate.is_file():
        return f"no file {path!r} in the result store of action {action!r}"
    return candidate


def prune(root: Path, keep_days: float, now: float | None = None) -> int:
    """Remove execution directories untouched for ``keep_days``; how many went."""
    cutoff = (now or time.time()) - keep_days * 86400
    removed = 0
    for directory in root.glob("*") if root.exists() else []:
        if directory.is_dir() and directory.stat().st_mtime < cutoff:
            shutil.rmtree(directory, ignore_errors=True)
            removed += 1
    return removed


class Fetcher(_Periodic):
    """Answers the core's file requests every ``period`` seconds."""

    def __init__(self, client: CoreClient, root: Path, period: float):
        super().__init__("fetcher", period)
        self.client, self.root, self.period = client, root, period

    def tick(self) -> float:
        try:
            for fetch in self.client.fetches():
                self._answer(fetch)
        except FAILURES as exc:
            log.debug("file fetches unavailable: %s", describe(exc))
        return self.period

    def _answer(self, fetch) -> None:
        found = resolve(self.root, fetch.execution, fetch.action, fetch.path)
        if isinstance(found, str):
            self.client.refuse_file(fetch.id, found)
            return
        self.client.send_file(fetch.id, found)
        log.info("sent %s (%d bytes) for fetch %s", found, found.stat().st_size, fetch.id)
