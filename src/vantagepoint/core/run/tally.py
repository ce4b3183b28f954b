"""What an execution model judges: how many actions an execution has and which failed.

An action fails on its own (its node reports it in ``failed_actions`` and goes
on with the others) or with its whole node part (the part failed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from vantagepoint.core.store.models import Execution
from vantagepoint.wire import NodeState


@dataclass(frozen=True)
class Failure:
    node: str
    action: str | None  # None: the node's part failed as a whole
    reason: str

    def __str__(self) -> str:
        where = f"node {self.node}" if self.action is None else \
            f"action {self.action!r} on node {self.node}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Tally:
    total: int  # actions in the execution
    failures: list[Failure] = field(default_factory=list)
    lost: int = 0  # actions that do not work (in failed parts, or failed alone)

    @property
    def working(self) -> int:
        return self.total - self.lost


class ExecutionModel(Protocol):
    """Decides whether an execution goes on when actions fail (entry-point group
    ``vantagepoint.execution_models``)."""

    name: str
    config_schema: dict
    tolerates_failures: bool  # agents keep the other actions running when one fails

    def verdict(self, tally: Tally, config: dict) -> str | None:
        """Why the execution must fail now, or None to go on."""
        ...


def tally(ex: Execution) -> Tally:
    """Count the execution's actions per node and what failed so far."""
    per_node: dict[str, list[str]] = {}
    for task in ex.snapshot.get("tasks", []):
        for action in task["actions"]:
            per_node.setdefault(action["node"], []).append(action["name"])
    failures, lost = [], 0
    for part in ex.nodes:
        actions = per_node.get(part.node_name, [])
        if part.state == NodeState.FAILED:
            failures.append(Failure(part.node_name, None, part.reason or "failed"))
            lost += len(actions)
            continue
        alone = {a: r for a, r in (part.failed_actions or {}).items() if a in actions}
        failures += [Failure(part.node_name, a, str(r)) for a, r in sorted(alone.items())]
        lost += len(alone)
    return Tally(sum(len(a) for a in per_node.values()), failures, lost)
