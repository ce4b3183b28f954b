"""Build scenario documents in Python, or load them from YAML/JSON files.

    s = Scenario("rtt")
    s.task("probe").action("a", node="n1", tool="ping",
                           config={"target": "127.0.0.1"}, results=["rtt_ms"])
    client.submit(s)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from vantagepoint.errors import Invalid, Problem
from vantagepoint.spec.models import ScenarioSpec
from vantagepoint.spec.pointers import pydantic_problems


def _described(doc: dict[str, Any], description: str, tags: list[str] | None) -> dict[str, Any]:
    """Add description and tags only when set, so documents stay minimal."""
    if description:
        doc["description"] = description
    if tags:
        doc["tags"] = list(tags)
    return doc


class Task:
    """A task under construction: inline actions and references to stored ones."""

    def __init__(self, name: str, description: str = "", tags: list[str] | None = None):
        self.name = name
        self.description = description
        self.tags = list(tags or [])
        self.actions: list[dict[str, Any]] = []

    def action(self, name: str, node: str, tool: str, *, config: dict[str, Any] | None = None,
               results: list[str] | None = None, conditions: list[str] | None = None,
               interface: str | None = None, version: str | None = None, start: float = 0,
               duration: float | None = None, description: str = "",
               tags: list[str] | None = None,
               reactions: list[dict[str, Any]] | None = None) -> Task:
        """Add an inline action; returns the task so calls chain."""
        doc: dict[str, Any] = {"name": name, "node": node, "tool": tool,
                               "config": dict(config or {})}
        optional = {"interface": interface, "version": version, "duration": duration,
                    "results": list(results or []), "conditions": list(conditions or []),
                    "start": start or None, "reactions": list(reactions or [])}
        doc.update({k: v for k, v in optional.items() if v not in (None, [])})
        self.actions.append(_described(doc, description, tags))
        return self

    def use_action(self, name: str) -> Task:
        """Add a reference to an action stored on its own."""
        self.actions.append({"ref": name})
        return self

    def to_dict(self) -> dict[str, Any]:
        """The task document (as stored with PUT /tasks/{name} or inlined in a scenario)."""
        doc: dict[str, Any] = {"name": self.name}
        _described(doc, self.description, self.tags)
        doc["actions"] = [dict(a) for a in self.actions]
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Task:
        """A task builder holding an existing task document's actions."""
        task = cls(doc["name"], doc.get("description", ""), doc.get("tags"))
        task.actions = [dict(a) for a in doc.get("actions", [])]
        return task


class Scenario:
    """A scenario under construction: tasks built here and references to stored ones."""

    def __init__(self, name: str, description: str = "", tags: list[str] | None = None):
        self.name = name
        self.description = description
        self.tags = list(tags or [])
        self.tasks: list[Task | dict[str, str]] = []

    def task(self, name: str, description: str = "", tags: list[str] | None = None) -> Task:
        """Add an inline task and return it, to add actions to."""
        task = Task(name, description, tags)
        self.tasks.append(task)
        return task

    def use_task(self, name: str) -> Scenario:
        """Add a reference to a task stored on its own; returns the scenario."""
        self.tasks.append({"ref": name})
        return self

    def to_dict(self) -> dict[str, Any]:
        """The scenario document, as PUT /scenarios/{name} takes it."""
        doc: dict[str, Any] = {"name": self.name}
        _described(doc, self.description, self.tags)
        doc["tasks"] = [t.to_dict() if isinstance(t, Task) else dict(t) for t in self.tasks]
        return doc

    def to_spec(self) -> ScenarioSpec:
        """Check the document's shape locally; raise Invalid listing every problem."""
        return parse_scenario(self.to_dict())

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, doc: Any) -> Scenario:
        """A builder holding a scenario document, checked for shape first."""
        parse_scenario(doc)
        scenario = cls(doc["name"], doc.get("description", ""), doc.get("tags"))
        scenario.tasks = [
            dict(t) if "ref" in t else Task.from_dict(t) for t in doc.get("tasks", [])
        ]
        return scenario

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        """Load a scenario from a .yaml/.yml or .json file."""
        return cls.from_dict(load_document(path))

    def __repr__(self) -> str:
        return f"Scenario({self.name!r}, tasks={len(self.tasks)})"


def parse_scenario(doc: Any) -> ScenarioSpec:
    """Validate a scenario document's shape (not the fleet); raise Invalid with pointers."""
    if not isinstance(doc, dict):
        raise Invalid("a scenario document must be an object", [Problem("", "expected an object")])
    try:
        return ScenarioSpec.model_validate(doc)
    except ValidationError as exc:
        name = doc.get("name", "?")
        raise Invalid(f"the scenario {name!r} is not well formed",
                      pydantic_problems(exc)) from None


def load_document(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON object from a file (JSON by a .json extension, else YAML)."""
    path = Path(path)
    text = path.read_text()
    try:
        doc = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise Invalid(f"cannot parse {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise Invalid(f"{path} does not hold a spec document",
                      [Problem("", f"expected an object, found {type(doc).__name__}")])
    return doc
