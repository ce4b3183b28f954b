"""The client's public surface is pinned: changing it must be a decision."""

import vantagepoint.client as client
from vantagepoint import errors


def test_public_names_are_pinned():
    assert sorted(client.__all__) == [
        "Client", "Conflict", "Execution", "Forbidden", "Invalid", "InvalidTransition",
        "NotFound", "Problem", "Scenario", "Task", "ToolError", "Unauthorized",
        "Unschedulable", "VantageError",
    ]
    for name in client.__all__:
        assert getattr(client, name) is not None


def test_errors_are_the_platform_ones():
    assert client.NotFound is errors.NotFound
    assert client.VantageError is errors.VantageError
