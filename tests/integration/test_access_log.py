"""VANTAGE_ACCESS_LOG: a line per request by default; none when nginx keeps that log."""

from __future__ import annotations

import httpx
import pytest

from tests.support import start_core

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("access_log", [True, False])
def test_access_log_setting(tmp_path, access_log):
    core = start_core(f"sqlite:///{tmp_path}/core.db", tmp_path, access_log=str(access_log))
    try:
        assert httpx.get(core.url + "/api/v1/agent/heartbeat", timeout=5).status_code == 405
    finally:
        core.proc.stop()
    output = core.proc.output()
    assert "Application startup complete" in output  # the rest of the log is still written
    assert ("GET /api/v1/agent/heartbeat" in output) is access_log
