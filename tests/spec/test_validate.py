"""Pure validation against an in-memory catalog."""

from __future__ import annotations

import pytest

from vantagepoint.errors import Invalid
from vantagepoint.spec.tools import ResultSpec, ToolInfo
from vantagepoint.spec.validate import (
    NodeView,
    check_periods,
    fleet_node,
    pick_tool,
    resolve_scenario,
)

TOOL = ToolInfo(name="t", version="1.2", results=[ResultSpec(name="v")],
                config_schema={"type": "object", "properties": {"n": {"type": "integer"}},
                               "additionalProperties": False})
OLD = TOOL.model_copy(update={"version": "1.10"})
DYNAMIC = ToolInfo(name="cmd", version="1.0", dynamic_results=True)


class Catalog:
    def __init__(self, tasks=None, actions=None):
        self.by_name = {"n1": NodeView("n1", ["op0"], [TOOL, OLD, DYNAMIC])}
        self.tasks, self.actions = tasks or {}, actions or {}

    def node(self, name):
        return self.by_name.get(name)

    def nodes(self):
        return list(self.by_name.values())

    def role_node(self, tool, version):
        return fleet_node(self.nodes(), tool, version)

    def task(self, name):
        return self.tasks.get(name)

    def action(self, name):
        return self.actions.get(name)


def _doc(*actions):
    return {"name": "s", "tasks": [{"name": "t", "actions": list(actions)}]}


def test_newest_version_is_picked_numerically():
    assert pick_tool(Catalog().node("n1"), "t", None).version == "1.10"
    assert "not 9" in pick_tool(Catalog().node("n1"), "t", "9")


def test_dynamic_tools_accept_any_result_name():
    spec = resolve_scenario(_doc({"name": "a", "node": "n1", "tool": "cmd",
                                  "results": ["anything"]}), Catalog())
    assert spec.actions()[0].results == ["anything"]


def test_duplicate_action_names_are_refused():
    a = {"name": "a", "node": "n1", "tool": "t"}
    with pytest.raises(Invalid) as err:
        resolve_scenario(_doc(a, a), Catalog())
    assert err.value.problems[0].pointer == "/tasks/0/actions/1/name"


def test_problems_inside_a_referenced_action_point_at_the_reference():
    catalog = Catalog(actions={"bad": {"name": "bad", "node": "n1", "tool": "t", "oops": 1}})
    with pytest.raises(Invalid) as err:
        resolve_scenario(_doc({"ref": "bad"}), catalog)
    assert err.value.problems[0].pointer == "/tasks/0/actions/0/ref/oops"


def test_not_an_object():
    with pytest.raises(Invalid) as err:
        resolve_scenario(["no"], Catalog())
    assert err.value.problems[0].message == "expected an object"


def test_periods_must_begin_inside_the_execution():
    spec = resolve_scenario(_doc({"name": "a", "node": "n1", "tool": "t", "start": 30}),
                            Catalog())
    assert check_periods(spec, 60) == []
    assert check_periods(spec, 30)[0].pointer == "/tasks/0/actions/0/start"
    assert spec.actions()[0].period(60) == (30, 60)


def test_actions_on_roles_are_checked_against_the_fleet():
    doc = _doc({"name": "a", "node": "sender", "tool": "t", "config": {"n": "x"}},
               {"name": "b", "node": "sender", "tool": "nope"})
    doc["roles"] = ["sender"]
    with pytest.raises(Invalid) as err:
        resolve_scenario(doc, Catalog())
    assert {p.pointer for p in err.value.problems} == {"/tasks/0/actions/0/config/n",
                                                       "/tasks/0/actions/1/tool"}
    ok = _doc({"name": "a", "node": "sender", "tool": "t", "config": {"n": 1}})
    ok["roles"] = ["sender"]
    assert resolve_scenario(ok, Catalog()).actions()[0].node == "sender"
