"""The plan of a virtual testbed: nodes, operators, names, addresses and links (no I/O).

Addressing (198.18.0.0/15 is the benchmarking range, RFC 2544):

    operator k (k = 0..K-1)   bridge vp-br<k> on the host, 198.18.k.0/24
        host (gateway)        198.18.k.1
        node i, interface opk 198.18.k.(10+i)      default route via op0's gateway
    management                bridge vp-brm on the host, 198.19.0.0/24
        host                  198.19.0.1
        core (own namespace)  198.19.0.2
        node i, mgmt          198.19.0.(10+i)      agents reach the core this way

Names: node i is ``n<i>`` in namespace ``vp-n<i>``; its interface ``op<k>`` is a
veth whose host end ``vp-n<i>o<k>`` is a port of ``vp-br<k>``. An emulated link
puts namespace ``vp-emu`` in between: ``op<k>`` pairs with ``e<i>o<k>a`` there,
``vp-n<i>o<k>`` with ``e<i>o<k>b``, and an emulator process forwards between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vantagepoint.testbed.errors import TestbedError
from vantagepoint.testbed.impairment import Impairment

PREFIX = "vp-"
MGMT_GATEWAY = "198.19.0.1"
CORE_ADDRESS = "198.19.0.2"
MAX_NODES = 240
MAX_INTERFACES = 16


class LinkSpec(BaseModel):
    """What one node interface's link does; unset means a plain, unlimited wire."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_mbit: float | None = Field(None, gt=0, description="Rate limit each way (tc tbf).")
    delay_ms: float = Field(0.0, ge=0, description="One-way delay, each direction.")
    jitter_ms: float = Field(0.0, ge=0, description="Uniform +- spread of the delay.")
    loss_pct: float = Field(0.0, ge=0, le=100, description="Frames dropped, each direction.")
    reorder_pct: float = Field(0.0, ge=0, le=100, description="Frames sent ahead of the delay.")
    queue_ms: float = Field(50.0, gt=0, description="Queue of the rate limiter, as time.")

    def impairment(self) -> Impairment:
        """The emulator's part of this link."""
        return Impairment(self.delay_ms, self.jitter_ms, self.loss_pct, self.reorder_pct)

    @property
    def emulated(self) -> bool:
        """True when the link needs the user-space emulator."""
        return self.impairment().active()


class LinksFile(BaseModel):
    """The --links YAML: operator names, defaults for every link, and per-link settings."""

    model_config = ConfigDict(extra="forbid")

    operators: list[str] = Field(default_factory=list)
    defaults: LinkSpec = LinkSpec()
    links: dict[str, dict[str, LinkSpec]] = Field(default_factory=dict)

    def link(self, node: str, interface: str) -> LinkSpec:
        """The settings of one link: its own over the defaults."""
        own = self.links.get(node, {}).get(interface)
        if own is None:
            return self.defaults
        return self.defaults.model_copy(update=own.model_dump(exclude_unset=True))


def load_links(source: str | Path | dict[str, Any] | LinksFile | None) -> LinksFile:
    """A LinksFile from a YAML path, a dict, or nothing (every link plain)."""
    if source is None:
        return LinksFile()
    if isinstance(source, LinksFile):
        return source
    if isinstance(source, (str, Path)):
        try:
            source = yaml.safe_load(Path(source).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise TestbedError(f"cannot read the links file {source}: {exc}") from None
    try:
        return LinksFile.model_validate(source)
    except ValidationError as exc:
        problems = "; ".join(f"{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise TestbedError(f"bad links file: {problems}") from None


@dataclass(frozen=True)
class InterfacePlan:
    """One measurement interface of a node and the link behind it."""

    name: str
    operator: str
    bridge: str
    host_dev: str
    address: str
    gateway: str
    link: LinkSpec
    emu_a: str
    emu_b: str

    @property
    def device(self) -> str:
        """The device in the node's namespace (named as the interface)."""
        return self.name


@dataclass(frozen=True)
class NodePlan:
    """One node: its namespace, management address and interfaces."""

    name: str
    index: int
    namespace: str
    mgmt_address: str
    mgmt_host_dev: str
    interfaces: tuple[InterfacePlan, ...]

    def interface(self, name: str) -> InterfacePlan:
        """The interface called ``name``."""
        for iface in self.interfaces:
            if iface.name == name:
                return iface
        raise KeyError(f"node {self.name} has no interface {name}")


@dataclass(frozen=True)
class Plan:
    """Everything a testbed will create, named and addressed."""

    prefix: str
    nodes: tuple[NodePlan, ...]
    operators: tuple[str, ...]

    @property
    def bridges(self) -> list[str]:
        """Operator bridges, in operator order."""
        return [f"{self.prefix}br{k}" for k in range(len(self.operators))]

    @property
    def mgmt_bridge(self) -> str:
        """The management bridge: host, core and every node's ``mgmt`` link."""
        return f"{self.prefix}brm"

    @property
    def mgmt_gateway(self) -> str:
        """The host's address on the management bridge."""
        return MGMT_GATEWAY

    @property
    def core_address(self) -> str:
        """The address of the testbed's own core (in its namespace)."""
        return CORE_ADDRESS

    @property
    def core_namespace(self) -> str:
        """Where the testbed's own core runs."""
        return f"{self.prefix}core"

    @property
    def core_host_dev(self) -> str:
        """The host end of the core's management veth."""
        return f"{self.prefix}corem"

    @property
    def emu_namespace(self) -> str:
        """Where the emulators and their link ends live."""
        return f"{self.prefix}emu"

    @property
    def emulated(self) -> list[tuple[NodePlan, InterfacePlan]]:
        """Every (node, interface) whose link goes through the emulator."""
        return [(n, i) for n in self.nodes for i in n.interfaces if i.link.emulated]

    def node(self, name: str) -> NodePlan:
        """The node called ``name``."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"the testbed has no node {name}")


def gateway(operator: int) -> str:
    """The host's address on operator ``operator``'s bridge: the nodes' gateway there."""
    return f"198.18.{operator}.1"


def plan(nodes: int, interfaces: int = 1, links: LinksFile | None = None,
         prefix: str = PREFIX) -> Plan:
    """Name and address ``nodes`` nodes with ``interfaces`` interfaces each."""
    links = links or LinksFile()
    _check_counts(nodes, interfaces, links)
    operators = tuple(links.operators[k] if k < len(links.operators) else f"operator{k}"
                      for k in range(interfaces))
    planned = tuple(_node(i, operators, links, prefix) for i in range(1, nodes + 1))
    result = Plan(prefix, planned, operators)
    _check_links(result, links)
    return result


def _node(i: int, operators: tuple[str, ...], links: LinksFile, prefix: str) -> NodePlan:
    name = f"n{i}"
    ifaces = tuple(InterfacePlan(
        name=f"op{k}", operator=operators[k], bridge=f"{prefix}br{k}",
        host_dev=f"{prefix}n{i}o{k}", address=f"198.18.{k}.{10 + i}", gateway=gateway(k),
        link=links.link(name, f"op{k}"), emu_a=f"e{i}o{k}a", emu_b=f"e{i}o{k}b",
    ) for k in range(len(operators)))
    mgmt = MGMT_GATEWAY.rsplit(".", 1)[0] + f".{10 + i}"
    return NodePlan(name, i, f"{prefix}{name}", mgmt, f"{prefix}n{i}m", ifaces)


def _check_counts(nodes: int, interfaces: int, links: LinksFile) -> None:
    if not 1 <= nodes <= MAX_NODES:
        raise TestbedError(f"--nodes must be 1..{MAX_NODES}, not {nodes}")
    if not 1 <= interfaces <= MAX_INTERFACES:
        raise TestbedError(f"--interfaces must be 1..{MAX_INTERFACES}, not {interfaces}")
    if len(links.operators) > interfaces:
        raise TestbedError(f"the links file names {len(links.operators)} operators but nodes "
                           f"have {interfaces} interfaces; pass --interfaces "
                           f"{len(links.operators)}")


def _check_links(result: Plan, links: LinksFile) -> None:
    names = {n.name: {i.name for i in n.interfaces} for n in result.nodes}
    unknown = [f"{node}/{iface}" for node, ifaces in links.links.items()
               for iface in ifaces if iface not in names.get(node, ())]
    if unknown:
        raise TestbedError(f"the links file names links the testbed does not have: "
                           f"{', '.join(unknown)} (nodes n1..n{len(result.nodes)}, "
                           f"interfaces op0..op{len(result.operators) - 1})")
