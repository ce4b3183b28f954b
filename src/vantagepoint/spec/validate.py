"""Validation of specs against the live fleet: pure functions, no I/O.

The core hands in a ``Catalog`` (what nodes exist and which tools they offer,
which tasks and actions are stored); every problem found is returned at once,
each with a JSON pointer into the submitted document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import jsonschema
from pydantic import ValidationError

from vantagepoint.errors import Invalid, Problem
from vantagepoint.spec.conditions import parse_condition
from vantagepoint.spec.models import ActionRef, ActionSpec, ScenarioSpec, TaskRef, TaskSpec
from vantagepoint.spec.pointers import join, pydantic_problems
from vantagepoint.spec.tools import ToolInfo


@dataclass
class NodeView:
    """What validation needs to know about one node."""

    name: str
    interfaces: list[str] = field(default_factory=list)
    tools: list[ToolInfo] = field(default_factory=list)


class Catalog(Protocol):
    def node(self, name: str) -> NodeView | None: ...
    def nodes(self) -> list[NodeView]: ...
    def role_node(self, tool: str, version: str | None) -> NodeView | str: ...
    def task(self, name: str) -> dict[str, Any] | None: ...
    def action(self, name: str) -> dict[str, Any] | None: ...


def pick_tool(node: NodeView, name: str, version: str | None) -> ToolInfo | str:
    """The tool version to use on a node, or a sentence saying why there is none."""
    offered = [t for t in node.tools if t.name == name]
    if not offered:
        return f"node {node.name!r} does not offer tool {name!r}"
    if version is None:
        return max(offered, key=lambda t: _version_key(t.version))
    for tool in offered:
        if tool.version == version:
            return tool
    have = ", ".join(sorted(t.version for t in offered))
    return f"node {node.name!r} offers tool {name!r} in version(s) {have}, not {version}"


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


def fleet_node(nodes: list[NodeView], tool: str, version: str | None) -> NodeView | str:
    """A stand-in node offering the tool, for actions written against a role.

    Catalogs implement ``role_node`` with this, caching it: it looks at every node.
    """
    distinct: dict[str, ToolInfo] = {}
    for node in nodes:
        found = pick_tool(node, tool, version)
        if isinstance(found, ToolInfo):
            distinct.setdefault(found.version, found)
    if not distinct:
        return f"no node offers tool {tool!r}" + (f" version {version}" if version else "")
    return NodeView(name="(role)", tools=list(distinct.values()))


def check_action(action: ActionSpec, catalog: Catalog, at: str,
                 roles: frozenset[str] = frozenset()) -> list[Problem]:
    """Everything that can be wrong with one parsed action, given the fleet."""
    if action.node in roles:
        return _check_role_action(action, catalog, at)
    node = catalog.node(action.node)
    if node is None:
        return [Problem(join(at, "node"), f"unknown node {action.node!r}")]
    problems = []
    if action.interface is not None and action.interface not in node.interfaces:
        have = ", ".join(node.interfaces) or "none"
        problems.append(Problem(
            join(at, "interface"),
            f"node {node.name!r} has no interface {action.interface!r} (it has: {have})",
        ))
    tool = pick_tool(node, action.tool, action.version)
    if isinstance(tool, str):
        return problems + [Problem(join(at, "tool"), tool)]
    problems += check_config(tool, action.config, join(at, "config"))
    problems += check_results(tool, action.results, join(at, "results"))
    problems += check_conditions(tool, action.conditions, join(at, "conditions"))
    problems += check_reactions(action, join(at, "reactions"))
    return problems


def _check_role_action(action: ActionSpec, catalog: Catalog, at: str) -> list[Problem]:
    """Checks that hold for whichever node the role is bound to later."""
    node = catalog.role_node(action.tool, action.version)
    if isinstance(node, str):
        return [Problem(join(at, "tool"), node)]
    tool = pick_tool(node, action.tool, action.version)
    return (check_config(tool, action.config, join(at, "config"))
            + check_results(tool, action.results, join(at, "results"))
            + check_conditions(tool, action.conditions, join(at, "conditions"))
            + check_reactions(action, join(at, "reactions")))


def check_config(tool: ToolInfo, config: dict[str, Any], at: str) -> list[Problem]:
    return schema_problems(tool.config_schema, config, at)


def schema_problems(schema: dict[str, Any], config: Any, at: str) -> list[Problem]:
    """Every way ``config`` breaks a JSON Schema, each with a pointer below ``at``."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    return [Problem(join(at, *e.absolute_path), _schema_message(e)) for e in errors]


def _schema_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        return f"unknown field: {error.message.split('(')[-1].rstrip(')')}"
    return error.message


def check_results(tool: ToolInfo, requested: list[str], at: str) -> list[Problem]:
    if tool.dynamic_results:
        return []
    known = ", ".join(r.name for r in tool.results)
    return [
        Problem(join(at, i), f"tool {tool.name!r} cannot produce result {name!r} "
                             f"(it produces: {known})")
        for i, name in enumerate(requested) if tool.result(name) is None
    ]


def check_conditions(tool: ToolInfo, conditions: list[str], at: str) -> list[Problem]:
    problems = []
    for i, text in enumerate(conditions):
        try:
            condition = parse_condition(text)
        except ValueError as exc:
            problems.append(Problem(join(at, i), str(exc)))
            continue
        spec = tool.result(condition.result)
        if spec is None and not tool.dynamic_results:
            problems.append(Problem(join(at, i), f"tool {tool.name!r} has no result "
                                                 f"{condition.result!r} to watch"))
        elif spec is not None and not spec.conditionable:
            problems.append(Problem(join(at, i), f"result {condition.result!r} of tool "
                                                 f"{tool.name!r} may not be used in a condition"))
        elif spec is not None and spec.type not in ("number", "integer"):
            problems.append(Problem(join(at, i), f"result {condition.result!r} is a "
                                                 f"{spec.type}, not a number"))
        elif spec is not None and spec.derived and condition.counts_absence:
            problems.append(Problem(join(at, i), f"count() cannot watch {condition.result!r}: "
                                                 "the core derives it after upload, where a "
                                                 "missing value cannot be told from a late one"))
    return problems


def check_reactions(action: ActionSpec, at: str) -> list[Problem]:
    """A reaction's ``when`` must be one of the action's own conditions."""
    known = {str(parse_condition(c)) for c in action.conditions}
    problems = []
    for i, reaction in enumerate(action.reactions):
        if reaction.when is None:
            if not known:
                problems.append(Problem(join(at, i), "the action has no conditions to react to"))
            continue
        try:
            when = str(parse_condition(reaction.when))
        except ValueError as exc:
            problems.append(Problem(join(at, i, "when"), str(exc)))
            continue
        if when not in known:
            problems.append(Problem(join(at, i, "when"), f"{reaction.when!r} is not one of the "
                                                         f"action's conditions"))
    return problems


def parse(model: type, raw: Any, at: str = "") -> tuple[Any, list[Problem]]:
    """Parse a raw document into a spec model, returning problems instead of raising."""
    if not isinstance(raw, dict):
        return None, [Problem(at, "expected an object")]
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        return None, pydantic_problems(exc, at)


def resolve_task(task: TaskSpec, catalog: Catalog, at: str,
                 roles: frozenset[str] = frozenset()) -> tuple[TaskSpec, list[Problem]]:
    """Inline every action reference of a task, checking every action."""
    actions, problems = [], []
    for i, item in enumerate(task.actions):
        where = join(at, "actions", i)
        if isinstance(item, ActionRef):
            raw = catalog.action(item.ref)
            if raw is None:
                problems.append(Problem(join(where, "ref"), f"unknown action {item.ref!r}"))
                continue
            item, found = parse(ActionSpec, raw, join(where, "ref"))
            if found:
                problems += found
                continue
        problems += check_action(item, catalog, where, roles)
        actions.append(item)
    return task.model_copy(update={"actions": actions}), problems


def resolve_scenario(raw: Any, catalog: Catalog) -> ScenarioSpec:
    """Parse, inline every reference and check everything; raise Invalid listing all."""
    spec, problems = parse(ScenarioSpec, raw)
    if problems:
        raise Invalid("the scenario is not well formed", problems)
    tasks = []
    for i, item in enumerate(spec.tasks):
        where = join("", "tasks", i)
        if isinstance(item, TaskRef):
            stored = catalog.task(item.ref)
            if stored is None:
                problems.append(Problem(join(where, "ref"), f"unknown task {item.ref!r}"))
                continue
            item, found = parse(TaskSpec, stored, join(where, "ref"))
            if found:
                problems += found
                continue
        task, found = resolve_task(item, catalog, where, frozenset(spec.roles))
        problems += found
        tasks.append(task)
    resolved = spec.model_copy(update={"tasks": tasks})
    problems += _duplicate_names(resolved)
    if problems:
        raise Invalid(f"the scenario {spec.name!r} has {len(problems)} problem(s)", problems)
    return resolved


def _duplicate_names(spec: ScenarioSpec) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for t, task in enumerate(spec.tasks):
        for a, action in enumerate(task.actions):
            if action.name in seen:
                problems.append(Problem(join("", "tasks", t, "actions", a, "name"),
                                        f"action name {action.name!r} is used twice"))
            seen.add(action.name)
    return problems


def validate_task(raw: Any, catalog: Catalog) -> TaskSpec:
    """Validate a task stored on its own; raise Invalid listing all problems."""
    spec, problems = parse(TaskSpec, raw)
    if not problems:
        spec, problems = resolve_task(spec, catalog, "")
    if problems:
        raise Invalid("the task has problems", problems)
    return spec


def validate_action(raw: Any, catalog: Catalog) -> ActionSpec:
    """Validate an action stored on its own; raise Invalid listing all problems."""
    spec, problems = parse(ActionSpec, raw)
    if not problems:
        problems = check_action(spec, catalog, "")
    if problems:
        raise Invalid("the action has problems", problems)
    return spec


def check_periods(spec: ScenarioSpec, duration: float) -> list[Problem]:
    """Every action's activity period must begin inside the execution."""
    problems = []
    for t, task in enumerate(spec.tasks):
        for a, action in enumerate(task.actions):
            if action.start >= duration:
                problems.append(Problem(
                    join("", "tasks", t, "actions", a, "start"),
                    f"action {action.name!r} starts at {action.start:g} s, after the "
                    f"execution's end at {duration:g} s",
                ))
    return problems
