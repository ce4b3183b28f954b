"""Build a plan's namespaces, bridges, veth pairs, addresses and rate limits; remove them."""

from __future__ import annotations

import time

from vantagepoint.testbed import netns
from vantagepoint.testbed.errors import TestbedError
from vantagepoint.testbed.procs import kill_pids
from vantagepoint.testbed.state import State
from vantagepoint.testbed.topology import InterfacePlan, NodePlan, Plan, gateway

MGMT_DEVICE = "mgmt"
MGMT_PREFIX_LEN = 24


def build(plan: Plan, state: State) -> None:
    """Create everything in ``plan`` on this host, recording each object first."""
    _bridges(plan, state)
    if plan.emulated:
        _namespace(state, plan.emu_namespace)
    for node in plan.nodes:
        _node(plan, node, state)


def _namespace(state: State, name: str) -> None:
    state.add_namespace(name)
    netns.add_namespace(name)


def _bridges(plan: Plan, state: State) -> None:
    gateways = [(plan.mgmt_bridge, plan.mgmt_gateway)]
    gateways += [(bridge, gateway(k)) for k, bridge in enumerate(plan.bridges)]
    for bridge, address in gateways:
        state.add_link(bridge)
        netns.add_bridge(bridge)
        netns.add_address(bridge, f"{address}/24")


def _node(plan: Plan, node: NodePlan, state: State) -> None:
    _namespace(state, node.namespace)
    _mgmt(plan, node.namespace, node.mgmt_host_dev, node.mgmt_address, state)
    for iface in node.interfaces:
        if iface.link.emulated:
            _emulated_interface(plan, node, iface, state)
        else:
            _plain_interface(node, iface, state)
        _configure(node, iface)
    netns.add_default_route(node.interfaces[0].gateway, node.interfaces[0].device,
                            node.namespace)


def _mgmt(plan: Plan, namespace: str, host_dev: str, address: str, state: State) -> None:
    """The management veth: ``mgmt`` in ``namespace``, ``host_dev`` on the mgmt bridge."""
    state.add_link(host_dev)
    netns.add_veth(host_dev, None, MGMT_DEVICE, namespace)
    netns.attach(host_dev, plan.mgmt_bridge)
    netns.add_address(MGMT_DEVICE, f"{address}/{MGMT_PREFIX_LEN}", namespace)
    netns.up(MGMT_DEVICE, namespace)


def add_core_namespace(plan: Plan, state: State) -> None:
    """The namespace the testbed's own core runs in, on the management bridge."""
    _namespace(state, plan.core_namespace)
    _mgmt(plan, plan.core_namespace, plan.core_host_dev, plan.core_address, state)


def _plain_interface(node: NodePlan, iface: InterfacePlan, state: State) -> None:
    state.add_link(iface.host_dev)
    netns.add_veth(iface.host_dev, None, iface.device, node.namespace)
    netns.attach(iface.host_dev, iface.bridge)


def _emulated_interface(plan: Plan, node: NodePlan, iface: InterfacePlan,
                        state: State) -> None:
    """node op<k> = e..a [emulator] e..b = host end on the bridge; no offloads on the way."""
    emu = plan.emu_namespace
    netns.add_veth(iface.device, node.namespace, iface.emu_a, emu)
    state.add_link(iface.host_dev)
    netns.add_veth(iface.host_dev, None, iface.emu_b, emu)
    netns.attach(iface.host_dev, iface.bridge)
    for dev in (iface.emu_a, iface.emu_b):
        netns.quiet(dev, emu)
        netns.disable_offloads(dev, emu)
        netns.ip("link", "set", dev, "promisc", "on", "up", ns=emu)
    netns.disable_offloads(iface.device, node.namespace)
    netns.disable_offloads(iface.host_dev)


def _configure(node: NodePlan, iface: InterfacePlan) -> None:
    """Address, up, and the rate limit both ways (node egress and host egress)."""
    netns.add_address(iface.device, f"{iface.address}/24", node.namespace)
    netns.up(iface.device, node.namespace)
    rate = iface.link.rate_mbit
    if rate:
        netns.shape(iface.device, rate, iface.link.queue_ms, node.namespace)
        netns.shape(iface.host_dev, rate, iface.link.queue_ms)


def teardown(prefix: str, state: State | None, timeout: float = 10.0) -> list[str]:
    """Kill what runs in the prefix's namespaces, delete them and the prefix's host links.

    Returns once none is left: the kernel removes a namespace's links in the
    background, so the deletions are repeated until the names are gone.
    """
    removed = []
    deadline = time.monotonic() + timeout
    while True:
        namespaces = sorted(set(state.namespaces if state else []) & set(netns.namespaces(""))
                            | set(netns.namespaces(prefix)))
        links = sorted(set(state.links if state else []) & set(netns.links(""))
                       | set(netns.links(prefix)))
        if not namespaces and not links:
            return removed
        if time.monotonic() > deadline:
            raise TestbedError(f"could not remove {', '.join(namespaces + links)}")
        removed += _remove(namespaces, links)
        time.sleep(0.05)


def _remove(namespaces: list[str], links: list[str]) -> list[str]:
    for name in namespaces:
        kill_pids(netns.namespace_pids(name))
        netns.delete_namespace(name)
    for name in links:
        netns.delete_link(name)
    return [f"namespace {n}" for n in namespaces] + [f"link {n}" for n in links]
