"""The web front: for now a landing page; the dashboard grows here."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

import vantagepoint

router = APIRouter(include_in_schema=False)

LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vantagepoint</title>
<style>body{{font:16px system-ui,sans-serif;max-width:40rem;margin:3rem auto;color:#222}}
code{{background:#eee;padding:0 .3em}}</style></head>
<body><h1>vantagepoint {version}</h1>
<p>The core is running. The REST API lives under <code>/api/v1</code>;
its interactive documentation is at <a href="/docs">/docs</a>.</p>
<p>Try <code>vantage nodes</code> and <code>vantage run examples/ping.yaml --duration 10</code>.</p>
</body></html>"""


@router.get("/", response_class=HTMLResponse)
def landing() -> str:
    """The landing page."""
    return LANDING.format(version=vantagepoint.__version__)
