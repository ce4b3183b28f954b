"""Tool metadata as nodes advertise it and the core validates against it.

This is the part of a tool the core needs (no implementation): the core never
imports tool code, so a node may run tools the core has never installed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ResultType = Literal["number", "integer", "string", "boolean", "object", "array"]
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"


class ResultSpec(BaseModel):
    """One result a tool can produce."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    type: ResultType = "number"
    unit: str | None = None
    description: str = ""
    conditionable: bool = True
    derived: bool = Field(
        False, description="Produced at the core by a result processor (e.g. joined halves), "
                           "not emitted on the node; conditions on it are watched at the core.")


class ToolInfo(BaseModel):
    """What a node says about one installed tool version."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    version: str = Field(min_length=1, max_length=32)
    description: str = ""
    config_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    results: list[ResultSpec] = Field(default_factory=list)
    dynamic_results: bool = Field(
        False,
        description="The tool derives further result names from its config "
        "(checked by the tool's init).",
    )

    def result(self, name: str) -> ResultSpec | None:
        return next((r for r in self.results if r.name == name), None)
