"""Notifier plugins (entry-point group ``vantagepoint.notifiers``) and their configuration.

A notifier kind is a class with a pydantic ``Config`` (unknown fields refused)
and ``notify(alarm)``, which raises on failure. The core's settings name
instances of kinds (``notifiers``); a scenario picks instances by name
(``notify``), else the core's ``default_notifiers`` receive its alarms.
Every instance is built and validated when the core starts, so a bad
configuration stops the start with the field named.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from vantagepoint.errors import Invalid, Problem
from vantagepoint.spec.pointers import join, pydantic_problems

GROUP = "vantagepoint.notifiers"
log = logging.getLogger(__name__)


class NotifierConfig(BaseModel):
    """Base of every notifier's configuration: ``kind`` plus the kind's own fields."""

    model_config = ConfigDict(extra="forbid")

    kind: str


@dataclass(frozen=True)
class Notice:
    """What a notifier delivers: the alarm as JSON, and who owns its execution."""

    alarm: dict[str, Any]
    scenario: str
    owner: str

    def payload(self) -> dict[str, Any]:
        return {"alarm": self.alarm, "scenario": self.scenario, "owner": self.owner}

    def subject(self) -> str:
        a = self.alarm
        return (f"[vantagepoint] alarm {a['id']}: {a['condition']} on {a['node']} "
                f"({self.scenario}/{a['action']}, execution {a['execution']})")

    def text(self) -> str:
        a = self.alarm
        return (f"{self.subject()}\nvalue {a['value']:g} at {a['ts']:.3f} (result {a['result']},"
                f" raised by the {a['origin']})\n")


class Notifier(Protocol):
    Config: ClassVar[type[NotifierConfig]]

    def __init__(self, name: str, config: Any) -> None: ...

    def notify(self, notice: Notice) -> None:
        """Deliver one alarm; raise to report a failure (it is logged with the execution)."""
        ...


def notifier_kinds() -> dict[str, type]:
    """Every registered notifier class by kind; one that fails to load raises, naming it."""
    kinds = {}
    for ep in entry_points(group=GROUP):
        try:
            kinds[ep.name] = ep.load()
        except Exception as exc:
            raise RuntimeError(f"notifier {ep.name!r} ({ep.value}) failed to load: "
                               f"{exc}") from exc
    return kinds


def build_notifiers(configured: dict[str, dict[str, Any]], defaults: list[str],
                    kinds: dict[str, type] | None = None) -> dict[str, Notifier]:
    """Instances by name from the core's settings; Invalid names every bad field."""
    kinds = notifier_kinds() if kinds is None else kinds
    configured = {"log": {"kind": "log"}, **configured}
    found, problems = {}, []
    for name, raw in configured.items():
        at = join("/notifiers", name)
        built = _build(name, raw, kinds, at)
        if isinstance(built, list):
            problems += built
        else:
            found[name] = built
    problems += [Problem(join("/default_notifiers", i), f"no notifier named {n!r}")
                 for i, n in enumerate(defaults) if n not in configured]
    if problems:
        raise Invalid("the notifier configuration has problems", problems)
    return found


def _build(name: str, raw: Any, kinds: dict[str, type], at: str) -> Notifier | list[Problem]:
    kind = raw.get("kind") if isinstance(raw, dict) else None
    if kind not in kinds:
        return [Problem(join(at, "kind"), f"unknown notifier kind {kind!r} (known: "
                                          f"{', '.join(sorted(kinds))})")]
    cls = kinds[kind]
    try:
        config = cls.Config.model_validate(raw)
    except ValidationError as exc:
        return pydantic_problems(exc, at)
    return cls(name, config)


def check_notify(names: list[str] | None, configured) -> None:
    """A scenario may only name notifiers this core has; Invalid points at each other one."""
    problems = [Problem(join("/notify", i), f"no notifier named {name!r} on this core "
                                            f"(configured: {', '.join(sorted(configured))})")
                for i, name in enumerate(names or []) if name not in configured]
    if problems:
        raise Invalid("the scenario names unknown notifiers", problems)
