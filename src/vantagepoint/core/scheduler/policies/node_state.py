"""Policy ``node-state``: only known, working nodes; testing nodes for development, deployed for
approved requests; storage nodes for none."""

from __future__ import annotations

from vantagepoint.config import CoreSettings
from vantagepoint.core.scheduler.model import Booking, CalendarView, NodeInfo, Proposal, Refusal

ONLY = {"testing": "development", "deployed": "approved"}  # node type -> request status it takes
OTHER = {"testing": "deployed", "deployed": "testing"}
IDLE = {"maintenance": "in maintenance", "disabled": "disabled"}  # status -> how it reads


class NodeState:
    """Refuse unknown nodes, nodes in maintenance or disabled, and the wrong kind of request."""

    name = "node-state"

    def __init__(self, settings: CoreSettings):
        self.settings = settings

    def check(self, proposal: Proposal, calendar: CalendarView) -> list[Refusal]:
        """One refusal per proposed booking on a node that cannot take this request."""
        reasons: dict[str, str | None] = {}
        refusals: list[Refusal] = []
        for booking in proposal.bookings:
            if booking.node not in reasons:
                reasons[booking.node] = reason(calendar.node(booking.node), booking.node,
                                               proposal.status)
            if message := reasons[booking.node]:
                refusals.append(self._refuse(booking, message))
        return refusals

    def _refuse(self, booking: Booking, message: str) -> Refusal:
        return Refusal(self.name, message, node=booking.node, occurrence=booking.occurrence,
                       at=booking.span.start)


def reason(info: NodeInfo | None, name: str, status: str) -> str | None:
    """Why node ``name`` cannot take a request of ``status``, or None if it can."""
    if info is None:
        return f"node {name} is not known to this testbed; choose a registered node"
    if info.status in IDLE:
        return (f"node {name} is {IDLE[info.status]} and takes no work; choose another node or ask"
                " an administrator to make it active")
    kind = info.attributes.get("type", "")
    if kind == "storage":
        return (f"node {name} is a storage node and runs no measurements; choose a testing or"
                " deployed node")
    wanted = ONLY.get(kind)
    if wanted is None or status == wanted:
        return None
    return (f"node {name} is a {kind} node and takes only {wanted} requests, but this request"
            f" is {status}; choose a {OTHER[kind]} node"
            + (" or have the scenario approved" if wanted == "approved" else ""))
