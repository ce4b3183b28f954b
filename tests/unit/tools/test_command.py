"""The command tool, running real programs."""

from __future__ import annotations

import os
import time

import pytest

from vantagepoint.errors import ToolError
from vantagepoint.testing import ToolContract, run_tool
from vantagepoint.tools.command import Command

LOOP = ["/bin/sh", "-c", "for i in 1 2 3; do echo value=$i; done"]
VALUE = {"pattern": r"value=(?P<value>\S+)", "types": {"value": "integer"}}


class TestCommandContract(ToolContract):
    tool_class = Command
    valid_config = {"argv": LOOP, "parse": [VALUE]}
    requested = ["value", "exit_status"]
    invalid_configs = [
        {},
        {"argv": []},
        {"argv": LOOP, "stream": "stdin"},
        {"argv": LOOP, "parse": [{"pattern": "(?P<x"}]},
        {"argv": ["no-such-program-vp"]},
        {"argv": ["echo", "{missing}"]},
        {"argv": LOOP, "parse": [{"pattern": "x=(?P<x>.)", "types": {"x": "float"}}]},
    ]


def values(results, name):
    return [v for n, v, _ in results if n == name]


def run(config, seconds=10.0, requested=None):
    return run_tool(Command, config, seconds, requested)


def test_parses_integers_from_each_line():
    results, logs = run({"argv": LOOP, "parse": [VALUE]})
    assert values(results, "value") == [1, 2, 3]
    assert values(results, "exit_status") == [0]
    assert 0 <= values(results, "duration_s")[0] < 5
    assert "exited with status 0" in logs[-1][1]


def test_groups_are_strings_unless_typed():
    config = {"argv": ["printf", "rtt=0.25 ok=yes host=a\n"], "parse": [
        {"pattern": r"rtt=(?P<rtt>\S+) ok=(?P<ok>\S+)", "types": {"rtt": "number",
                                                                 "ok": "boolean"}},
        {"pattern": r"host=(?P<host>\w+)"},
    ]}
    results, _ = run(config)
    assert (values(results, "rtt"), values(results, "ok")) == ([0.25], [True])
    assert values(results, "host") == ["a"]


def test_unconvertible_value_is_logged_and_skipped():
    results, logs = run({"argv": ["printf", "value=abc\nvalue=4\n"], "parse": [VALUE]})
    assert values(results, "value") == [4]
    assert ("warning", "result 'value': cannot read 'abc' as integer") in logs


def test_argv_is_filled_from_vars():
    config = {"argv": ["printf", "{fmt}\n", "{word}", "{flag}", "{n:03d}"],
              "vars": {"fmt": "%s %s %s", "word": "hi", "flag": True, "n": 7},
              "parse": [{"pattern": r"^(?P<line>.*)$"}]}
    results, _ = run(config)
    assert values(results, "line") == ["hi true 007"]


def test_doubled_braces_are_literal():
    results, _ = run({"argv": ["echo", "{{x}}"], "parse": [{"pattern": r"(?P<out>\S+)"}]})
    assert values(results, "out") == ["{x}"]


def test_missing_var_is_refused_by_name():
    with pytest.raises(ToolError, match=r"argv\[1\] uses \{host\} but vars has no 'host'"):
        run({"argv": ["echo", "{host}"], "vars": {"hots": "x"}})


def test_missing_program_is_refused():
    with pytest.raises(ToolError, match="program 'no-such-program-vp' not found on this node"):
        run({"argv": ["no-such-program-vp", "-x"]})


def test_program_path_must_be_executable(tmp_path):
    script = tmp_path / "tool.sh"
    script.write_text("#!/bin/sh\necho value=1\n")
    with pytest.raises(ToolError, match="not found on this node"):
        run({"argv": [str(script)]})
    script.chmod(0o755)
    results, _ = run({"argv": ["./tool.sh"], "cwd": str(tmp_path), "parse": [VALUE]})
    assert values(results, "value") == [1]


def test_bad_regex_is_refused_with_its_index():
    config = {"argv": LOOP, "parse": [VALUE, {"pattern": "(?P<x>[a-"}]}
    with pytest.raises(ToolError, match=r"parse\[1\]\.pattern is not a valid regular"):
        run(config)


@pytest.mark.parametrize("rule, message", [
    ({"pattern": "value=(\\d+)"}, "has no named group"),
    ({"pattern": "(?P<v>.)", "types": {"w": "number"}}, "names 'w', which is not a group"),
    ({"pattern": "(?P<exit_status>.)"}, "cannot be a result name"),
])
def test_patterns_that_cannot_produce_results_are_refused(rule, message):
    with pytest.raises(ToolError, match=message):
        run({"argv": LOOP, "parse": [rule]})


def test_requested_result_must_come_from_a_group():
    config = {"argv": LOOP, "parse": [VALUE]}
    with pytest.raises(ToolError, match=r"result 'rtt' is not produced by any parse "
                                        r"pattern \(groups: value\)"):
        run(config, requested=["rtt"])
    results, _ = run(config, requested=["value", "duration_s"])
    assert values(results, "value") == [1, 2, 3]


def test_bad_cwd_is_refused(tmp_path):
    with pytest.raises(ToolError, match="is not a directory"):
        run({"argv": LOOP, "cwd": str(tmp_path / "absent")})


def test_cwd_and_env_reach_the_program(tmp_path):
    config = {"argv": ["/bin/sh", "-c", "echo dir=$PWD foo=$FOO"], "cwd": str(tmp_path),
              "env": {"FOO": "bar"}, "parse": [{"pattern": r"dir=(?P<dir>\S+) foo=(?P<foo>\S+)"}]}
    results, _ = run(config)
    assert (values(results, "dir"), values(results, "foo")) == ([str(tmp_path)], ["bar"])


def test_nonzero_exit_status_is_reported():
    results, logs = run({"argv": ["/bin/sh", "-c", "exit 3"]})
    assert values(results, "exit_status") == [3]
    assert "exited with status 3" in logs[-1][1]


def test_long_program_is_killed_at_the_end_of_its_period():
    started = time.monotonic()
    results, logs = run({"argv": ["sleep", "100"]}, seconds=1.0)
    assert time.monotonic() - started < 5.0
    assert values(results, "exit_status") == [-15]
    assert any("killed at the end of its period" in message for _, message in logs)


def test_timeout_kills_before_the_period_ends():
    results, logs = run({"argv": ["sleep", "100"], "timeout": 0.3}, seconds=30)
    assert values(results, "duration_s")[0] < 5.0
    assert ("warning", "sleep killed after its timeout of 0.3 s") in logs


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie awaiting reaping
    except FileNotFoundError:
        return True


def test_children_of_the_program_are_killed_too():
    config = {"argv": ["/bin/sh", "-c", "sleep 100 & echo pid=$!; wait"],
              "parse": [{"pattern": r"pid=(?P<pid>\d+)", "types": {"pid": "integer"}}]}
    results, _ = run(config, seconds=1.0)
    pid = values(results, "pid")[0]
    deadline = time.monotonic() + 5
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid), f"grandchild {pid} survived"
    assert pid != os.getpid()


def test_stderr_goes_to_the_log():
    results, logs = run({"argv": ["/bin/sh", "-c", "echo oops >&2; echo value=1"],
                         "parse": [VALUE]})
    assert values(results, "value") == [1]
    assert ("warning", "oops") in logs


def test_stderr_logging_is_bounded():
    script = "i=0; while [ $i -lt 300 ]; do echo e$i >&2; i=$((i+1)); done"
    _, logs = run({"argv": ["/bin/sh", "-c", script]})
    warnings = [m for level, m in logs if level == "warning"]
    assert len(warnings) == 201 and "not logged" in warnings[-1]


def test_stderr_can_be_parsed_instead_of_logged():
    config = {"argv": ["/bin/sh", "-c", "echo value=5 >&2; echo value=6; echo other >&2"],
              "parse": [VALUE], "stream": "stderr"}
    results, logs = run(config)
    assert values(results, "value") == [5]
    assert [m for level, m in logs if level == "warning"] == ["other"]


def test_finish_without_run_is_harmless():
    tool = Command(TestCommandContract.env)
    tool.init({"argv": LOOP}, [])
    tool.finish()
    tool.finish()
