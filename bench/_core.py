"""A real core process for benchmarks: uvicorn on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def start_core(database_url: str, tmp: Path, token: str, **env: str):
    """Start the core with ``token`` as admin token; return the process and its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "VANTAGE_DATABASE_URL": database_url, "VANTAGE_ADMIN_TOKEN": token,
           **env}
    log = open(tmp / "core.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "vantagepoint.core.app:create_app", "--factory",
         "--port", str(port), "--log-level", "warning"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("core did not start:\n" + (tmp / "core.log").read_text())
