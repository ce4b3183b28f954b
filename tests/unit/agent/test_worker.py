"""Worker processes driven by an ExecutionRunner: real spawned processes, a real spool."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from vantagepoint.agent.spool import Spool
from vantagepoint.wire import LogRecord, ResultRecord

SLACK = 0.05  # a tool checks ``stopping`` a moment before it stamps a result


def until(predicate, timeout: float = 30.0, what: str = "condition", poll=None) -> None:
    """Poll (calling ``poll`` first each time) until ``predicate()`` is true."""
    limit = time.monotonic() + timeout
    while time.monotonic() < limit:
        if poll is not None:
            poll()
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def ready(runner) -> None:
    runner.start()
    until(lambda: runner.ready or runner.init_failure, poll=runner.poll, what="every init")
    assert runner.init_failure is None


def logs(spool, action: str | None = "a") -> list[str]:
    return [r.message for r in spool.records() if isinstance(r, LogRecord) and r.action == action]


def results(spool) -> list[ResultRecord]:
    return [r for r in spool.records() if isinstance(r, ResultRecord)]


def test_a_run_counts_within_its_period_and_logs_every_step(make_runner, spool):
    runner = make_runner({"name": "a", "config": {"every": 0.05}, "results": ["count"]},
                         duration=0.6)
    ready(runner)
    run_at = time.time() + 0.3
    runner.run(run_at)
    assert runner.wait(15)
    assert runner.run_failure is None
    got = results(spool)
    assert [r.value for r in got] == list(range(1, len(got) + 1)) and len(got) >= 5
    assert runner.results == len(got)
    assert all(run_at <= r.ts < run_at + 0.6 + SLACK for r in got)
    assert {(r.execution_id, r.action, r.name) for r in got} == {(7, "a", "count")}
    assert logs(spool) == ["init probe@0.1: ok", "run: started", f"counted to {len(got)}",
                           f"run: ended, {len(got)} results", "finish: done"]


def test_each_action_keeps_its_own_period(make_runner, spool):
    runner = make_runner({"name": "early", "duration": 0.3},
                         {"name": "late", "start": 0.5, "duration": 5.0}, duration=0.8)
    ready(runner)
    run_at = time.time() + 0.2
    runner.run(run_at)
    assert runner.wait(15) and runner.run_failure is None
    spans = {}
    for r in results(spool):
        spans.setdefault(r.action, []).append(r.ts - run_at)
    assert 0 <= min(spans["early"]) and max(spans["early"]) < 0.3 + SLACK
    assert 0.5 <= min(spans["late"]) and max(spans["late"]) < 0.8 + SLACK  # clipped


def test_a_refusal_at_init_is_a_clean_failure_with_its_reason(make_runner, spool):
    runner = make_runner({"name": "ok"}, {"name": "a", "config": {"refuse": "target unreachable"}})
    runner.start()
    until(lambda: runner.init_failure, poll=runner.poll, what="the init failure")
    assert runner.init_failure == "init of action 'a' (probe) failed: target unreachable"
    assert logs(spool) == ["init failed: target unreachable", "finish: done"]
    runner.cancel()
    assert runner.wait(15)
    assert logs(spool, "ok") == ["init probe@0.1: ok", "canceled before the run", "finish: done"]


def test_an_exception_in_init_and_an_unknown_tool_fail_init(make_runner, spool):
    runner = make_runner({"name": "a", "config": {"init_raises": "oops"}},
                         {"name": "b", "tool": "warp-drive"})
    runner.start()
    assert runner.wait(30)
    assert runner.init_failure == ("init of action 'a' (probe) failed: RuntimeError: oops; "
                                   "init of action 'b' (warp-drive) failed: "
                                   "tool 'warp-drive' is not installed")


def test_an_interface_this_node_lacks_fails_init(make_runner, spool):
    runner = make_runner({"name": "a", "interface": "lte"}, interfaces={"wifi": "wlan0"})
    runner.start()
    assert runner.wait(30)
    assert "interface 'lte' is not configured on node 'n1' (known: wifi)" in runner.init_failure


def test_an_exception_in_run_fails_the_run_and_finish_still_runs(make_runner, spool):
    runner = make_runner({"name": "a", "config": {"raises": "boom"}}, duration=5)
    ready(runner)
    runner.run(time.time())
    assert runner.wait(15)
    assert runner.run_failure == "run of action 'a' failed: RuntimeError: boom"
    assert logs(spool)[-2:] == ["run failed: RuntimeError: boom", "finish: done"]
    assert len(results(spool)) == 3  # what was emitted before the failure is kept


def test_a_tool_that_hangs_past_its_end_is_killed(make_runner, spool):
    runner = make_runner({"name": "a", "config": {"hang": True}}, duration=0.3, kill_grace=0.5)
    ready(runner)
    began = time.monotonic()
    runner.run(time.time())
    assert runner.wait(15)
    assert time.monotonic() - began < 5
    assert runner.run_failure == ("run of action 'a' failed: was still running 0.5 s after "
                                  "the end of its period; killed")
    assert logs(spool)[-2:] == ["the worker was told to stop (SIGTERM)", "finish: done"]


def test_a_worker_that_dies_is_reported_with_its_exit_code(make_runner, spool):
    runner = make_runner({"name": "a", "config": {"crash": 3}}, duration=5)
    ready(runner)
    runner.run(time.time())
    assert runner.wait(15)
    assert runner.run_failure == "run of action 'a' failed: the worker exited with code 3"


def test_cancel_stops_a_run_early_and_cleanly(make_runner, spool):
    runner = make_runner({"name": "a"}, duration=60)
    ready(runner)
    runner.run(time.time())
    until(lambda: len(results(spool)) >= 3, what="a few results")
    runner.cancel()
    assert runner.wait(5)
    assert runner.run_failure is None
    n = len(results(spool))
    assert logs(spool)[-2:] == [f"run: ended, {n} results (canceled)", "finish: done"]


def test_bad_values_become_warnings_not_crashes(make_runner, spool):
    runner = make_runner({"name": "a", "config": {"bad": True}}, duration=0.3)
    ready(runner)
    runner.run(time.time())
    assert runner.wait(15) and runner.run_failure is None
    warnings = [r.message for r in spool.records()
                if isinstance(r, LogRecord) and r.level == "warning"]
    assert len(warnings) == 3 and all(w.startswith("result refused: ") for w in warnings)
    assert all(isinstance(r.value, int) for r in results(spool))


def test_a_worker_dies_with_its_agent(probe_plugin, tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        from vantagepoint.agent.runner import ExecutionRunner
        from vantagepoint.wire import Assignment
        a = Assignment(execution_id=1, state="deploying", node_state="assigned",
                       start_at="2030-01-01T00:00:00Z", duration=600,
                       actions=[{{"name": "a", "node": "n1", "tool": "probe",
                                  "config": {{"hang": True}}}}])
        r = ExecutionRunner(a, spool_path={str(tmp_path / "spool.db")!r}, node="n1",
                            work_root={str(tmp_path / "work")!r})
        r.start()
        while not r.ready:
            r.poll()
            time.sleep(0.05)
        r.run(time.time())
        print(r._workers[0].process.pid, flush=True)
        time.sleep(600)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(probe_plugin), *sys.path])}
    agent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env,
                             text=True)
    try:
        worker = int(agent.stdout.readline())
        assert _alive(worker)
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
        until(lambda: not _alive(worker), timeout=10, what="the worker to die with its agent")
    finally:
        agent.kill()
        agent.wait()
    spool = Spool(tmp_path / "spool.db")
    assert logs(spool)[-2:] == ["the worker was told to stop (SIGTERM)", "finish: done"]
    spool.close()


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for a reaper counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
