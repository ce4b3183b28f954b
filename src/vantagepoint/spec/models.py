"""Scenario, task and action specs (pydantic 2, unknown fields refused).

A scenario holds tasks; a task holds actions. Tasks and actions may be written
inline or as ``{ref: name}`` to one stored on its own, so one fix reaches every
scenario that uses it. A scenario holds no times: those belong to an execution.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag

from vantagepoint.spec.conditions import parse_condition
from vantagepoint.spec.tools import NAME_PATTERN


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _inline_or_ref(value: Any) -> str:
    """Tell ``{ref: name}`` from an inline spec so errors name one shape only."""
    if isinstance(value, dict):
        return "~ref" if "ref" in value else "~inline"
    return "~ref" if isinstance(value, (ActionRef, TaskRef)) else "~inline"


def _parsed_condition(text: str) -> str:
    parse_condition(text)
    return text


ConditionText = Annotated[str, AfterValidator(_parsed_condition)]


class Reaction(_Spec):
    """A follow-up scenario scheduled on the alarm's node when a condition fires."""

    when: str | None = Field(None, description="One of the action's conditions; any when unset.")
    scenario: str = Field(pattern=NAME_PATTERN, description="A stored scenario of the owner.")
    duration: float = Field(gt=0, le=86400, description="Seconds.")
    min_interval: float = Field(
        300.0, ge=1, le=7 * 86400,
        description="At most one follow-up of this scenario on the node per this many seconds, "
                    "however often the condition fires.")


class PluginUse(_Spec):
    """A plugin chosen by name with its configuration (checked against the plugin's schema)."""

    name: str = Field(pattern=NAME_PATTERN)
    config: dict[str, Any] = Field(default_factory=dict)


class ActionRef(_Spec):
    """A reference to an action stored on its own."""

    ref: str = Field(pattern=NAME_PATTERN)


class ActionSpec(_Spec):
    """One tool instance on one node (and interface) for part of an execution."""

    name: str = Field(pattern=NAME_PATTERN)
    node: str = Field(min_length=1, max_length=128)
    interface: str | None = Field(None, max_length=32)
    tool: str = Field(pattern=NAME_PATTERN)
    version: str | None = Field(None, max_length=32)
    config: dict[str, Any] = Field(default_factory=dict)
    results: list[str] = Field(default_factory=list)
    conditions: list[ConditionText] = Field(default_factory=list)
    reactions: list[Reaction] = Field(default_factory=list)
    start: float = Field(0.0, ge=0, description="Offset from the execution's start, seconds.")
    duration: float | None = Field(
        None, gt=0, description="Seconds; the rest of the execution when unset."
    )
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    processors: list[PluginUse] = Field(
        default_factory=list,
        description="Result processors applied, in order, to this action's results on ingest.")

    def period(self, execution_duration: float) -> tuple[float, float]:
        """The activity period as half-open ``[start, end)`` offsets, clipped."""
        end = execution_duration if self.duration is None else self.start + self.duration
        return self.start, min(end, execution_duration)


class TaskRef(_Spec):
    """A reference to a task stored on its own."""

    ref: str = Field(pattern=NAME_PATTERN)


class TaskSpec(_Spec):
    """A named group of actions, reusable by reference."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    actions: list[
        Annotated[
            Annotated[ActionSpec, Tag("~inline")] | Annotated[ActionRef, Tag("~ref")],
            Discriminator(_inline_or_ref),
        ]
    ] = Field(default_factory=list)


class ScenarioSpec(_Spec):
    """A named set of tasks; the unit that is validated and executed."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    roles: list[Annotated[str, Field(pattern=NAME_PATTERN)]] = Field(
        default_factory=list,
        description="Placeholders an action may name as its node; a schedule binds them.",
    )
    shared: bool = Field(False, description="May overlap other shared executions on a node.")
    status: Literal["development", "approved"] = Field(
        "development", description="Testing nodes take development scenarios, deployed "
                                   "nodes approved ones.")
    traffic_bytes: int = Field(
        0, ge=0, description="Upper bound of traffic per measurement interface per run.")
    notify: list[Annotated[str, Field(pattern=NAME_PATTERN)]] | None = Field(
        None, description="Notifiers (configured on the core) that receive this scenario's "
                          "alarms; the core's defaults when unset.")
    execution_model: PluginUse | None = Field(
        None, description="What a failing action does to the execution; all-or-nothing "
                          "when unset.")
    tasks: list[
        Annotated[
            Annotated[TaskSpec, Tag("~inline")] | Annotated[TaskRef, Tag("~ref")],
            Discriminator(_inline_or_ref),
        ]
    ] = Field(default_factory=list)

    def actions(self) -> list[ActionSpec]:
        """Every inline action (call on a resolved spec to get them all)."""
        return [
            action
            for task in self.tasks if isinstance(task, TaskSpec)
            for action in task.actions if isinstance(action, ActionSpec)
        ]
