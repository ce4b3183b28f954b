"""Scheduling policies from the ``vantagepoint.policies`` entry-point group, and running them.

Built-in policies are registered the same way as third-party ones. A policy that fails to
load is an error naming it, never silently skipped: a missing rule would accept bookings.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from importlib.metadata import EntryPoint, entry_points

from vantagepoint.config import CoreSettings
from vantagepoint.core.scheduler.model import (
    Booking,
    CalendarView,
    NodeInfo,
    Policy,
    Proposal,
    Refusal,
    Span,
)

GROUP = "vantagepoint.policies"


class PolicyLoadError(RuntimeError):
    """A registered policy could not be imported or constructed."""


def registered(group: str = GROUP) -> dict[str, EntryPoint]:
    """Every registered policy entry point by name; two different targets for a name is an error."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=group):
        if ep.name in found and found[ep.name].value != ep.value:
            raise PolicyLoadError(f"scheduling policy {ep.name!r} is registered twice:"
                                  f" {found[ep.name].value} and {ep.value}")
        found[ep.name] = ep
    return found


def load_policies(settings: CoreSettings, group: str = GROUP) -> list[Policy]:
    """The policies ``settings.policies`` names, in its order; every registered one if unset."""
    available = registered(group)
    names = sorted(available) if settings.policies is None else list(settings.policies)
    _check_names(names, available)
    return [_load(available[name], settings) for name in names]


def _check_names(names: list[str], available: dict[str, EntryPoint]) -> None:
    known = ", ".join(sorted(available)) or "none"
    for name in names:
        if name not in available:
            raise ValueError(f"unknown scheduling policy {name!r} in settings.policies;"
                             f" known policies: {known}")
        if names.count(name) > 1:
            raise ValueError(f"scheduling policy {name!r} is listed twice in settings.policies")


def _load(ep: EntryPoint, settings: CoreSettings) -> Policy:
    try:
        policy = ep.load()(settings)
    except Exception as exc:
        raise PolicyLoadError(f"scheduling policy {ep.name!r} ({ep.value}) failed to load:"
                              f" {type(exc).__name__}: {exc}") from exc
    if getattr(policy, "name", None) != ep.name or not callable(getattr(policy, "check", None)):
        raise PolicyLoadError(f"scheduling policy {ep.name!r} ({ep.value}) must have"
                              f" name {ep.name!r} and a check(proposal, calendar) method")
    return policy


def check_all(policies: Iterable[Policy], proposal: Proposal,
              calendar: CalendarView) -> list[Refusal]:
    """Every policy's refusals, concatenated in policy order (empty: accept)."""
    view = calendar if isinstance(calendar, Memo) else Memo(calendar)
    return [refusal for policy in policies for refusal in policy.check(proposal, view)]


class Memo:
    """A CalendarView that asks the one it wraps each distinct question only once.

    Policies ask about the same bookings with different paddings; the answer for the
    widest padding asked so far also answers narrower questions, by filtering.
    """

    def __init__(self, calendar: CalendarView):
        self.calendar = calendar
        self._bookings: dict[tuple[str, Span], tuple[timedelta, list[Booking]]] = {}
        self._nodes: dict[str, NodeInfo | None] = {}

    def bookings(self, node: str, span: Span, padding: timedelta) -> list[Booking]:
        """Bookings on ``node`` overlapping ``span`` widened by ``padding`` each side."""
        key = (node, span)
        known = self._bookings.get(key)
        if known is None or known[0] < padding:
            known = self._bookings[key] = (padding, self.calendar.bookings(node, span, padding))
        widest, found = known
        if not found:
            return []
        if widest == padding:
            return list(found)
        return [b for b in found if b.span.overlaps(span, padding)]

    def node(self, name: str) -> NodeInfo | None:
        """The node's description, or None if unknown."""
        if name not in self._nodes:
            self._nodes[name] = self.calendar.node(name)
        return self._nodes[name]

    def remember(self, infos: list[NodeInfo]) -> None:
        """Nodes the caller read anyway (e.g. filter candidates): not asked again."""
        for info in infos:
            self._nodes.setdefault(info.name, info)
