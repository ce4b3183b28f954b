"""Scenario -> task -> action specs, tool metadata and condition expressions."""

from vantagepoint.spec.conditions import Condition, parse_condition
from vantagepoint.spec.models import (
    ActionRef,
    ActionSpec,
    ScenarioSpec,
    TaskRef,
    TaskSpec,
)
from vantagepoint.spec.tools import ResultSpec, ToolInfo

__all__ = [
    "ActionRef", "ActionSpec", "Condition", "ResultSpec", "ScenarioSpec",
    "TaskRef", "TaskSpec", "ToolInfo", "parse_condition",
]
