"""Execution and node-part state machines as data, with one checked transition."""

from __future__ import annotations

from vantagepoint.errors import InvalidTransition
from vantagepoint.wire import ExecState, NodeState

E, N = ExecState, NodeState
_ABORT = frozenset({E.FAILED, E.CANCELED})

EXEC_TRANSITIONS: dict[ExecState, frozenset[ExecState]] = {
    E.QUEUED: frozenset({E.DEPLOYING}) | _ABORT,
    E.DEPLOYING: frozenset({E.READY}) | _ABORT,
    E.READY: frozenset({E.RUNNING}) | _ABORT,
    E.RUNNING: frozenset({E.FINISHED}) | _ABORT,
    E.FINISHED: frozenset(),
    E.FAILED: frozenset(),
    E.CANCELED: frozenset(),
}

NODE_TRANSITIONS: dict[NodeState, frozenset[NodeState]] = {
    N.ASSIGNED: frozenset({N.READY, N.FAILED, N.CANCELED}),
    # A very short action may end before the core marks the part running.
    N.READY: frozenset({N.RUNNING, N.DONE, N.FAILED, N.CANCELED}),
    N.RUNNING: frozenset({N.DONE, N.FAILED, N.CANCELED}),
    N.DONE: frozenset(),
    N.FAILED: frozenset(),
    N.CANCELED: frozenset(),
}

EXEC_FINAL = frozenset(s for s, nxt in EXEC_TRANSITIONS.items() if not nxt)
NODE_FINAL = frozenset(s for s, nxt in NODE_TRANSITIONS.items() if not nxt)
NODE_ACTIVE = frozenset(NodeState) - NODE_FINAL


def check_exec(current: str, target: ExecState) -> ExecState:
    """Return ``target`` if an execution may move there from ``current``, else raise."""
    return _check(EXEC_TRANSITIONS, ExecState(current), target, "execution")


def check_node(current: str, target: NodeState) -> NodeState:
    """Return ``target`` if a node's part may move there from ``current``, else raise."""
    return _check(NODE_TRANSITIONS, NodeState(current), target, "node part")


def _check(table, current, target, what: str):
    if target not in table[current]:
        raise InvalidTransition(f"{what} cannot go from {current} to {target}")
    return target
