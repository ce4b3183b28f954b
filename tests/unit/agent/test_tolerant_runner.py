"""A tolerant runner (quorum execution model): failed actions are noted, the rest run."""

from __future__ import annotations

import time

from tests.unit.agent.test_worker import results, until


def test_failed_init_and_failed_run_are_noted_while_the_rest_runs(make_runner, spool):
    runner = make_runner({"name": "a", "config": {"every": 0.05}, "results": ["count"]},
                         {"name": "b", "config": {"refuse": "no device"}},
                         {"name": "c", "config": {"every": 0.05, "raises": "boom"}},
                         duration=0.8, tolerant=True, kill_grace=5.0)
    runner.start()
    until(lambda: runner.ready or runner.init_failure, poll=runner.poll, what="every init")
    assert runner.ready and runner.init_failure is None
    runner.run(time.time() + 0.2)
    assert runner.wait(15)
    assert runner.run_failure is None
    failed = runner.failed_actions
    assert sorted(failed) == ["b", "c"]
    assert failed["b"] == "init failed: no device"
    assert failed["c"].startswith("run failed:") and "boom" in failed["c"]
    counted = [r.value for r in results(spool) if r.action == "a"]
    assert len(counted) >= 5


def test_a_tolerant_runner_fails_when_every_action_failed(make_runner):
    runner = make_runner({"name": "a", "config": {"refuse": "one"}},
                         {"name": "b", "config": {"refuse": "two"}}, tolerant=True)
    runner.start()
    until(lambda: runner.init_failure, poll=runner.poll, what="both inits to fail")
    assert not runner.ready
    assert "one" in runner.init_failure and "two" in runner.init_failure


def test_an_intolerant_runner_fails_at_the_first_refusal(make_runner):
    runner = make_runner({"name": "a", "config": {"every": 0.05}},
                         {"name": "b", "config": {"refuse": "no device"}})
    runner.start()
    until(lambda: runner.init_failure, poll=runner.poll, what="the refusal")
    assert not runner.ready and "no device" in runner.init_failure
