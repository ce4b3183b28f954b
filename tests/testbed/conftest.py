"""The virtual testbed needs root and iproute2: skip with the reason, except under CI=true.

Tests build their testbeds with the prefix ``vpt-``, so they never touch a
developer's own (``vp-``) testbed, and first remove what a killed run left.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI") == "true"
PREFIX = "vpt-"


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "the virtual testbed needs root (network namespaces, veth, bridges, tc)"
    for tool in ("ip", "tc", "ping"):
        if shutil.which(tool) is None:
            return f"the virtual testbed needs `{tool}` (iproute2, iputils-ping)"
    return None


@pytest.fixture(scope="session")
def needs_root(tmp_path_factory) -> None:
    """Skip (or, with CI=true, fail) when this host cannot build a testbed; else clean up."""
    reason = _missing()
    if reason:
        if IN_CI:
            pytest.fail(reason + " (CI=true: the testbed tests must run)")
        pytest.skip(reason)
    from vantagepoint.testbed import down

    down(tmp_path_factory.mktemp("stale"), prefix=PREFIX)
