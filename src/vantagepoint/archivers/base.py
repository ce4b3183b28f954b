"""What an archiver plugin is: options it validates, and ``send`` of a batch of messages.

Plugins register under the entry-point group ``vantagepoint.archivers``; the built-in
ones (mqtt, rabbitmq, nats, http) register through the same group. A plugin connects
lazily, raises on any failure (the outbox retries the batch later), and reconnects on
the next ``send`` after ``close``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class Message:
    """One result to push: ``key`` identifies it forever (consumers dedupe on it)."""

    key: str
    topic: str
    payload: dict[str, Any]

    def body(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":")).encode()


class SinkOptions(BaseModel):
    """Options every archiver kind accepts."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(10.0, gt=0, description="Longest wait for one batch.")


class Sink:
    """Base class of archiver plugins."""

    Options: ClassVar[type[SinkOptions]] = SinkOptions
    default_topic: ClassVar[str] = "vantagepoint.results.{node}.{action}.{name}"

    def __init__(self, options: SinkOptions):
        self.options = options

    def send(self, messages: list[Message]) -> None:
        """Deliver every message or raise; the whole batch is retried on failure."""
        raise NotImplementedError

    def idle(self) -> None:
        """Called when there is nothing to send; keeps a connection alive if it needs it."""

    def close(self) -> None:
        """Drop the connection; the next ``send`` connects again."""
