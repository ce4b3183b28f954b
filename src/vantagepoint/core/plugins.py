"""Plugins of the core chosen by name in specs: execution models and result processors.

Both come from entry-point groups, built-ins included, and are loaded once per
process (entry points do not change while it runs). A plugin that fails to load
is an error naming it, never silently skipped. ``check_uses`` validates the
``{name, config}`` a spec gives against the plugin's own config schema.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from vantagepoint.errors import Problem
from vantagepoint.spec.models import ActionSpec, PluginUse, ScenarioSpec, TaskSpec
from vantagepoint.spec.pointers import join
from vantagepoint.spec.validate import schema_problems

MODELS = "vantagepoint.execution_models"
PROCESSORS = "vantagepoint.processors"
DEFAULT_MODEL = "all-or-nothing"
log = logging.getLogger(__name__)


def load_group(group: str) -> dict[str, Any]:
    """Every plugin of a group, instantiated, by name; one that fails raises naming it."""
    found = {}
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        try:
            found[ep.name] = ep.load()()
        except Exception as exc:
            raise RuntimeError(f"plugin {ep.name!r} of {group} ({ep.value}) failed to load: "
                               f"{exc}") from exc
    return found


@cache
def execution_models() -> dict[str, Any]:
    """The registered execution models by name."""
    return load_group(MODELS)


@cache
def processors() -> dict[str, Any]:
    """The registered result processors by name."""
    return load_group(PROCESSORS)


def check_use(use: PluginUse, plugins: dict[str, Any], what: str, at: str) -> list[Problem]:
    """A named plugin must exist and its config must fit its schema (and its own checks)."""
    plugin = plugins.get(use.name)
    if plugin is None:
        known = ", ".join(sorted(plugins)) or "none"
        return [Problem(join(at, "name"), f"unknown {what} {use.name!r} (known: {known})")]
    problems = schema_problems(plugin.config_schema, use.config, join(at, "config"))
    if not problems and hasattr(plugin, "check"):
        problems = [Problem(join(at, "config", *path), message)
                    for path, message in plugin.check(use.config)]
    return problems


def check_action_uses(action: ActionSpec, at: str) -> list[Problem]:
    """Every processor an action names."""
    return [p for i, use in enumerate(action.processors)
            for p in check_use(use, processors(), "result processor", join(at, "processors", i))]


def check_task_uses(task: TaskSpec, at: str = "") -> list[Problem]:
    return [p for i, action in enumerate(task.actions) if isinstance(action, ActionSpec)
            for p in check_action_uses(action, join(at, "actions", i))]


def check_scenario_uses(spec: ScenarioSpec) -> list[Problem]:
    """The execution model (with the action count it must judge) and every processor."""
    problems = [p for i, task in enumerate(spec.tasks) if isinstance(task, TaskSpec)
                for p in check_task_uses(task, join("", "tasks", i))]
    if spec.execution_model is not None:
        problems += check_use(spec.execution_model, execution_models(), "execution model",
                              "/execution_model")
        model = execution_models().get(spec.execution_model.name)
        if not problems and model is not None and hasattr(model, "check_fits"):
            problems += [Problem("/execution_model/config", message) for message in
                         model.check_fits(spec.execution_model.config, len(spec.actions()))]
    return problems


def model_of(snapshot: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The execution model (and its config) an execution's frozen spec chose.

    One uninstalled since the spec was validated gives way to the strictest, the default,
    rather than leaving the execution unjudged."""
    use = snapshot.get("execution_model") or {"name": DEFAULT_MODEL}
    model = execution_models().get(use["name"])
    if model is None:
        log.warning("execution model %r is not installed; judging by %s", use["name"],
                    DEFAULT_MODEL)
        return execution_models()[DEFAULT_MODEL], {}
    return model, dict(use.get("config") or {})
