"""Node filter expressions: matching, precedence, normal form, errors with positions; ranking."""

from datetime import UTC, datetime, timedelta

import pytest

from vantagepoint.core.scheduler.filters import (
    And,
    Comparison,
    Everything,
    Not,
    Or,
    parse_filter,
    rank,
)
from vantagepoint.core.scheduler.model import NodeInfo
from vantagepoint.errors import Invalid

OSLO = NodeInfo("oslo-1", {"type": "deployed", "country": "no", "model": "apu2",
                           "site": "bus 12", "ram_gb": "4"}, ("op0", "op1"))
KARLSTAD = NodeInfo("karlstad-2", {"type": "deployed", "country": "se", "model": "apu1"},
                    ("op0", "op1", "op2"))
MADRID = NodeInfo("madrid-3", {"type": "testing", "country": "es", "model": "apu2"},
                  ("op0",), status="maintenance")
FLEET = [OSLO, KARLSTAD, MADRID]


def _matching(text: str) -> list[str]:
    flt = parse_filter(text)
    return [node.name for node in FLEET if flt.matches(node)]


@pytest.mark.parametrize(("text", "names"), [
    ("type=deployed and country=no and not model=apu1", ["oslo-1"]),
    ("(country=se or country=no) and interfaces>=2", ["oslo-1", "karlstad-2"]),
    ("type=testing AND country=es AND NOT model=apu1", ["madrid-3"]),
    ("country!=no", ["karlstad-2", "madrid-3"]),
    ("country==se", ["karlstad-2"]),
    ("interfaces=3", ["karlstad-2"]),
    ("interfaces<2", ["madrid-3"]),
    ("interfaces<=2", ["oslo-1", "madrid-3"]),
    ("interfaces>2", ["karlstad-2"]),
    ("name=madrid-3", ["madrid-3"]),
    ("status=active", ["oslo-1", "karlstad-2"]),
    ("status=maintenance", ["madrid-3"]),
    ('site="bus 12"', ["oslo-1"]),
    ("site='bus 12'", ["oslo-1"]),
    ("ram_gb=4.0", ["oslo-1"]),  # both numbers: numeric equality
    ("ram_gb>=4", ["oslo-1"]),  # missing attribute: ordering is false
    ("ram_gb=4", ["oslo-1"]),
    ("ram_gb!=4", ["karlstad-2", "madrid-3"]),  # missing attribute: != is true
    ("model>1", []),  # not a number on the node's side: false
    ("Country=no", []),  # keys and values are exact
    ("not not country=no", ["oslo-1"]),
    ("((country=no))", ["oslo-1"]),
])
def test_matching(text, names):
    assert _matching(text) == names


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_filter_matches_every_node(text):
    assert parse_filter(text) == Everything()
    assert str(parse_filter(text)) == ""
    assert _matching(text) == [node.name for node in FLEET]


@pytest.mark.parametrize(("text", "tree"), [
    ("a=1 or b=2 and c=3",
     Or((Comparison("a", "=", "1"), And((Comparison("b", "=", "2"), Comparison("c", "=", "3")))))),
    ("a=1 and b=2 or c=3",
     Or((And((Comparison("a", "=", "1"), Comparison("b", "=", "2"))), Comparison("c", "=", "3")))),
    ("not a=1 and b=2",
     And((Not(Comparison("a", "=", "1")), Comparison("b", "=", "2")))),
    ("not (a=1 and b=2)",
     Not(And((Comparison("a", "=", "1"), Comparison("b", "=", "2"))))),
    ("(a=1 or b=2) and c=3",
     And((Or((Comparison("a", "=", "1"), Comparison("b", "=", "2"))), Comparison("c", "=", "3")))),
    ("a=1 and b=2 and c=3",
     And((Comparison("a", "=", "1"), Comparison("b", "=", "2"), Comparison("c", "=", "3")))),
])
def test_precedence_is_not_then_and_then_or(text, tree):
    assert parse_filter(text) == tree


@pytest.mark.parametrize(("text", "normal"), [
    ("type=deployed AND  country=no and NOT model=apu1",
     "type=deployed and country=no and not model=apu1"),
    ("(country = se OR country = no) and interfaces >= 2",
     "(country=se or country=no) and interfaces>=2"),
    ("((a=1) or (b=2 and c=3))", "a=1 or b=2 and c=3"),
    ("not (a=1 or b=2)", "not (a=1 or b=2)"),
    ("site='bus 12' or x=\"and\" or y=\"q\\\"uote\"", 'site="bus 12" or x="and" or y="q\\"uote"'),
    ("a==1", "a=1"),
])
def test_normal_form_round_trips(text, normal):
    assert str(parse_filter(text)) == normal
    assert parse_filter(normal) == parse_filter(text)


@pytest.mark.parametrize(("text", "column", "expected"), [
    ("type=deployed and country", 26, "expected an operator"),
    ("type=deployed and country=", 27, "expected a value after '='"),
    ("type=deployed and country= and x=1", 28, "expected a value after '='"),
    ("a=1 and", 8, "expected a comparison such as key=value"),
    ("and a=1", 1, "expected a comparison such as key=value"),
    ("(a=1 or b=2", 12, "expected ')' to close the '(' at column 1"),
    ("a=1)", 4, "found ')' without a '('"),
    ("a=1 b=2", 5, "expected 'and', 'or' or the end of the filter, found 'b'"),
    ("a=1 & b=2", 5, "unexpected character '&'"),
    ("a=(", 3, "expected a value after '='"),
    ("()", 2, "expected a comparison"),
    ("site=\"bus 12", 6, "the quoted string is not closed"),
    ("ram>lots", 5, "expected a number after '>'"),
    ("interfaces=op0", 12, "interfaces counts the node's interfaces"),
])
def test_errors_name_the_column_and_what_was_expected(text, column, expected):
    with pytest.raises(Invalid) as caught:
        parse_filter(text)
    [problem] = caught.value.problems
    assert problem.pointer == "/filter"
    assert problem.message.startswith(f"at column {column}: ")
    assert expected in problem.message


def _node(name: str) -> NodeInfo:
    return NodeInfo(name)


NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_rank_by_freshest_heartbeat_then_name():
    nodes = [_node(n) for n in ("d", "c", "b", "a")]
    seen = {"a": None, "b": NOW - timedelta(minutes=5), "c": NOW, "d": NOW}
    assert [n.name for n in rank(nodes, seen)] == ["c", "d", "b", "a"]


def test_rank_by_data_left_first():
    nodes = [_node(n) for n in ("a", "b", "c", "d")]
    seen = {"a": NOW, "b": NOW - timedelta(hours=1), "c": None, "d": NOW}
    left = {"a": 1e9, "b": 5e9, "c": 5e9}  # d unknown: last
    assert [n.name for n in rank(nodes, seen, left)] == ["b", "c", "a", "d"]


def test_rank_leaves_its_input_alone_and_handles_unknown_nodes():
    nodes = [_node("b"), _node("a")]
    assert [n.name for n in rank(nodes, {})] == ["a", "b"]
    assert [n.name for n in nodes] == ["b", "a"]
