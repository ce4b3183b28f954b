"""Every pair of states: allowed moves pass, all others are refused."""

from __future__ import annotations

import pytest

from vantagepoint.core.run.states import (
    EXEC_FINAL,
    EXEC_TRANSITIONS,
    NODE_TRANSITIONS,
    check_exec,
    check_node,
)
from vantagepoint.errors import InvalidTransition
from vantagepoint.wire import ExecState, NodeState


@pytest.mark.parametrize("current", list(ExecState))
@pytest.mark.parametrize("target", list(ExecState))
def test_execution_transitions(current, target):
    if target in EXEC_TRANSITIONS[current]:
        assert check_exec(current, target) == target
    else:
        with pytest.raises(InvalidTransition):
            check_exec(current, target)


@pytest.mark.parametrize("current", list(NodeState))
@pytest.mark.parametrize("target", list(NodeState))
def test_node_transitions(current, target):
    if target in NODE_TRANSITIONS[current]:
        assert check_node(current, target) == target
    else:
        with pytest.raises(InvalidTransition):
            check_node(current, target)


def test_final_states_are_exactly_the_three_ends():
    assert EXEC_FINAL == {ExecState.FINISHED, ExecState.FAILED, ExecState.CANCELED}
