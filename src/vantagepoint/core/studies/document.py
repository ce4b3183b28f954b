"""A study document: a scenario template, parameter axes, and how to schedule each scenario.

    name: device-eval
    parameters:
      load: [low, medium, high]
      pattern: [constant, burst, ramp]
    template:                # a scenario; "${load}" placeholders anywhere in it
      tasks: [{name: t, actions: [{name: gen, node: dut, tool: traffic,
                                   config: {level: "${load}", pattern: "${pattern}"}}]}]
    schedule: {duration: 600, gap: 30, nodes: [dut]}

One scenario per combination of the axes (their product, in document order). A
string that is just ``${axis}`` takes the axis value itself (a number stays a
number); inside a longer string the value is written as text; ``${axis.key}``
reads a key of an object value. Pure functions, no I/O.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vantagepoint.errors import Invalid, Problem
from vantagepoint.spec.pointers import join
from vantagepoint.spec.validate import parse

AXIS_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,31}$"
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_REF = re.compile(r"^(?P<axis>[A-Za-z_][A-Za-z0-9_]*)(?:\.(?P<key>[A-Za-z0-9_-]+))?$")
MAX_COMBINATIONS = 10_000


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StudySchedule(_Doc):
    """How each generated scenario is scheduled: one after another, first fit."""

    duration: float = Field(gt=0, description="Seconds per scenario.")
    gap: float = Field(0.0, ge=0, description="Seconds between one scenario's end and the "
                                             "next one's start.")
    start: datetime | None = Field(None, description="UTC; first fit from now when unset.")
    nodes: list[str] | None = None
    filter: str | None = Field(None, max_length=1000)
    count: int | None = Field(None, ge=1, le=10000)
    roles: dict[str, list[str]] | None = None


class StudyDoc(_Doc):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,55}$")
    description: str = ""
    parameters: dict[str, list[Any]] = Field(min_length=1)
    template: dict[str, Any]
    schedule: StudySchedule


@dataclass(frozen=True)
class Combination:
    """One point of the parameter grid and the scenario generated for it."""

    position: int
    params: dict[str, Any]
    scenario: dict[str, Any]

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={_text(v)}" for k, v in self.params.items())


def parse_study(raw: Any) -> StudyDoc:
    """Parse and check a study document; Invalid lists every problem with its pointer."""
    doc, problems = parse(StudyDoc, raw)
    if doc is not None:
        problems = _axis_problems(doc)
    if problems:
        raise Invalid("the study is not well formed", problems)
    return doc


def _axis_problems(doc: StudyDoc) -> list[Problem]:
    problems, size = [], 1
    for axis, values in doc.parameters.items():
        at = join("", "parameters", axis)
        if not re.match(AXIS_PATTERN, axis):
            problems.append(Problem(at, f"axis name {axis!r} must match {AXIS_PATTERN}"))
        if not values:
            problems.append(Problem(at, "an axis needs at least one value"))
        labels = [_text(v) for v in values]
        for i, label in enumerate(labels):
            if labels.index(label) != i:
                problems.append(Problem(join(at, i), f"value {label!r} is given twice"))
        size *= max(1, len(values))
    if size > MAX_COMBINATIONS:
        problems.append(Problem("/parameters", f"{size} combinations; at most "
                                               f"{MAX_COMBINATIONS}"))
    return problems


def scenario_name(study: str, position: int) -> str:
    return f"{study}-{position + 1:03d}"


def combinations(doc: StudyDoc) -> list[Combination]:
    """Every combination with its scenario; Invalid if the template names unknown axes."""
    problems = _placeholder_problems(doc.template, doc.parameters, "/template")
    if problems:
        raise Invalid("the study's template has unknown placeholders", problems)
    axes = list(doc.parameters)
    found = []
    for position, values in enumerate(itertools.product(*doc.parameters.values())):
        params = dict(zip(axes, values, strict=True))
        scenario = substitute(doc.template, params)
        scenario["name"] = scenario_name(doc.name, position)
        found.append(Combination(position, params, scenario))
    return found


def substitute(node: Any, params: dict[str, Any]) -> Any:
    """The template with every placeholder replaced by its parameter value."""
    if isinstance(node, dict):
        return {substitute(k, params): substitute(v, params) for k, v in node.items()}
    if isinstance(node, list):
        return [substitute(v, params) for v in node]
    if not isinstance(node, str):
        return node
    whole = _PLACEHOLDER.fullmatch(node)
    if whole:
        return _lookup(whole[1], params)
    return _PLACEHOLDER.sub(lambda m: _text(_lookup(m[1], params)), node)


def _lookup(ref: str, params: dict[str, Any]) -> Any:
    match = _REF.match(ref.strip())
    value = params[match["axis"]]
    return value[match["key"]] if match["key"] else value


def _placeholder_problems(node: Any, axes: dict[str, list[Any]], at: str) -> list[Problem]:
    if isinstance(node, dict):
        return [p for k, v in node.items()
                for p in _placeholder_problems(k, axes, at) + _placeholder_problems(
                    v, axes, join(at, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _placeholder_problems(v, axes,
                                                                             join(at, i))]
    if not isinstance(node, str):
        return []
    return [Problem(at, why) for m in _PLACEHOLDER.finditer(node)
            if (why := _ref_problem(m[1], axes))]


def _ref_problem(ref: str, axes: dict[str, list[Any]]) -> str | None:
    match = _REF.match(ref.strip())
    if match is None:
        return f"cannot read placeholder ${{{ref}}}: expected ${{axis}} or ${{axis.key}}"
    if match["axis"] not in axes:
        return f"unknown parameter {match['axis']!r} (axes: {', '.join(axes)})"
    if match["key"] and not all(isinstance(v, dict) and match["key"] in v
                                for v in axes[match["axis"]]):
        return f"not every value of {match['axis']!r} is an object with key {match['key']!r}"
    return None


def _text(value: Any) -> str:
    """A parameter value as text: objects by their ``name`` if they have one."""
    if isinstance(value, dict) and "name" in value:
        return str(value["name"])
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
