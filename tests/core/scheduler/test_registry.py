"""Policies load through the vantagepoint.policies entry points; settings select and order them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.metadata import EntryPoint

import pytest

from vantagepoint.config import CoreSettings
from vantagepoint.core.scheduler import registry
from vantagepoint.core.scheduler.memory import MemoryCalendar
from vantagepoint.core.scheduler.model import Booking, NodeInfo, Proposal, Span
from vantagepoint.core.scheduler.registry import (
    GROUP,
    PolicyLoadError,
    check_all,
    load_policies,
)

BUILT_IN = ["exclusive", "interface", "maintenance", "node-state", "tool-instances", "tool-pairs"]
NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)


def settings(**fields) -> CoreSettings:
    return CoreSettings(database_url="sqlite://", **fields)


def test_all_six_built_ins_load_by_entry_point():
    policies = load_policies(settings())
    assert [p.name for p in policies] == BUILT_IN
    assert all(callable(p.check) for p in policies)


def test_settings_select_and_order_policies():
    policies = load_policies(settings(policies=["maintenance", "exclusive"]))
    assert [p.name for p in policies] == ["maintenance", "exclusive"]
    assert load_policies(settings(policies=[])) == []


def test_unknown_policy_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="'nope'.*exclusive, interface, maintenance"):
        load_policies(settings(policies=["exclusive", "nope"]))


def test_a_policy_listed_twice_is_refused():
    with pytest.raises(ValueError, match="twice"):
        load_policies(settings(policies=["exclusive", "exclusive"]))


def test_a_policy_that_fails_to_construct_fails_loudly():
    with pytest.raises(PolicyLoadError, match="'maintenance'.*ValueError.*'3:00-04:00'"):
        load_policies(settings(maintenance_windows=["3:00-04:00"]))


def _fake_group(monkeypatch, *eps: EntryPoint) -> None:
    monkeypatch.setattr(registry, "entry_points", lambda group: list(eps))


def test_a_policy_that_fails_to_import_fails_loudly(monkeypatch):
    _fake_group(monkeypatch, EntryPoint("broken", "no_such_module_here:Policy", GROUP))
    with pytest.raises(PolicyLoadError, match="'broken'.*no_such_module_here.*ModuleNotFound"):
        load_policies(settings())


def test_a_policy_whose_name_differs_from_its_entry_point_is_refused(monkeypatch):
    value = "vantagepoint.core.scheduler.policies.exclusive:Exclusive"
    _fake_group(monkeypatch, EntryPoint("solo", value, GROUP))
    with pytest.raises(PolicyLoadError, match="must have name 'solo'"):
        load_policies(settings())


def test_one_name_registered_for_two_targets_is_refused(monkeypatch):
    _fake_group(monkeypatch, EntryPoint("x", "a:A", GROUP), EntryPoint("x", "b:B", GROUP))
    with pytest.raises(PolicyLoadError, match="registered twice"):
        load_policies(settings())


class CountingCalendar(MemoryCalendar):
    """Counts the questions it is asked."""

    asked = 0

    def bookings(self, node, span, padding):
        self.asked += 1
        return super().bookings(node, span, padding)


def test_check_all_concatenates_in_policy_order_and_asks_each_question_once():
    cal = CountingCalendar(nodes=[NodeInfo("n1")], bookings=[
        Booking("n1", Span(NOON, NOON + timedelta(hours=1)), schedule_id=4, tools=("ping",))])
    mine = Booking("n1", Span(NOON, NOON + timedelta(hours=1)), tools=("ping",))
    proposal = Proposal("alice", "s1", shared=False, status="approved", bookings=(mine,))
    policies = load_policies(settings(policies=["tool-instances", "exclusive", "interface"],
                                      tool_max_instances={"ping": 1}))
    refusals = check_all(policies, proposal, cal)
    assert [r.policy for r in refusals] == ["tool-instances", "exclusive", "interface"]
    assert all(r.conflict_schedule == 4 for r in refusals)
    assert cal.asked == 2  # padding 0 (shared by two policies) and padding 120 s
    assert check_all(policies, Proposal("alice", "s1", False, "approved", ()), cal) == []
