"""The testbed's processes: its own core, one agent per node, one emulator per impaired link."""

from __future__ import annotations

import secrets
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from vantagepoint.testbed.errors import TestbedError
from vantagepoint.testbed.procs import python_argv, spawn, wait_for_line
from vantagepoint.testbed.state import State
from vantagepoint.testbed.topology import InterfacePlan, NodePlan, Plan

CLI = "vantagepoint.cli.main"
# Like `vantage up`: short runs back to back; the environment (or core_env) still wins.
CORE_DEFAULTS = {"VANTAGE_MIN_DURATION_SECONDS": "1", "VANTAGE_PADDING_SECONDS": "0"}
AGENT_DEFAULTS = {"heartbeat": "2", "poll": "0.5", "upload-interval": "1"}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def start_emulator(plan: Plan, node: NodePlan, iface: InterfacePlan, run_dir: Path,
                   state: State) -> subprocess.Popen:
    """One emulator process in the emulator namespace, for one node interface."""
    link = iface.link
    argv = python_argv("vantagepoint.testbed.emulator", "--a", iface.emu_a, "--b", iface.emu_b,
                       "--delay-ms", str(link.delay_ms), "--jitter-ms", str(link.jitter_ms),
                       "--loss-pct", str(link.loss_pct), "--reorder-pct", str(link.reorder_pct))
    log = run_dir / "logs" / f"emulator-{node.name}-{iface.name}.log"
    process, record = spawn("emulator", f"{node.name}/{iface.name}", argv, log,
                            plan.emu_namespace)
    state.add_process(record)
    wait_for_line(log, f"emulator {iface.emu_a} <-> {iface.emu_b}", process, timeout=15)
    return process


def start_core(plan: Plan, run_dir: Path, port: int, state: State,
               env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str, str]:
    """Start `vantage core` in the core namespace on SQLite in ``run_dir``; URL, admin token."""
    token = f"vpu_{secrets.token_urlsafe(24)}"
    token_file = run_dir / "admin-token"
    argv = python_argv(CLI, "core", "--host", "0.0.0.0", "--port", str(port),
                       "--database-url", f"sqlite:///{run_dir / 'core.db'}",
                       "--admin-token-file", str(token_file))
    environ = {**CORE_DEFAULTS, **(env or {}), "VANTAGE_ADMIN_TOKEN": token,
               "VANTAGE_FILES_DIR": str(run_dir / "files")}
    log = run_dir / "logs" / "core.log"
    process, record = spawn("core", "core", argv, log, plan.core_namespace, environ)
    state.add_process(record)
    url = f"http://{plan.core_address}:{port}"
    _wait_healthy(url, process, log)
    return process, url, token


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    raise TestbedError(f"the core did not answer at {url}; {log}:\n{tail}")


def agent_url(core_url: str, plan: Plan) -> str:
    """The core URL as the nodes see it: the host's loopback is the mgmt gateway for them."""
    parts = urlsplit(core_url)
    host = parts.hostname or ""
    if host not in LOOPBACK_HOSTS:
        return core_url
    netloc = plan.mgmt_gateway + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def node_token(core_url: str, admin_token: str, node: str) -> str:
    """A node token for ``node``, issued through the core API as admin."""
    try:
        response = httpx.post(f"{core_url}/api/v1/node-tokens", json={"node": node},
                              headers={"Authorization": f"Bearer {admin_token}"}, timeout=15)
    except httpx.HTTPError as exc:
        raise TestbedError(f"cannot reach the core at {core_url}: {exc}") from None
    if not response.is_success:
        raise TestbedError(f"the core refused a node token for {node} "
                           f"({response.status_code}): {response.text[:300]}")
    return response.json()["token"]


def start_agent(node: NodePlan, core_url: str, token: str, run_dir: Path, state: State,
                options: dict[str, str] | None = None) -> subprocess.Popen:
    """`vantage agent` in the node's namespace, with its interfaces and operators."""
    argv = python_argv(CLI, "agent", "--core", core_url, "--name", node.name,
                       "--data", str(run_dir / "agents" / node.name))
    for iface in node.interfaces:
        argv += ["--interface", f"{iface.name}={iface.device}"]
    for key, value in node_attributes(node).items():
        argv += ["--attr", f"{key}={value}"]
    given = {key.replace("_", "-"): value for key, value in (options or {}).items()}
    for key, value in {**AGENT_DEFAULTS, **given}.items():
        argv += [f"--{key}", str(value)]
    log = run_dir / "logs" / f"agent-{node.name}.log"
    # The token goes by environment so it does not show in the process list.
    process, record = spawn("agent", node.name, argv, log, node.namespace,
                            {"VANTAGE_AGENT_TOKEN": token})
    state.add_process(record)
    return process


def node_attributes(node: NodePlan) -> dict[str, str]:
    """Attributes an agent registers: testbed, op0's operator, each interface's operator."""
    attributes = {"type": "testbed", "operator": node.interfaces[0].operator}
    attributes.update({f"operator.{i.name}": i.operator for i in node.interfaces})
    return attributes
