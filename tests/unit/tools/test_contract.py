"""Every tool registered through the ``vantagepoint.tools`` entry points passes the contract.

One ToolContract subclass per registered tool, its valid config taken from the
first example of the tool's config schema.
"""

from __future__ import annotations

import os

import pytest

from vantagepoint.spec.tools import ResultSpec
from vantagepoint.testing import contract_for, root_skip_reason, run_tool
from vantagepoint.tools import Tool, load_tools

NEEDS_ROOT = {"ping", "traceroute", "shaper", "capture",  # raw sockets, tc, tcpdump
              "experiment"}  # bubblewrap with capabilities, cgroups
REGISTRY = load_tools()


def test_every_entry_point_loads():
    assert REGISTRY.errors == {}
    assert {"ping", "command"} <= {name for name, _ in REGISTRY.tools}


def test_every_tool_gives_a_config_example():
    missing = [name for (name, _), cls in REGISTRY.tools.items()
               if not cls.config_schema.get("examples")]
    assert not missing, f"add 'examples' to the config schema of: {missing}"


for _tool in REGISTRY.tools.values():
    _skip = root_skip_reason() if _tool.name in NEEDS_ROOT else None
    _contract = contract_for(_tool, skip_reason=_skip)
    globals()[_contract.__name__] = _contract


class Faulty(Tool):
    """A tool that breaks the contract the way its config says."""

    name = "faulty"
    config_schema = {"type": "object", "additionalProperties": False,
                     "properties": {"fault": {"type": "string"}}, "examples": [{}]}
    results = [ResultSpec(name="n", type="integer")]

    def init(self, config, requested):
        self.fault = config.get("fault")
        self.file = open(os.devnull)  # released by finish, unless leaky

    def run(self, ctx):
        ctx.log("running", "loud" if self.fault == "level" else "info")
        name = "undeclared" if self.fault == "name" else "n"
        ctx.emit(name, "seven" if self.fault == "type" else 7)

    def finish(self):
        if self.fault != "leak":
            self.file.close()


def test_run_tool_returns_results_and_logs():
    results, logs = run_tool(Faulty, {}, 1)
    assert [(n, v) for n, v, _ in results] == [("n", 7)]
    assert logs == [("info", "running")]
    assert contract_for(Faulty)().test_run_emits_declared_results_and_stops() is None


@pytest.mark.parametrize("fault, check", [
    ("name", "test_run_emits_declared_results_and_stops"),
    ("type", "test_run_emits_declared_results_and_stops"),
    ("level", "test_run_emits_declared_results_and_stops"),
    ("leak", "test_finish_releases_without_run"),
])
def test_the_contract_catches_a_faulty_tool(fault, check):
    contract = contract_for(Faulty, valid_config={"fault": fault})()
    with pytest.raises(AssertionError):
        getattr(contract, check)()


def test_the_contract_catches_an_accepted_invalid_config():
    contract = contract_for(Faulty, invalid_configs=[{"fault": "anything"}])()
    with pytest.raises(AssertionError, match="accepted"):
        contract.test_invalid_configs_are_refused()
