"""Archiver configuration (VANTAGE_ARCHIVERS), validated whole at start with clear errors."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vantagepoint.archivers.base import Sink
from vantagepoint.errors import Invalid, Problem
from vantagepoint.spec.pointers import pydantic_problems

GROUP = "vantagepoint.archivers"
FIELDS = ("key", "execution_id", "node", "action", "name", "ts", "value")
SETTING = "VANTAGE_ARCHIVERS"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Filter(Strict):
    """Which results an archiver takes: each list of shell patterns; empty means any."""

    actions: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    nodes: list[str] = Field(default_factory=list)

    def takes(self, record: dict[str, Any]) -> bool:
        return all(_matches(record[field], patterns) for field, patterns in
                   (("action", self.actions), ("name", self.names), ("node", self.nodes)))


class Retry(Strict):
    """Exponential back-off between attempts; give up after ``max_attempts`` if set."""

    max_attempts: int | None = Field(None, ge=1)
    backoff_seconds: float = Field(1.0, gt=0)
    backoff_max_seconds: float = Field(60.0, gt=0)

    def delay(self, attempts: int) -> float:
        return min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (attempts - 1))


class ArchiverConfig(Strict):
    """One archiver as written in VANTAGE_ARCHIVERS."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    kind: str
    options: dict[str, Any] = Field(default_factory=dict)
    filter: Filter = Field(default_factory=Filter)
    shape: dict[str, str] | None = Field(
        None, description="Output key -> result field; the whole result when unset.")
    topic: str | None = Field(None, description="Topic, routing key or subject template.")
    retry: Retry = Field(default_factory=Retry)
    ttl_seconds: float = Field(86400.0, gt=0, description="Older outbox rows are dropped.")

    @field_validator("shape")
    @classmethod
    def _known_fields(cls, shape: dict[str, str] | None) -> dict[str, str] | None:
        unknown = sorted(set((shape or {}).values()) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown result field(s) {unknown}; known: {list(FIELDS)}")
        return shape


@dataclass
class Archiver:
    """A configured archiver with its plugin instance."""

    config: ArchiverConfig
    sink: Sink

    @property
    def name(self) -> str:
        return self.config.name

    def payload(self, record: dict[str, Any]) -> dict[str, Any]:
        shape = self.config.shape
        if shape is None:
            return {k: record[k] for k in FIELDS if k != "key"}
        return {out: record[field] for out, field in shape.items()}

    def topic(self, record: dict[str, Any]) -> str:
        template = self.config.topic or self.sink.default_topic
        return template.format_map(_TopicFields(record))


def load_archivers(raw: list[dict[str, Any]]) -> list[Archiver]:
    """Validate every archiver; all problems are reported together, each with its pointer."""
    kinds = {ep.name: ep for ep in entry_points(group=GROUP)}
    archivers, problems = [], []
    for i, item in enumerate(raw):
        try:
            archivers.append(_load_one(item, kinds, f"/{i}"))
        except Invalid as exc:
            problems += exc.problems
    names = [item.get("name") if isinstance(item, dict) else None for item in raw]
    problems += [Problem(f"/{i}/name", f"archiver name {n!r} is used twice")
                 for i, n in enumerate(names) if n is not None and n in names[:i]]
    if problems:
        raise Invalid(f"{SETTING} is not valid", problems)
    return archivers


def _load_one(item: Any, kinds: dict, where: str) -> Archiver:
    config = _validated(ArchiverConfig, item, where)
    if config.kind not in kinds:
        raise Invalid("", [Problem(f"{where}/kind", f"no archiver kind {config.kind!r}; "
                                                     f"installed: {sorted(kinds)}")])
    try:
        plugin: type[Sink] = kinds[config.kind].load()
    except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, not hidden
        raise Invalid("", [Problem(f"{where}/kind", f"archiver plugin {config.kind!r} does "
                                                     f"not load: {exc}")]) from exc
    options = _validated(plugin.Options, config.options, f"{where}/options")
    archiver = Archiver(config, plugin(options))
    _check_topic(archiver, where)
    return archiver


def _validated(model: type[BaseModel], data: Any, where: str):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid("", pydantic_problems(exc, where)) from exc


def _check_topic(archiver: Archiver, where: str) -> None:
    try:
        archiver.topic(dict.fromkeys(FIELDS, "x"))
    except (KeyError, IndexError, ValueError) as exc:
        raise Invalid("", [Problem(f"{where}/topic", f"bad template: {exc!r}; fields: "
                                                      f"{list(FIELDS)}")]) from exc


def _matches(value: str, patterns: list[str]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(value, p) for p in patterns)


class _TopicFields(dict):
    """Result fields as topic levels, made safe only when the template uses them."""

    def __getitem__(self, field: str) -> str:
        # No separators or wildcards of MQTT, AMQP or NATS inside one level.
        text = str(super().__getitem__(field))
        for char in "/.#+*> \t":
            text = text.replace(char, "_")
        return text
