"""Ingest counters: records received and stored, and batches, by node type and kind.

Counted per process (Prometheus sums over the core processes it scrapes) and only
once the request's transaction committed, so "stored" means durable. Labels are the
node's ``type`` attribute (a handful of values), never its name, to keep the number
of series bounded on a fleet of thousands.
"""

from __future__ import annotations

import threading
import time

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from vantagepoint.core.store.models import Node

NODE_TYPES = frozenset({"testing", "deployed", "storage"})
OTHER = "other"
TYPE_TTL_SECONDS = 60.0  # a node's type changes only when it registers again


class IngestCounters:
    """The counters, and a small cache of node name -> type label."""

    def __init__(self, registry: CollectorRegistry):
        labels = ["node_type", "kind"]
        self.batches = Counter("vantage_ingest_batches", "Upload batches accepted, by upload "
                               "(records: results and logs; stream: metadata and background).",
                               ["node_type", "upload"], registry=registry)
        self.received = Counter("vantage_ingest_records_received",
                                "Records received in accepted batches (retries included).",
                                labels, registry=registry)
        self.stored = Counter("vantage_ingest_records_stored",
                              "Records stored for the first time (retries are not).", labels,
                              registry=registry)
        self._types: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def count(self, db: Session, node: str, upload: str,
              counts: dict[str, tuple[int, int]]) -> None:
        """Count one batch, ``kind -> (received, stored)``, once ``db`` commits."""
        node_type = self.node_type(db, node)

        def committed(_session) -> None:
            for kind, (received, stored) in counts.items():
                self.received.labels(node_type, kind).inc(received)
                self.stored.labels(node_type, kind).inc(stored)
            self.batches.labels(node_type, upload).inc()

        event.listen(db, "after_commit", committed, once=True)

    def node_type(self, db: Session, node: str) -> str:
        now = time.monotonic()
        with self._lock:
            cached = self._types.get(node)
        if cached and cached[1] > now:
            return cached[0]
        attributes = db.scalar(select(Node.attributes).where(Node.name == node)) or {}
        return self.learn(node, attributes)

    def learn(self, node: str, attributes: dict) -> str:
        """Remember the node's type label from its attributes (as registered)."""
        value = attributes.get("type")
        label = value if value in NODE_TYPES else OTHER
        with self._lock:
            self._types[node] = (label, time.monotonic() + TYPE_TTL_SECONDS)
        return label
