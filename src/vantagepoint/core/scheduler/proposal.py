"""Building the bookings a bound scenario would take, and what they cost."""

from __future__ import annotations

from datetime import timedelta

from vantagepoint.core.scheduler.model import Booking, Proposal, Span
from vantagepoint.spec.models import ScenarioSpec

DEFAULT_INTERFACE = "default"
ZERO = timedelta(0)


def node_parts(spec: ScenarioSpec) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per node of a bound scenario: the interfaces and the tools its actions use."""
    parts: dict[str, tuple[list[str], list[str]]] = {}
    for action in spec.actions():
        interfaces, tools = parts.setdefault(action.node, ([], []))
        iface = action.interface or DEFAULT_INTERFACE
        if iface not in interfaces:
            interfaces.append(iface)
        tools.append(action.tool)
    return {n: (tuple(i), tuple(t)) for n, (i, t) in parts.items()}


def build(owner: str, spec: ScenarioSpec, spans: list[Span], system: bool = False) -> Proposal:
    """Every node part of every occurrence of a bound scenario."""
    templates = [Booking(node=node, span=spans[0], shared=spec.shared, interfaces=ifaces,
                         tools=tools, system=system)
                 for node, (ifaces, tools) in sorted(node_parts(spec).items())]
    bookings = tuple(t.moved(span, i) for i, span in enumerate(spans) for t in templates)
    return Proposal(owner=owner, scenario=spec.name, shared=spec.shared, status=spec.status,
                    bookings=bookings)


def cost(spec: ScenarioSpec, proposal: Proposal) -> tuple[float, int]:
    """Node time (node-seconds) and declared data (bytes) the proposal debits."""
    # Summed as exact timedeltas (in C), converted once.
    seconds = sum((b.span.end - b.span.start for b in proposal.bookings), ZERO).total_seconds()
    interfaces = sum(len(b.interfaces) for b in proposal.bookings)
    return seconds, spec.traffic_bytes * interfaces
