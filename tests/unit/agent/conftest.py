"""Fixtures for the agent's tests: a test tool plugin found by its entry point."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from vantagepoint.agent.runner import ExecutionRunner
from vantagepoint.agent.spool import Spool
from vantagepoint.wire import Assignment

PLUGINS = Path(__file__).parent / "plugins"


@pytest.fixture(scope="session")
def probe_plugin() -> Path:
    """Put the `probe` tool's distribution on sys.path; spawned workers inherit it."""
    sys.path.insert(0, str(PLUGINS))
    importlib.invalidate_caches()
    yield PLUGINS
    sys.path.remove(str(PLUGINS))


@pytest.fixture
def spool(tmp_path) -> Spool:
    opened = Spool(tmp_path / "spool.db")
    yield opened
    opened.close()


@pytest.fixture
def make_runner(probe_plugin, spool, tmp_path):
    """Build ExecutionRunners for actions given as dicts; every one is closed afterwards."""
    made: list[ExecutionRunner] = []

    def make(*actions: dict, duration: float = 1.0, execution_id: int = 7,
             kill_grace: float = 1.0, interfaces: dict[str, str] | None = None,
             init_timeout: float = 60.0, tolerant: bool = False) -> ExecutionRunner:
        assignment = Assignment(
            execution_id=execution_id, state="deploying", node_state="assigned",
            start_at="2030-01-01T00:00:00Z", duration=duration, tolerant=tolerant,
            actions=[{"node": "n1", "tool": "probe", **a} for a in actions])
        runner = ExecutionRunner(assignment, spool_path=spool.path, node="n1",
                                 work_root=tmp_path / "work", interfaces=interfaces,
                                 kill_grace=kill_grace, init_timeout=init_timeout)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.close()

