"""Archivers: ingested results pushed elsewhere through a transactional outbox.

config.py validates VANTAGE_ARCHIVERS and loads the plugins (entry-point group
``vantagepoint.archivers``); outbox.py writes rows with the results and drains them.
The draining runs as a leased duty: only the core process holding the duties lease
pushes, one thread per archiver so a slow broker holds up no other.
"""

from __future__ import annotations

from vantagepoint.core.archive.config import Archiver, load_archivers
from vantagepoint.core.archive.outbox import drain, enqueue, statuses

__all__ = ["Archiver", "load_archivers", "enqueue", "statuses", "drain", "drain_loop"]


def drain_loop(sessions, archiver: Archiver, batch: int):
    """A duty that sends batches until the due backlog is empty or a send fails."""
    def duty() -> None:
        while drain(sessions, archiver, batch) == batch:
            pass
    return duty
