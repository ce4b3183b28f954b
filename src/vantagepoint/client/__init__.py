"""The Python client of a vantagepoint core: build scenarios, run them, fetch results.

    from vantagepoint.client import Client, Scenario

    s = Scenario("rtt")
    s.task("probe").action("a", node="local", tool="ping",
                           config={"target": "127.0.0.1"}, results=["rtt_ms"])
    with Client() as client:
        execution = client.start(s, duration=10).wait()
        print(execution.state, len(execution.results()))
"""

from vantagepoint.client._client import Client
from vantagepoint.client.builder import Scenario, Task
from vantagepoint.client.execution import Execution
from vantagepoint.errors import (
    Conflict,
    Forbidden,
    Invalid,
    InvalidTransition,
    NotFound,
    Problem,
    ToolError,
    Unauthorized,
    Unschedulable,
    VantageError,
)

__all__ = [
    "Client", "Conflict", "Execution", "Forbidden", "Invalid", "InvalidTransition",
    "NotFound", "Problem", "Scenario", "Task", "ToolError", "Unauthorized",
    "Unschedulable", "VantageError",
]
