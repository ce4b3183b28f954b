"""Each built-in scheduling policy refuses exactly at its boundary and accepts just inside it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from vantagepoint.config import CoreSettings
from vantagepoint.core.scheduler.memory import MemoryCalendar
from vantagepoint.core.scheduler.model import Booking, NodeInfo, Proposal, Span
from vantagepoint.core.scheduler.policies.exclusive import Exclusive
from vantagepoint.core.scheduler.policies.interface import Interface
from vantagepoint.core.scheduler.policies.maintenance import Maintenance, longest_gap, parse_window
from vantagepoint.core.scheduler.policies.node_state import NodeState
from vantagepoint.core.scheduler.policies.tool_instances import ToolInstances
from vantagepoint.core.scheduler.policies.tool_pairs import ToolPairs

DAY = datetime(2026, 12, 1, tzinfo=UTC)
NOON = DAY + timedelta(hours=12)


def t(hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    """A moment on 2026-12-01 (UTC); hours past 24 run into the next days."""
    return DAY + timedelta(hours=hours, minutes=minutes, seconds=seconds)


def book(start: datetime, end: datetime, node: str = "n1", **fields) -> Booking:
    return Booking(node=node, span=Span(start, end), **fields)


def ask(*bookings: Booking, shared: bool = False, status: str = "approved") -> Proposal:
    return Proposal(owner="alice", scenario="s1", shared=shared, status=status,
                    bookings=tuple(bookings))


def calendar(*bookings: Booking, nodes: tuple[NodeInfo, ...] = ()) -> MemoryCalendar:
    return MemoryCalendar(nodes=nodes or (NodeInfo("n1"),), bookings=bookings)


def settings(**fields) -> CoreSettings:
    return CoreSettings(database_url="sqlite://", **fields)


# exclusive ---------------------------------------------------------------------------------

EXCLUSIVE = Exclusive(settings(padding_seconds=120))
BUSY = book(t(12), t(13), schedule_id=12)


def test_exclusive_refuses_inside_the_padding_after_a_booking():
    [refusal] = EXCLUSIVE.check(ask(book(t(13, seconds=119), t(14))), calendar(BUSY))
    assert refusal.policy == "exclusive"
    assert (refusal.node, refusal.occurrence, refusal.conflict_schedule) == ("n1", 0, 12)
    assert refusal.at == t(13, seconds=119)
    assert refusal.retry_after == t(13, seconds=120)
    assert ("node n1 is booked by schedule 12 from 2026-12-01T12:00Z to 2026-12-01T13:00Z"
            " (exclusive)") in refusal.message
    assert "2026-12-01T13:02Z" in refusal.message


def test_exclusive_accepts_exactly_the_padding_after_and_before():
    cal = calendar(BUSY)
    assert EXCLUSIVE.check(ask(book(t(13, seconds=120), t(14))), cal) == []
    assert EXCLUSIVE.check(ask(book(t(11), t(11, minutes=58))), cal) == []
    assert EXCLUSIVE.check(ask(book(t(11), t(11, minutes=58, seconds=1))), cal) != []


def test_exclusive_ignores_other_nodes():
    assert EXCLUSIVE.check(ask(book(t(12), t(13), node="n2")), calendar(BUSY)) == []


def test_shared_beside_shared_is_accepted_but_not_beside_exclusive():
    shared = book(t(12), t(13), schedule_id=7, shared=True)
    mine = book(t(12, 30), t(13, 30), shared=True)
    assert EXCLUSIVE.check(ask(mine, shared=True), calendar(shared)) == []
    [refusal] = EXCLUSIVE.check(ask(mine, shared=False), calendar(shared))
    assert "shared, but this request is exclusive" in refusal.message
    assert EXCLUSIVE.check(ask(mine, shared=True), calendar(BUSY))[0].conflict_schedule == 12


def test_system_bookings_are_never_shared():
    system = book(t(12), t(13), schedule_id=3, shared=True, system=True)
    mine = book(t(12, 30), t(13, 30), shared=True)
    [refusal] = EXCLUSIVE.check(ask(mine, shared=True), calendar(system))
    assert "system schedule 3" in refusal.message and refusal.conflict_schedule == 3


def test_exclusive_checks_a_proposals_occurrences_against_each_other():
    def periodic(period: timedelta) -> Proposal:
        return ask(*(book(t(12) + i * period, t(13) + i * period, occurrence=i)
                     for i in range(3)))

    refusals = EXCLUSIVE.check(periodic(timedelta(minutes=61)), calendar())
    assert [(r.occurrence, r.retry_after) for r in refusals] == [(0, None), (1, None)]
    assert "occurrence 0" in refusals[0].message and "occurrence 1" in refusals[0].message
    assert EXCLUSIVE.check(periodic(timedelta(minutes=62)), calendar()) == []


def test_a_schedules_own_older_bookings_are_not_a_conflict():
    mine = book(t(12, 30), t(13, 30), schedule_id=12)
    assert EXCLUSIVE.check(ask(mine), calendar(BUSY)) == []


# interface ---------------------------------------------------------------------------------

INTERFACE = Interface(settings())


def test_interface_refuses_a_common_interface_even_when_shared():
    other = book(t(12), t(13), schedule_id=5, shared=True, interfaces=("eth0", "wwan0"))
    mine = book(t(12, 59, 59), t(14), shared=True, interfaces=("wwan0",))
    [refusal] = INTERFACE.check(ask(mine, shared=True), calendar(other))
    assert (refusal.policy, refusal.node, refusal.occurrence) == ("interface", "n1", 0)
    assert (refusal.conflict_schedule, refusal.retry_after) == (5, t(13))
    assert refusal.at == t(12, 59, 59)
    assert "interface wwan0 of node n1 is used by schedule 5" in refusal.message


def test_interface_accepts_touching_or_disjoint_interfaces():
    other = book(t(12), t(13), schedule_id=5, shared=True, interfaces=("eth0",))
    cal = calendar(other)
    assert INTERFACE.check(ask(book(t(13), t(14), interfaces=("eth0",))), cal) == []
    assert INTERFACE.check(ask(book(t(12), t(13), interfaces=("wwan0",))), cal) == []


def test_no_interfaces_means_the_default_route():
    other = book(t(12), t(13), schedule_id=5, shared=True)
    cal = calendar(other)
    [refusal] = INTERFACE.check(ask(book(t(12), t(13))), cal)
    assert "interface default" in refusal.message
    assert INTERFACE.check(ask(book(t(12), t(13), interfaces=("eth0",))), cal) == []


def test_interface_checks_a_proposals_occurrences_against_each_other():
    first = book(t(12), t(13), occurrence=0)
    second = book(t(12, 59), t(14), occurrence=1)
    [refusal] = INTERFACE.check(ask(first, second, shared=True), calendar())
    assert (refusal.occurrence, refusal.retry_after) == (0, None)


# tool-pairs --------------------------------------------------------------------------------

PAIRS = ToolPairs(settings(tool_exclusions=[["throughput", "ping"]]))
PINGING = book(t(12), t(13), schedule_id=9, shared=True, tools=("ping",))


def test_tool_pairs_refuse_the_pair_in_parallel():
    mine = book(t(12, 59, 59), t(14), shared=True, tools=("throughput", "dns"))
    [refusal] = PAIRS.check(ask(mine, shared=True), calendar(PINGING))
    assert (refusal.policy, refusal.node, refusal.occurrence) == ("tool-pairs", "n1", 0)
    assert (refusal.conflict_schedule, refusal.retry_after) == (9, t(13))
    assert refusal.at == mine.span.start
    assert "schedule 9 runs ping on node n1" in refusal.message
    assert "ping and throughput never run in parallel" in refusal.message


def test_tool_pairs_accept_just_after_or_with_other_tools():
    cal = calendar(PINGING)
    assert PAIRS.check(ask(book(t(13), t(14), tools=("throughput",))), cal) == []
    assert PAIRS.check(ask(book(t(12), t(13), tools=("dns", "ping"))), cal) == []


def test_tool_pairs_refuse_one_booking_running_both():
    mine = book(t(12), t(13), tools=("ping", "throughput"))
    [refusal] = PAIRS.check(ask(mine), calendar())
    assert (refusal.retry_after, refusal.conflict_schedule, refusal.at) == (None, None, t(12))


def test_tool_pairs_need_two_different_tools():
    with pytest.raises(ValueError, match="ping"):
        ToolPairs(settings(tool_exclusions=[["ping", "ping"]]))


# tool-instances ----------------------------------------------------------------------------

INSTANCES = ToolInstances(settings(tool_max_instances={"ping": 2}))


def pinger(start: datetime, end: datetime, schedule_id: int | None = None, **fields) -> Booking:
    return book(start, end, schedule_id=schedule_id, shared=True, tools=("ping",), **fields)


def test_two_parallel_instances_are_accepted_and_a_third_refused():
    one = calendar(pinger(t(12), t(13), 1))
    assert INSTANCES.check(ask(pinger(t(12), t(13)), shared=True), one) == []
    two = calendar(pinger(t(12), t(13), 1), pinger(t(12, 30), t(14), 2))
    [refusal] = INSTANCES.check(ask(pinger(t(12, 59, 59), t(15)), shared=True), two)
    assert (refusal.policy, refusal.node, refusal.occurrence) == ("tool-instances", "n1", 0)
    assert (refusal.at, refusal.retry_after, refusal.conflict_schedule) == (t(12, 59, 59), t(13), 1)
    assert "at most 2" in refusal.message and "schedule 2" in refusal.message
    assert INSTANCES.check(ask(pinger(t(13), t(15)), shared=True), two) == []


def test_tool_instances_count_true_concurrency_not_a_sum():
    back_to_back = calendar(pinger(t(12), t(13), 1), pinger(t(13), t(14), 2))
    assert INSTANCES.check(ask(pinger(t(12, 30), t(13, 30)), shared=True), back_to_back) == []


def test_tool_instances_retry_after_ends_the_first_crowded_stretch():
    cal = calendar(pinger(t(12), t(13), 1), pinger(t(12), t(12, 30), 2),
                   pinger(t(12, 45), t(14), 3))
    [refusal] = INSTANCES.check(ask(pinger(t(12), t(15)), shared=True), cal)
    assert (refusal.at, refusal.retry_after) == (t(12), t(12, 30))


def test_one_booking_over_the_limit_is_refused_without_retry():
    mine = book(t(12), t(13), tools=("ping", "ping", "ping"))
    [refusal] = INSTANCES.check(ask(mine), calendar())
    assert refusal.retry_after is None and "3 instances of tool ping" in refusal.message


def test_tool_instances_count_the_proposals_own_occurrences():
    mine = [pinger(t(12), t(13, 30), occurrence=0), pinger(t(13), t(14), occurrence=1)]
    cal = calendar(pinger(t(12), t(15), 1))
    refusals = INSTANCES.check(ask(*mine, shared=True), cal)
    assert [(r.occurrence, r.at, r.retry_after) for r in refusals] == [
        (0, t(13), None), (1, t(13), None)]
    assert "occurrence 1 of this request" in refusals[0].message


# node-state --------------------------------------------------------------------------------

NODE_STATE = NodeState(settings())
NODES = (NodeInfo("test1", {"type": "testing"}), NodeInfo("dep1", {"type": "deployed"}),
         NodeInfo("lab1", {"type": "lab"}), NodeInfo("bare"),
         NodeInfo("fix1", {"type": "testing"}, status="maintenance"),
         NodeInfo("off1", {"type": "deployed"}, status="disabled"))


@pytest.mark.parametrize("node, status, words", [
    ("test1", "development", None),
    ("test1", "approved", "testing node and takes only development requests"),
    ("dep1", "approved", None),
    ("dep1", "development", "deployed node and takes only approved requests"),
    ("lab1", "development", None), ("lab1", "approved", None),
    ("bare", "approved", None),
    ("fix1", "development", "node fix1 is in maintenance and takes no work"),
    ("off1", "approved", "node off1 is disabled and takes no work"),
    ("ghost", "approved", "node ghost is not known"),
])
def test_node_state(node, status, words):
    proposal = ask(book(t(12), t(13), node=node, occurrence=4), status=status)
    refusals = NODE_STATE.check(proposal, calendar(nodes=NODES))
    if words is None:
        assert refusals == []
        return
    [refusal] = refusals
    assert words in refusal.message
    assert (refusal.policy, refusal.node, refusal.occurrence, refusal.at) == (
        "node-state", node, 4, t(12))
    assert refusal.retry_after is None


# maintenance -------------------------------------------------------------------------------

MAINTENANCE = Maintenance(settings(maintenance_windows=["03:00-03:30", "23:30-00:30"]))


def test_maintenance_boundary_before_a_window():
    assert MAINTENANCE.check(ask(book(t(2), t(3))), calendar()) == []
    [refusal] = MAINTENANCE.check(ask(book(t(2), t(3, seconds=1))), calendar())
    assert (refusal.policy, refusal.node, refusal.occurrence) == ("maintenance", "n1", 0)
    assert (refusal.at, refusal.retry_after, refusal.conflict_schedule) == (t(3), t(3, 30), None)
    assert "03:00-03:30 UTC (from 2026-12-01T03:00Z to 2026-12-01T03:30Z)" in refusal.message


def test_maintenance_boundary_after_a_window():
    assert MAINTENANCE.check(ask(book(t(3, 30), t(4))), calendar()) == []
    [refusal] = MAINTENANCE.check(ask(book(t(3, 29, 59), t(4))), calendar())
    assert refusal.at == t(3, 29, 59)


def test_maintenance_window_crossing_midnight():
    cal = calendar()
    assert MAINTENANCE.check(ask(book(t(22), t(23, 30))), cal) == []
    [late] = MAINTENANCE.check(ask(book(t(23), t(23, 30, 1))), cal)
    assert (late.at, late.retry_after) == (t(23, 30), t(24, 30))
    [early] = MAINTENANCE.check(ask(book(t(0, 29, 59), t(1))), cal)
    assert early.retry_after == t(0, 30)  # the window that began the evening before
    assert MAINTENANCE.check(ask(book(t(0, 30), t(2, 59))), cal) == []


def test_a_long_booking_meets_every_window_it_spans():
    refusals = MAINTENANCE.check(ask(book(t(23), t(27, 15))), calendar())
    assert sorted(r.retry_after for r in refusals) == [t(24, 30), t(27, 30)]


def test_a_booking_longer_than_any_gap_is_refused_without_retry():
    policy = Maintenance(settings(maintenance_windows=["03:00-03:30", "15:00-15:30"]))
    assert policy.gap == timedelta(hours=11, minutes=30)
    assert policy.check(ask(book(t(3, 30), t(15))), calendar()) == []
    [refusal] = policy.check(ask(book(t(4), t(16))), calendar())
    assert refusal.retry_after is None and "longer than" in refusal.message


@pytest.mark.parametrize("text", ["3:00-03:30", "03:00-03:60", "25:00-01:00", "03:00-03:00",
                                  "03:00 - 03:30", "03:00", "24:00-01:00"])
def test_malformed_window_is_refused_at_construction(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        Maintenance(settings(maintenance_windows=["01:00-01:10", text]))


def test_windows_parse_and_gaps():
    assert parse_window("23:30-00:30").length == timedelta(hours=1)
    assert parse_window("00:00-24:00").length == timedelta(days=1)
    assert longest_gap([parse_window("23:30-00:30")]) == timedelta(hours=23)
    assert longest_gap([parse_window("00:00-24:00")]) == timedelta(0)


# the proposal's own index ------------------------------------------------------------------


def test_own_index_answers_apart_nodes_from_the_smallest_gap_at_the_boundary():
    from vantagepoint.core.scheduler.policies import OwnIndex, siblings

    pad = timedelta(seconds=120)
    first, apart = book(t(12), t(13)), book(t(13, seconds=120), t(14), occurrence=1)
    close = book(t(12), t(13), node="n2")
    near = book(t(13, seconds=119), t(14), node="n2", occurrence=1)
    index = OwnIndex(ask(first, apart, close, near, book(t(15), t(16), node="n3")))
    assert index.apart("n1", pad) and not index.apart("n2", pad)
    assert index.apart("n3", pad) and index.apart("unknown", pad)
    assert index.close(pad) == {"n2"} and index.close(timedelta(seconds=119)) == set()
    assert siblings(index, first, pad) == [] and siblings(index, close, pad) == [near]


def test_exclusive_finds_own_occurrences_out_of_order_and_nested():
    long = book(t(12), t(16))
    inner, later = book(t(13), t(14), occurrence=1), book(t(17), t(18), occurrence=2)
    refusals = EXCLUSIVE.check(ask(later, inner, long), calendar())
    assert [(r.occurrence, r.at) for r in refusals] == [(0, t(13))]  # one pair, seen once
