"""The scenario builder produces documents the spec models accept, and loads files."""

import json

import pytest

from vantagepoint.client import Invalid, Scenario, Task
from vantagepoint.spec.models import ActionRef, ActionSpec, ScenarioSpec, TaskRef, TaskSpec


def _rtt() -> Scenario:
    s = Scenario("rtt")
    s.task("probe").action("a", node="n1", tool="ping", config={"target": "127.0.0.1"},
                           results=["rtt_ms"])
    return s


def test_one_liner_builds_a_valid_minimal_document():
    assert _rtt().to_dict() == {"name": "rtt", "tasks": [{"name": "probe", "actions": [
        {"name": "a", "node": "n1", "tool": "ping", "config": {"target": "127.0.0.1"},
         "results": ["rtt_ms"]}]}]}
    spec = ScenarioSpec.model_validate(_rtt().to_dict())
    assert spec.actions()[0].config == {"target": "127.0.0.1"}


def test_every_action_field_reaches_the_spec():
    s = Scenario("full", description="all fields", tags=["x"])
    task = s.task("t", description="a task", tags=["y"])
    returned = task.action("a", node="n1", tool="ping", config={"target": "::1"},
                           results=["rtt_ms"], conditions=["rtt_ms < 200"], interface="op0",
                           version="1.0", start=2, duration=3, description="d", tags=["z"])
    assert returned is task
    action = ScenarioSpec.model_validate(s.to_dict()).actions()[0]
    assert action == ActionSpec(name="a", node="n1", tool="ping", config={"target": "::1"},
                                results=["rtt_ms"], conditions=["rtt_ms < 200"],
                                interface="op0", version="1.0", start=2, duration=3,
                                description="d", tags=["z"])
    assert s.to_dict()["description"] == "all fields"


def test_unset_fields_are_left_out():
    action = _rtt().to_dict()["tasks"][0]["actions"][0]
    assert set(action) == {"name", "node", "tool", "config", "results"}


def test_actions_chain_and_references_are_kept():
    s = Scenario("refs").use_task("shared")
    s.task("t").action("a", node="n1", tool="ping").use_action("stored").action(
        "b", node="n2", tool="ping")
    spec = ScenarioSpec.model_validate(s.to_dict())
    assert isinstance(spec.tasks[0], TaskRef) and spec.tasks[0].ref == "shared"
    actions = spec.tasks[1].actions
    assert isinstance(spec.tasks[1], TaskSpec)
    assert [type(a) for a in actions] == [ActionSpec, ActionRef, ActionSpec]
    assert actions[1].ref == "stored"


def test_task_builds_a_standalone_task_document():
    task = Task("shared").action("a", node="n1", tool="ping")
    assert TaskSpec.model_validate(task.to_dict()).name == "shared"


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_from_file_round_trips(tmp_path, suffix):
    doc = _rtt().use_task("shared").to_dict()
    path = tmp_path / f"rtt{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(doc))
    else:
        import yaml

        path.write_text(yaml.safe_dump(doc))
    assert Scenario.from_file(path).to_dict() == doc


def test_from_dict_reports_every_shape_problem_with_a_pointer():
    doc = {"name": "bad name", "tasks": [{"name": "t", "actions": [
        {"name": "a", "node": "n1", "tool": "ping", "colour": "blue"}]}]}
    with pytest.raises(Invalid) as err:
        Scenario.from_dict(doc)
    pointers = {p.pointer for p in err.value.problems}
    assert pointers == {"/name", "/tasks/0/actions/0/colour"}


def test_unparsable_or_non_object_files_are_invalid(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    for path in (broken, listing):
        with pytest.raises(Invalid, match=path.name):
            Scenario.from_file(path)


def test_to_yaml_loads_back(tmp_path):
    path = tmp_path / "rtt.yaml"
    path.write_text(_rtt().to_yaml())
    assert Scenario.from_file(path).to_dict() == _rtt().to_dict()
