"""Dashboard page weight and speed: first load in headless Chromium against a real core.

Prints one figure per line:
  fleet_tti_ms         fleet page (map and table of --nodes nodes): navigation to interactive
  fleet_bytes          bytes transferred for that first load (page, scripts, styles, map)
  execution_tti_ms     an execution with --results results: to interactive, with its log
                       and its first result chart drawn
  execution_bytes      bytes transferred for that first load

"Interactive" is when the page marks itself ready (``body[data-ready]``, time in
``data-ready-at``): after DOMContentLoaded and, on the execution page, once its log
and first chart requests are answered and drawn. Each page is loaded in a fresh
browser context (cold cache), after one warm-up load of the browser itself.

Usage: python bench/web.py [--results N] [--nodes N] [--chromium PATH]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import httpx
from _core import start_core

TOKEN = "vpu_bench-admin-token-0123456789abcdef"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BATCH = 10_000
# Time to interactive and bytes, from the browser's own navigation and resource timings.
MEASURE = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const bytes = resources.reduce((sum, r) => sum + r.transferSize, nav.transferSize);
  return {tti: Number(document.body.dataset.readyAt) - nav.startTime, bytes};
}"""


def main() -> None:
    args = _args()
    with tempfile.TemporaryDirectory() as tmp:
        core, base = start_core(f"sqlite:///{tmp}/core.db", Path(tmp), TOKEN,
                                 VANTAGE_FILES_DIR=str(Path(tmp) / "files"))
        try:
            execution = _prepare(base, args.nodes, args.results)
            figures = _measure(base, execution, args.chromium)
        finally:
            core.terminate()
            core.wait(timeout=10)
    for name, value in figures.items():
        print(f"{name}={value}")


def _args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    return parser.parse_args()


def _prepare(base: str, nodes: int, results: int) -> int:
    """A fleet spread over the map, and one execution holding ``results`` RTT results."""
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=120)
    tool = {"name": "gen", "version": "1", "results": [{"name": "rtt_ms", "unit": "ms"}]}
    tokens = [_register(admin, base, i, nodes, tool) for i in range(nodes)]
    doc = {"name": "b", "tasks": [{"name": "t", "actions": [
        {"name": "a", "node": "b0", "tool": "gen", "results": ["rtt_ms"]}]}]}
    admin.put("/api/v1/scenarios/b", json=doc).raise_for_status()
    ex = admin.post("/api/v1/executions", json={"scenario": "b", "duration": 3600}).json()
    node = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens[0]}"},
                        timeout=120)
    for first in range(1, results + 1, BATCH):
        records = [{"kind": "result", "seq": seq, "execution_id": ex["id"], "action": "a",
                    "name": "rtt_ms", "ts": 1.7e9 + seq * 0.01, "value": 20 + (seq % 97) * 0.3}
                   for seq in range(first, min(first + BATCH, results + 1))]
        node.post("/api/v1/agent/records", json={"spool_id": "bench-web-1",
                                                 "records": records}).raise_for_status()
    return ex["id"]


def _register(admin: httpx.Client, base: str, i: int, nodes: int, tool: dict) -> str:
    name = f"b{i}"
    token = admin.post("/api/v1/node-tokens", json={"node": name}).json()["token"]
    attrs = {"lat": f"{-50 + 110 * i / max(nodes, 1):.2f}",
             "lon": f"{-170 + 340 * ((i * 37) % nodes) / nodes:.2f}",
             "type": "testing", "country": "se", "site": f"site{i % 7}"}
    body = {"name": name, "tools": [tool], "attributes": attrs,
            "interfaces": [{"name": "op0"}, {"name": "op1"}]}
    httpx.post(base + "/api/v1/agent/register", json=body,
               headers={"Authorization": f"Bearer {token}"}).raise_for_status()
    return token


def _measure(base: str, execution: int, chromium: str) -> dict[str, str]:
    from playwright.sync_api import sync_playwright

    figures = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        _first_load(browser, base, "/login")  # warm the browser itself up, not the pages
        for name, path in (("fleet", "/"), ("execution", f"/executions/{execution}")):
            tti, size = _first_load(browser, base, path)
            figures[f"{name}_tti_ms"] = f"{tti:.0f}"
            figures[f"{name}_bytes"] = str(size)
        browser.close()
    return figures


def _first_load(browser, base: str, path: str) -> tuple[float, int]:
    context = browser.new_context()
    context.add_cookies([{"name": "vp_session", "value": TOKEN, "url": base}])
    page = context.new_page()
    page.goto(base + path)
    page.wait_for_selector("body[data-ready]")
    measured = page.evaluate(MEASURE)
    context.close()
    return measured["tti"], int(measured["bytes"])


if __name__ == "__main__":
    main()
