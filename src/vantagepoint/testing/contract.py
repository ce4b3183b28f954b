"""The contract every tool plugin honours, as a base class for its tests.

    from vantagepoint.testing import ToolContract

    class TestMyTool(ToolContract):
        tool_class = MyTool
        valid_config = {"target": "127.0.0.1"}
        invalid_configs = [{}, {"target": 5}]

pytest then checks that the config schema is valid Draft 2020-12 and accepts
``valid_config``, that each invalid config is refused (by the schema or by
``init`` raising ``ToolError``), that the result specs are well formed and the
metadata round-trips, that a short run emits only declared results of their
declared types and returns promptly at the end of its period, and that
``finish`` releases what ``init`` took even when ``run`` never ran.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any, ClassVar

import jsonschema
from jsonschema.exceptions import best_match

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import NAME_PATTERN, ResultSpec, ToolInfo
from vantagepoint.tools.base import ActionEnv, RunContext, Tool

LOG_LEVELS = ("debug", "info", "warning", "error")
Result = tuple[str, Any, float]
LogLine = tuple[str, str]

TYPE_CHECKS = {
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list | tuple),
}


def run_tool(
    tool_class: type[Tool], config: dict[str, Any], seconds: float,
    requested: list[str] | None = None, env: ActionEnv | None = None,
) -> tuple[list[Result], list[LogLine]]:
    """Init, run for up to ``seconds`` and finish a tool in-process; its results and logs."""
    results: list[Result] = []
    logs: list[LogLine] = []
    ctx = RunContext(
        emitter=lambda name, value, ts: results.append((name, value, ts)),
        logger=lambda message, level: logs.append((level, message)),
        end=time.time() + seconds, requested=list(requested or []),
    )
    tool = tool_class(env or ActionEnv(node="test", action="test"))
    try:
        tool.init(config, list(requested or []))
        tool.run(ctx)
    finally:
        tool.finish()
    return results, logs


def refusal(tool_class: type[Tool], config: dict[str, Any],
            env: ActionEnv | None = None) -> str | None:
    """Why the schema or ``init`` refuses ``config``; None when it is accepted."""
    validator = jsonschema.Draft202012Validator(tool_class.config_schema)
    error = best_match(validator.iter_errors(config))
    if error is not None:
        return f"schema: {error.message}"
    tool = tool_class(env or ActionEnv(node="test", action="test"))
    try:
        tool.init(config, [])
    except ToolError as exc:
        return f"init: {exc}"
    finally:
        tool.finish()
    return None


def type_problem(spec: ResultSpec | None, name: str, value: Any, dynamic: bool) -> str | None:
    """What is wrong with one emitted value, given its spec; None when nothing."""
    if spec is None:
        if not dynamic:
            return f"result {name!r} is not declared (and the tool has no dynamic results)"
        if not re.fullmatch(NAME_PATTERN, name):
            return f"result name {name!r} does not match {NAME_PATTERN}"
        return None
    if not TYPE_CHECKS[spec.type](value):
        return f"result {name!r} is declared {spec.type} but got {value!r}"
    return None


def open_fds() -> set[str] | None:
    """This process's open file descriptors, where /proc tells (else None)."""
    try:
        return set(os.listdir("/proc/self/fd"))
    except OSError:
        return None


class ToolContract:
    """Subclass in a test module and set ``tool_class`` and ``valid_config``."""

    tool_class: ClassVar[type[Tool]]
    valid_config: ClassVar[dict[str, Any] | None] = None
    invalid_configs: ClassVar[list[dict[str, Any]]] = []
    requested: ClassVar[list[str]] = []
    env: ClassVar[ActionEnv] = ActionEnv(node="contract", action="contract")
    run_seconds: ClassVar[float] = 1.0
    stop_grace: ClassVar[float] = 5.0  # how long after its period run may return
    refuses_unknown_options: ClassVar[bool] = True
    skip_reason: ClassVar[str | None] = None  # set to skip where the tool cannot run

    def setup_method(self, method: Any) -> None:
        """Skip every check where the tool cannot run (``skip_reason``)."""
        if self.skip_reason:
            import pytest  # only needed when tests run

            pytest.skip(self.skip_reason)

    def config(self) -> dict[str, Any]:
        """The valid config, failing clearly when there is none."""
        assert self.valid_config is not None, (
            f"{self.tool_class.__name__}: set valid_config, or give the config schema "
            "an 'examples' list")
        return self.valid_config

    def test_schema_is_draft_2020_12_and_accepts_valid_config(self) -> None:
        schema = self.tool_class.config_schema
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema.get("type") == "object", "a config schema describes an object"
        problem = best_match(
            jsonschema.Draft202012Validator(schema).iter_errors(self.config()))
        assert problem is None, f"valid_config fails the schema: {problem.message}"

    def test_invalid_configs_are_refused(self) -> None:
        for config in self.invalid_configs:
            assert refusal(self.tool_class, config, self.env), f"accepted {config!r}"

    def test_unknown_option_is_refused(self) -> None:
        if not self.refuses_unknown_options:
            return
        config = {**self.config(), "no_such_option_": 1}
        assert refusal(self.tool_class, config, self.env), "an unknown option was accepted"

    def test_result_specs_are_well_formed(self) -> None:
        specs = self.tool_class.results
        assert all(isinstance(s, ResultSpec) for s in specs), "results must be ResultSpecs"
        names = [s.name for s in specs]
        assert len(names) == len(set(names)), f"duplicate result names in {names}"
        assert specs or self.tool_class.dynamic_results, "the tool declares no result"

    def test_info_round_trips(self) -> None:
        info = self.tool_class.info()
        assert ToolInfo.model_validate_json(info.model_dump_json()) == info
        assert (info.name, info.version) == (self.tool_class.name, self.tool_class.version)

    def test_run_emits_declared_results_and_stops(self) -> None:
        started = time.monotonic()
        results, logs = run_tool(self.tool_class, self.config(), self.run_seconds,
                                 self.requested, self.env)
        took = time.monotonic() - started
        assert took < self.run_seconds + self.stop_grace, f"run ignored its end ({took:.1f} s)"
        assert results, "a run with valid_config emitted no result"
        info = self.tool_class.info()
        problems = [type_problem(info.result(n), n, v, info.dynamic_results)
                    for n, v, _ in results]
        assert not [p for p in problems if p], problems
        assert all(isinstance(ts, float) for _, _, ts in results), "timestamps are epoch floats"
        assert all(level in LOG_LEVELS for level, _ in logs), f"log levels are {LOG_LEVELS}"

    def test_finish_releases_without_run(self) -> None:
        before = open_fds()
        tool = self.tool_class(self.env)
        try:
            tool.init(self.config(), list(self.requested))
        finally:
            tool.finish()
        after = open_fds()
        if before is not None and after is not None:
            assert after <= before, f"finish left descriptors open: {sorted(after - before)}"


def contract_for(tool_class: type[Tool], **attributes: Any) -> type[ToolContract]:
    """A ToolContract subclass for a tool, its valid config from its schema's examples."""
    examples = tool_class.config_schema.get("examples") or [None]
    body = {"tool_class": tool_class, "valid_config": examples[0], **attributes}
    name = re.sub(r"\W", "_", f"Test_{tool_class.name}_{tool_class.version}_contract")
    return type(name, (ToolContract,), body)
