"""Which nodes a schedule runs on: a scenario's own nodes, or its roles bound to nodes."""

from __future__ import annotations

from dataclasses import dataclass

from vantagepoint.errors import Invalid, Problem
from vantagepoint.spec.models import ActionSpec, ScenarioSpec
from vantagepoint.wire import ScheduleCreate

Binding = dict[str, list[str]]  # role -> nodes


@dataclass(frozen=True)
class Selection:
    """How the request picks its nodes: fixed (list or binding) or by filter."""

    fixed: Binding | None  # None: choose `count` nodes by filter for the roles
    roles: tuple[str, ...]
    count: int = 0


def selection(spec: ScenarioSpec, req: ScheduleCreate) -> Selection:
    """Read the request's node choice against the scenario's roles; refuse mismatches."""
    roles = tuple(spec.roles)
    given = [f for f in ("nodes", "filter", "roles") if getattr(req, f) is not None]
    if not roles:
        if given:
            raise Invalid("this scenario names its own nodes; it has no roles to bind",
                          [Problem(f"/{f}", "not allowed here") for f in given])
        return Selection(fixed={}, roles=())
    if len(given) != 1:
        raise Invalid(f"bind the scenario's roles ({', '.join(roles)}) with exactly one of "
                      "nodes, filter or roles", [Problem("", f"given: {given or 'none'}")])
    if req.roles is not None:
        return Selection(fixed=_explicit(roles, req.roles), roles=roles)
    if req.nodes is not None:
        return Selection(fixed=_by_order(roles, req.nodes), roles=roles)
    count = req.count or len(roles)
    if len(roles) > 1 and count != len(roles):
        raise Invalid("with several roles the filter picks one node per role",
                      [Problem("/count", f"expected {len(roles)}, got {count}")])
    return Selection(fixed=None, roles=roles, count=count)


def _explicit(roles: tuple[str, ...], given: dict[str, list[str]]) -> Binding:
    problems = [Problem(f"/roles/{r}", "missing") for r in roles if not given.get(r)]
    problems += [Problem(f"/roles/{r}", "the scenario has no such role")
                 for r in given if r not in roles]
    if problems:
        raise Invalid("the role binding does not match the scenario's roles", problems)
    return {r: list(dict.fromkeys(given[r])) for r in roles}


def _by_order(roles: tuple[str, ...], nodes: list[str]) -> Binding:
    if len(roles) == 1:
        return {roles[0]: list(dict.fromkeys(nodes))}
    if len(nodes) != len(roles):
        raise Invalid("give one node per role, in the order of the roles",
                      [Problem("/nodes", f"roles {', '.join(roles)}; got {len(nodes)} nodes")])
    return {role: [node] for role, node in zip(roles, nodes, strict=True)}


def bind_by_order(roles: tuple[str, ...], nodes: list[str]) -> Binding:
    """Filter-chosen nodes onto roles: all to a single role, else one per role in order."""
    return _by_order(roles, nodes)


def bound(spec: ScenarioSpec, binding: Binding) -> ScenarioSpec:
    """The scenario with role actions replaced by one action per bound node."""
    if not spec.roles:
        return spec
    tasks = [task.model_copy(update={"actions": [
        copy for action in task.actions for copy in _expand(action, binding)]})
        for task in spec.tasks]
    return spec.model_copy(update={"tasks": tasks, "roles": []})


def bound_once(spec: ScenarioSpec, binding: Binding) -> ScenarioSpec:
    """``bound``, remembered for the same (read-only) scenario object and binding."""
    key = (id(spec), tuple((role, tuple(nodes)) for role, nodes in binding.items()))
    known = _BOUND.get(key)
    if known is not None and known[0] is spec:  # the id is of this very object
        return known[1]
    if len(_BOUND) >= MAX_BOUND:
        _BOUND.clear()
    concrete = bound(spec, binding)
    _BOUND[key] = (spec, concrete)
    return concrete


MAX_BOUND = 4096
_BOUND: dict[tuple, tuple[ScenarioSpec, ScenarioSpec]] = {}


def _expand(action: ActionSpec, binding: Binding) -> list[ActionSpec]:
    if action.node not in binding:
        return [action]
    return [action.model_copy(update={"node": node}) for node in binding[action.node]]


def nodes_of(spec: ScenarioSpec) -> list[str]:
    """Every concrete node a bound scenario runs on, sorted."""
    return sorted({a.node for a in spec.actions()})


def role_tools(spec: ScenarioSpec) -> set[str]:
    """The tools a node must offer to play any role of the scenario."""
    return {a.tool for a in spec.actions() if a.node in spec.roles}
