"""Helpers for tests that start real core and agent processes on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ADMIN_TOKEN = "vpu_test-admin-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@dataclass
class Proc:
    """A child process whose output goes to a log file we can show on failure."""

    name: str
    popen: subprocess.Popen
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self, sig: int = 9) -> None:
        if self.alive():
            self.popen.send_signal(sig)
            self.popen.wait(timeout=15)

    def stop(self) -> None:
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def spawn(name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None) -> Proc:
    log_path = log_dir / f"{name}.log"
    handle = open(log_path, "ab")
    full_env = {**os.environ, **(env or {})}
    popen = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, env=full_env,
                             start_new_session=True)
    handle.close()
    return Proc(name, popen, log_path)


@dataclass
class Core:
    url: str
    proc: Proc
    database_url: str
    log_dir: Path
    agents: list[Proc] = field(default_factory=list)

    def client(self, token: str = ADMIN_TOKEN) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=15,
                            headers={"Authorization": f"Bearer {token}"})

    def node_token(self, node: str) -> str:
        with self.client() as c:
            r = c.post("/api/v1/node-tokens", json={"node": node})
            r.raise_for_status()
            return r.json()["token"]

    def start_agent(self, name: str, data_dir: Path | None = None, extra_env=None,
                    token: str | None = None, **settings) -> Proc:
        """Start ``vantage agent`` for node ``name`` as its own process."""
        token = token or self.node_token(name)
        data_dir = data_dir or self.log_dir / f"agent-{name}"
        argv = [sys.executable, "-m", "vantagepoint.cli.main", "agent", "--core", self.url,
                "--token", token, "--name", name, "--data", str(data_dir),
                "--heartbeat", str(settings.pop("heartbeat", 2)),
                "--poll", str(settings.pop("poll", 0.2)),
                "--upload-interval", str(settings.pop("upload_interval", 0.5))]
        for key, value in settings.items():
            argv += [f"--{key.replace('_', '-')}", str(value)]
        proc = spawn(f"agent-{name}-{len(self.agents)}", argv, self.log_dir, extra_env)
        self.agents.append(proc)
        return proc


def start_core(database_url: str, log_dir: Path, port: int | None = None,
               host: str = "127.0.0.1", **env) -> Core:
    """Start ``vantage core`` on ``port`` (a free one by default) and wait until it answers."""
    port = port or free_port()
    argv = [sys.executable, "-m", "vantagepoint.cli.main", "core", "--port", str(port),
            "--host", host, "--database-url", database_url]
    settings_env = {"VANTAGE_ADMIN_TOKEN": ADMIN_TOKEN, "VANTAGE_TICK_SECONDS": "0.1",
                    "VANTAGE_START_MARGIN_SECONDS": "1.0",
                    "VANTAGE_READY_TIMEOUT_SECONDS": "30", "VANTAGE_END_GRACE_SECONDS": "20",
                    "VANTAGE_MIN_DURATION_SECONDS": "0.5", "VANTAGE_PADDING_SECONDS": "0",
                    "VANTAGE_FILES_DIR": str(log_dir / "files"),
                    **{f"VANTAGE_{k.upper()}": str(v) for k, v in env.items()}}
    proc = spawn(f"core-{port}", argv, log_dir, settings_env)
    core = Core(f"http://127.0.0.1:{port}", proc, database_url, log_dir)
    try:
        wait_until(lambda: _healthy(core), timeout=30, what="the core to answer")
    except AssertionError:
        proc.stop()
        raise AssertionError("core did not start:\n" + proc.output()) from None
    return core


def _healthy(core: Core) -> bool:
    if not core.proc.alive():
        raise AssertionError("core exited:\n" + core.proc.output())
    try:
        return httpx.get(core.url + "/api/v1/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
