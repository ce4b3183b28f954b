"""A real core with two agents, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.support import ADMIN_TOKEN, start_core, wait_until

CHROMIUM = os.environ.get("VANTAGE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
# Two nodes the map can place: Stockholm and Madrid.
NODES = {"n1": {"lat": "59.33", "lon": "18.07", "country": "se", "site": "kista",
                "type": "testing"},
         "n2": {"lat": "40.42", "lon": "-3.70", "country": "es", "site": "leganes",
                "type": "testing"}}

# The node platform on loopback: a background ping on interface lo0, its modem described
# by configuration, sensors every second (the node page charts all three).
NODE_PLATFORM = {
    "VANTAGE_AGENT_INTERFACES": json.dumps({"lo0": "lo"}),
    "VANTAGE_AGENT_BACKGROUND_TARGET": "127.0.0.1",
    "VANTAGE_AGENT_BACKGROUND_SECONDS": "0.5",
    "VANTAGE_AGENT_MODEMS": json.dumps({"lo0": {"Operator": "Telia", "DeviceMode": 5,
                                                "RSSI": -67, "RSRP": -95}}),
    "VANTAGE_AGENT_MODEM_SECONDS": "1",
    "VANTAGE_AGENT_SENSOR_SECONDS": "1",
}


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package is not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no chromium at {CHROMIUM} (bash scripts/system-deps installs it)"
    return None


def require_chromium() -> None:
    """Skip without chromium and Playwright; under CI=true they must be there."""
    reason = _missing()
    if reason:
        if IN_CI:
            pytest.fail(reason + " (CI=true: browser tests must run)")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """A core on SQLite with agents n1 and n2 registered, both with lat/lon attributes."""
    tmp = tmp_path_factory.mktemp("fleet")
    core = start_core(f"sqlite:///{tmp}/core.db", tmp)
    try:
        for name, attrs in NODES.items():
            core.start_agent(name, extra_env={"VANTAGE_AGENT_ATTRIBUTES": json.dumps(attrs),
                                              **NODE_PLATFORM})
        with core.client() as c:
            wait_until(lambda: len([n for n in c.get("/api/v1/nodes").json() if n["online"]])
                       == 2, timeout=60, what="both agents to register")
        yield core
    finally:
        for agent in core.agents:
            agent.stop()
        core.proc.stop()


@pytest.fixture
def page(browser, request):
    """A fresh browser context per test (no shared cookies)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield context.new_page()
    context.close()


def shot(page, name: str) -> None:
    """Keep a screenshot of the page as a person would see it."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def login_with_token(page, base: str, token: str = ADMIN_TOKEN) -> None:
    page.goto(base + "/")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
