"""`Testbed`: build the network, start emulators, core and agents; remove all of it."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from vantagepoint.testbed import agents, netns, network, procs
from vantagepoint.testbed.errors import TestbedError, require_root
from vantagepoint.testbed.state import STATE_FILE, State
from vantagepoint.testbed.topology import PREFIX, LinksFile, NodePlan, Plan, load_links, plan

DEFAULT_RUN_DIR = Path("vantage-testbed")
DEFAULT_CORE_PORT = 8080
TESTBED_NETWORK = "198.18.0.0/15"
CUT_TABLE = "vpcut"  # nftables table of a cut management link


class Testbed:
    """A running virtual testbed; `Testbed.up(...)` makes one, `down()` removes it."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, plan: Plan, run_dir: Path, state: State):
        self.plan = plan
        self.run_dir = run_dir
        self.state = state
        self.core_url: str | None = None  # as the host reaches it
        self.admin_token: str | None = None
        self._children: list[subprocess.Popen] = []

    @classmethod
    def up(cls, nodes: int = 2, interfaces: int = 1,
           links: str | Path | dict[str, Any] | LinksFile | None = None, *,
           run_dir: str | Path = DEFAULT_RUN_DIR, core_url: str | None = None,
           admin_token: str | None = None, core_port: int = DEFAULT_CORE_PORT,
           core_env: dict[str, str] | None = None, start_agents: bool = True,
           agent_options: dict[str, str] | None = None, online_timeout: float = 30.0,
           prefix: str = PREFIX) -> Testbed:
        """Build ``nodes`` namespaces with ``interfaces`` links each and start everything.

        Without ``core_url`` a core is started in its own namespace (SQLite in
        ``run_dir``); with it, ``admin_token`` issues the node tokens. Returns once
        every agent shows online. On any failure (or Ctrl-C) everything made so
        far is removed before the error is raised.
        """
        require_root()
        the_plan = plan(nodes, interfaces, load_links(links), prefix)
        run_dir = Path(run_dir).resolve()
        _refuse_leftovers(prefix, run_dir)
        state = State(run_dir / STATE_FILE, prefix, plan=_plan_summary(the_plan))
        state.save()
        bed = cls(the_plan, run_dir, state)
        try:
            bed._start(core_url, admin_token, core_port, core_env, start_agents, agent_options)
            if start_agents:
                bed.wait_online(online_timeout)
        except BaseException:
            bed.down()
            raise
        return bed

    def _start(self, core_url, admin_token, core_port, core_env, start_agents,
               agent_options) -> None:
        network.build(self.plan, self.state)
        for node, iface in self.plan.emulated:
            self._children.append(
                agents.start_emulator(self.plan, node, iface, self.run_dir, self.state))
        if core_url is None:
            network.add_core_namespace(self.plan, self.state)
            child, core_url, admin_token = agents.start_core(
                self.plan, self.run_dir, core_port, self.state, core_env)
            self._children.append(child)
        elif not admin_token:
            raise TestbedError("an existing core needs its admin token (--token or "
                               "$VANTAGE_TOKEN) to issue node tokens")
        self._set_core(core_url, admin_token)
        if start_agents:
            self._start_agents(agent_options)

    def _set_core(self, core_url: str, admin_token: str) -> None:
        self.core_url, self.admin_token = core_url.rstrip("/"), admin_token
        self.state.core_url = self.core_url
        self.state.admin_token_file = str(self.run_dir / "admin-token")
        self.state.save()
        # What `vantage --data RUN_DIR` and `Client(data_dir=RUN_DIR)` read.
        (self.run_dir / "url").write_text(self.core_url + "\n")
        token_file = self.run_dir / "admin-token"
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(admin_token + "\n")

    def _start_agents(self, options: dict[str, str] | None) -> None:
        url = agents.agent_url(self.core_url, self.plan)
        for node in self.plan.nodes:
            token = agents.node_token(self.core_url, self.admin_token, node.name)
            self._children.append(
                agents.start_agent(node, url, token, self.run_dir, self.state, options))

    @property
    def nodes(self) -> tuple[NodePlan, ...]:
        """The nodes, in order (n1, n2, ...)."""
        return self.plan.nodes

    def node(self, name: str) -> NodePlan:
        """The node called ``name``."""
        return self.plan.node(name)

    def run(self, node: str, *argv: str, timeout: float = 60,
            check: bool = False) -> subprocess.CompletedProcess:
        """Run a command in a node's namespace and capture its output (text)."""
        return subprocess.run(["ip", "netns", "exec", self.node(node).namespace, *argv],
                              capture_output=True, text=True, timeout=timeout, check=check)

    def popen(self, node: str, *argv: str, **kwargs) -> subprocess.Popen:
        """Start a command in a node's namespace (the caller waits for it)."""
        return subprocess.Popen(["ip", "netns", "exec", self.node(node).namespace, *argv],
                                **kwargs)

    def cut(self, node: str) -> None:
        """Black-hole a node's management link (its way to the core); measurement links stay."""
        rules = (f"table inet {CUT_TABLE} {{\n"
                 f"  chain out {{ type filter hook output priority 0; "
                 f"oifname \"{network.MGMT_DEVICE}\" drop; }}\n"
                 f"  chain in {{ type filter hook input priority 0; "
                 f"iifname \"{network.MGMT_DEVICE}\" drop; }}\n}}\n")
        done = subprocess.run(["ip", "netns", "exec", self.node(node).namespace, "nft", "-f", "-"],
                              input=rules, capture_output=True, text=True, timeout=15)
        if done.returncode != 0:
            raise TestbedError(f"cannot cut {node}'s link: nft: {done.stderr.strip()}")

    def restore(self, node: str) -> None:
        """Undo `cut`: the node reaches the core again (idempotent)."""
        self.run(node, "nft", "delete", "table", "inet", CUT_TABLE, timeout=15)

    def client(self):
        """A `vantagepoint.client.Client` on the testbed's core, as admin (close it after)."""
        from vantagepoint.client import Client

        return Client(self.core_url, self.admin_token)

    def online_nodes(self) -> list[dict]:
        """The testbed's nodes the core shows online (GET /api/v1/nodes)."""
        response = httpx.get(f"{self.core_url}/api/v1/nodes", timeout=10,
                             headers={"Authorization": f"Bearer {self.admin_token}"})
        response.raise_for_status()
        names = {n.name for n in self.plan.nodes}
        return [n for n in response.json() if n["name"] in names and n["online"]]

    def wait_online(self, timeout: float = 30.0) -> list[dict]:
        """Wait until every node's agent has registered; return them as the core shows them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check()
            online = self.online_nodes()
            if len(online) == len(self.plan.nodes):
                return online
            time.sleep(0.2)
        raise TestbedError(f"not every agent came online within {timeout:g} s; "
                           f"see the logs in {self.run_dir / 'logs'}")

    def check(self) -> None:
        """Raise TestbedError if a process the testbed started has exited."""
        for record in self.state.processes:
            if not procs.alive(record):
                raise TestbedError(f"the {record.role} {record.name} stopped; see {record.log}")

    def down(self) -> list[str]:
        """Stop every process and remove every namespace and link; idempotent."""
        removed = down(self.run_dir, self.plan.prefix)
        for child in self._children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
        self._children.clear()
        return removed

    def __enter__(self) -> Testbed:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.down()


def down(run_dir: str | Path = DEFAULT_RUN_DIR, prefix: str = PREFIX) -> list[str]:
    """Remove a testbed: its recorded processes, then every ``prefix`` namespace and link.

    Works from the state file in ``run_dir`` and, for anything it misses (or
    when it is gone), from the names: every namespace and host link whose name
    starts with ``prefix``, and every process living in those namespaces.
    """
    require_root()
    state = State.load(Path(run_dir).resolve() / STATE_FILE)
    removed = []
    if state is not None:
        prefix = state.prefix
        procs.stop(state.processes)
        removed += [f"process {r.role} {r.name} ({r.pid})" for r in state.processes]
    removed += network.teardown(prefix, state)
    if state is not None:
        state.remove()
    return removed


def status(run_dir: str | Path = DEFAULT_RUN_DIR, prefix: str = PREFIX) -> dict[str, Any]:
    """What runs and exists now: the recorded plan, processes, namespaces and links."""
    state = State.load(Path(run_dir).resolve() / STATE_FILE)
    prefix = state.prefix if state else prefix
    present_ns = netns.namespaces(prefix)
    return {
        "state_file": str(state.path) if state else None,
        "core_url": state.core_url if state else None,
        "admin_token_file": state.admin_token_file if state else None,
        "plan": state.plan if state else {},
        "processes": [{**dataclasses.asdict(r), "alive": procs.alive(r)}
                      for r in (state.processes if state else [])],
        "namespaces": present_ns,
        "links": netns.links(prefix),
    }


def _refuse_leftovers(prefix: str, run_dir: Path) -> None:
    """One testbed per host: its names and its addresses must be free."""
    leftovers = netns.namespaces(prefix) + netns.links(prefix)
    if leftovers or (run_dir / STATE_FILE).exists():
        what = ", ".join(leftovers[:6]) or str(run_dir / STATE_FILE)
        raise TestbedError(f"a testbed is already up or was not removed ({what}); "
                           f"`vantage testbed down` removes it")
    taken = netns.addresses_in(TESTBED_NETWORK)
    if taken:
        raise TestbedError(f"{TESTBED_NETWORK} is already in use on this host "
                           f"({', '.join(taken[:4])}); is another testbed up (other --prefix)?")


def _plan_summary(the_plan: Plan) -> dict[str, Any]:
    """The plan as JSON for the state file and `status`."""
    return {"operators": list(the_plan.operators), "nodes": [
        {"name": n.name, "namespace": n.namespace, "mgmt": n.mgmt_address,
         "interfaces": [{"name": i.name, "operator": i.operator, "address": i.address,
                         "gateway": i.gateway, "bridge": i.bridge, "host_dev": i.host_dev,
                         "link": i.link.model_dump(exclude_defaults=True),
                         "emulated": i.link.emulated} for i in n.interfaces]}
        for n in the_plan.nodes]}
