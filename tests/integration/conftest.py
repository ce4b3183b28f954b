"""Real processes: a core and agents on loopback, each its own OS process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import ADMIN_TOKEN, start_core

PLUGINS = Path(__file__).parent / "plugins"


@pytest.fixture
def core(database_url, tmp_path):
    """A running core; on failure the logs of every process are shown."""
    started = start_core(database_url, tmp_path)
    yield started
    for agent in started.agents:
        agent.stop()
    started.proc.stop()


@pytest.fixture
def plugin_env():
    """Environment that makes the third-party test tool discoverable by entry point."""
    path = os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path}


@pytest.fixture
def client(core):
    from vantagepoint.client import Client

    with Client(core.url, ADMIN_TOKEN) as c:
        yield c


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    started = item.funcargs.get("core") if hasattr(item, "funcargs") else None
    if report.failed and started is not None:
        for proc in [started.proc, *started.agents]:
            report.sections.append((f"log of {proc.name}", proc.output()[-6000:]))
