"""The ``traceroute`` tool: the hops to a target, Paris style, over UDP or ICMP.

Each hop gets ``queries`` probes at once with TTL (hop limit) 1, 2, ... until
the destination answers (UDP: port unreachable; ICMP: echo reply), a router
says it is unreachable, or ``max_ttl``. Every probe of a run belongs to one
flow (``paris_id``; see ``tracewire``), so per-flow load balancers keep it on
one path. When the destination never answered, a last round with TTL 255
says whether it answers at all (Atlas's hop 255).

Probes go out on raw sockets and replies come in on a raw ICMP socket, so the
tool needs root (or CAP_NET_RAW); both are bound to ``env.device`` when set.
A round-trip time runs from just before the send to the kernel's receive
timestamp (SO_TIMESTAMPNS) where given, else to when user space read it.

Results: one ``hop`` per reply ({"hop", "from", "rtt"}, stamped with its
probe's send time), then ``reached`` and, when reached, ``hops``. When the
action requests it, ``atlas`` holds the run as a RIPE Atlas traceroute result.
"""

from __future__ import annotations

import secrets
import select
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import ResultSpec
from vantagepoint.tools import atlas
from vantagepoint.tools.base import ActionEnv, RunContext, Tool
from vantagepoint.tools.icmp import (
    bind_device,
    enable_receive_info,
    open_raw,
    receive,
    resolve,
    round_trip_ms,
    set_ttl,
    source_address,
)
from vantagepoint.tools.tracewire import Flow, Reply

POLL = 0.1  # longest select, so that a cancellation is noticed promptly
LAST_HOP = 255

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["target"],
    "properties": {
        "target": {"type": "string", "minLength": 1,
                   "description": "Host name, IPv4 or IPv6 address to trace."},
        "proto": {"enum": ["udp", "icmp"], "default": "udp",
                  "description": "UDP datagrams or ICMP echo requests as probes."},
        "first_ttl": {"type": "integer", "minimum": 1, "maximum": 255, "default": 1,
                      "description": "TTL (hop limit) of the first hop probed."},
        "max_ttl": {"type": "integer", "minimum": 1, "maximum": 255, "default": 30,
                    "description": "TTL of the last hop probed."},
        "queries": {"type": "integer", "minimum": 1, "maximum": 16, "default": 3,
                    "description": "Probes per hop."},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 60, "default": 1.0,
                    "description": "Seconds to wait for the replies of one hop."},
        "paris_id": {"type": "integer", "minimum": 0, "maximum": 65535, "default": 0,
                     "description": "The flow: UDP source port 20480 + paris_id mod "
                                    "12288, or the ICMP identifier."},
        "size": {"type": "integer", "minimum": 2, "maximum": 1452, "default": 48,
                 "description": "Payload bytes after the UDP or ICMP header."},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 33434,
                 "description": "UDP destination port (unused with ICMP)."},
    },
    "examples": [{"target": "127.0.0.1", "max_ttl": 5, "timeout": 0.5},
                 {"target": "192.0.2.1", "proto": "icmp", "paris_id": 7, "queries": 1}],
}

RESULTS = [
    ResultSpec(name="hop", type="object", conditionable=False,
               description='One reply: {"hop": TTL, "from": address, "rtt": ms}, '
                           "stamped with its probe's send time."),
    ResultSpec(name="hops", type="integer", unit="hops",
               description="Hops to the destination (only when it answered)."),
    ResultSpec(name="reached", type="boolean",
               description="Whether the destination answered within max_ttl."),
    ResultSpec(name="atlas", type="object", conditionable=False,
               description="The run as a RIPE Atlas traceroute result (when requested)."),
]


@dataclass(frozen=True)
class Settings:
    """A validated traceroute config with its defaults filled in."""

    target: str
    proto: str = "udp"
    first_ttl: int = 1
    max_ttl: int = 30
    queries: int = 3
    timeout: float = 1.0
    paris_id: int = 0
    size: int = 48
    port: int = 33434


@dataclass(frozen=True)
class Answer:
    """A probe's reply and its round-trip time."""

    reply: Reply
    rtt: float
    sent_at: float  # epoch seconds


@dataclass
class Hop:
    """One TTL's probes: an Answer or None (no reply) each; or why it failed."""

    ttl: int
    answers: list[Answer | None] = field(default_factory=list)
    error: str | None = None

    @property
    def final(self) -> bool:
        return self.error is not None or any(a and a.reply.final for a in self.answers)


class Traceroute(Tool):
    """Paris traceroute over UDP or ICMP: per-hop replies and an Atlas record."""

    name = "traceroute"
    version = "1.0"
    description = "Paris traceroute (UDP or ICMP, IPv4 and IPv6): the hops to a target."
    config_schema = CONFIG_SCHEMA
    results = RESULTS

    def __init__(self, env: ActionEnv):
        super().__init__(env)
        self.sockets: list[socket.socket] = []

    def init(self, config: dict[str, Any], requested: list[str]) -> None:
        """Check the config, resolve the target and open the raw sockets."""
        self.check_config(config, requested)
        s = self.settings = Settings(**config)
        if s.first_ttl > s.max_ttl:
            raise ToolError(f"first_ttl ({s.first_ttl}) is above max_ttl ({s.max_ttl})")
        self.family, self.addr = resolve(s.target, "traceroute")
        self.recv = self._open(open_raw(self.family, "traceroute"))
        self.send = self.recv if s.proto == "icmp" else self._open(self._udp_socket())
        self.recv.setblocking(False)
        self.kernel_stamps = enable_receive_info(self.recv, self.family)
        src = source_address(self.family, self.addr, self.env.device)
        self.send.bind((src, 0))  # the source the UDP pseudo-header sum assumes
        self.flow = Flow(self.family, s.proto, src, self.addr[0], s.paris_id, s.port, s.size)

    def _open(self, sock: socket.socket) -> socket.socket:
        self.sockets.append(sock)
        if self.env.device:
            bind_device(sock, self.env.device, "traceroute")
        return sock

    def _udp_socket(self) -> socket.socket:
        try:
            sock = socket.socket(self.family, socket.SOCK_RAW, socket.IPPROTO_UDP)
        except PermissionError as exc:
            raise ToolError("traceroute needs root (or CAP_NET_RAW) to send UDP probes on "
                            "a raw socket") from exc
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0)  # it never reads
        return sock

    def run(self, ctx: RunContext) -> None:
        """Probe hop by hop until the destination answers, then the summary."""
        ctx.log(self._start_line())
        started = time.time()
        hops = _Trace(self, ctx).run()
        reached = self.reached(hops)
        if reached is not None:
            ctx.emit("hops", reached)
        ctx.emit("reached", reached is not None)
        ctx.log(f"reached {self.addr[0]} in {reached} hop{'s' if reached > 1 else ''}"
                if reached else f"did not reach {self.addr[0]}")
        if "atlas" in ctx.requested:
            ctx.emit("atlas", self.record(hops, started))

    def finish(self) -> None:
        """Close the sockets."""
        for sock in self.sockets:
            sock.close()
        self.sockets = []

    def reached(self, hops: list[Hop]) -> int | None:
        """The TTL at which the destination answered (never the last-chance hop 255)."""
        for hop in hops:
            if hop.ttl <= self.settings.max_ttl and any(
                    a and a.reply.final and a.reply.source == self.addr[0] and not a.reply.error
                    for a in hop.answers):
                return hop.ttl
        return None

    def record(self, hops: list[Hop], started: float) -> dict[str, Any]:
        """The run as a RIPE Atlas traceroute result."""
        head = atlas.header("traceroute", self.version, self.env.action, self.family,
                            (self.addr[0], self.settings.target), self.flow.src,
                            self.settings.proto.upper(), started)
        return {**head, "paris_id": self.settings.paris_id, "endtime": int(time.time()),
                "size": self.settings.size, "result": [_atlas_hop(h) for h in hops]}

    def _start_line(self) -> str:
        s = self.settings
        where = self.env.device or self.env.interface or "default route"
        stamps = "kernel" if self.kernel_stamps else "user-space"
        return (f"traceroute {s.target} ({self.addr[0]}) from {self.env.node} ({where}): "
                f"{s.proto.upper()}, paris_id {s.paris_id}, TTL {s.first_ttl}-{s.max_ttl}, "
                f"{s.queries} probes per hop, {s.size} bytes, {stamps} receive timestamps")


def _atlas_hop(hop: Hop) -> dict[str, Any]:
    if hop.error is not None:
        return {"hop": hop.ttl, "error": hop.error}
    return {"hop": hop.ttl, "result": [_atlas_reply(a) for a in hop.answers]}


def _atlas_reply(answer: Answer | None) -> dict[str, Any]:
    if answer is None:
        return atlas.timeout()
    r = answer.reply
    entry: dict[str, Any] = {"from": r.source, "rtt": atlas.ms(answer.rtt), "size": r.size}
    if r.ttl is not None:
        entry["ttl"] = r.ttl
    if r.error:
        entry["err"] = r.error
    if r.inner_ttl not in (None, 1):
        entry["ittl"] = r.inner_ttl
    return entry


@dataclass(frozen=True)
class _Probe:
    query: int  # its place among its hop's probes
    sent_ns: int  # perf_counter_ns at send
    sent_wall_ns: int  # time_ns at send, against the kernel's receive timestamp


class _Trace:
    """One run: hop after hop over the tool's open sockets."""

    def __init__(self, tool: Traceroute, ctx: RunContext):
        self.tool, self.ctx, self.s = tool, ctx, tool.settings
        self.next_key = secrets.randbits(16)  # keys differ from a concurrent run's

    def run(self) -> list[Hop]:
        """Every hop probed, in order."""
        hops: list[Hop] = []
        for ttl in range(self.s.first_ttl, self.s.max_ttl + 1):
            if self.ctx.stopping:
                break
            hops.append(self.hop(ttl))
            if hops[-1].final:
                return hops
        if hops and not self.ctx.stopping and self.s.max_ttl < LAST_HOP:
            hops.append(self.hop(LAST_HOP))
        return hops

    def hop(self, ttl: int) -> Hop:
        """Send one hop's probes and wait for their replies."""
        hop = Hop(ttl, [None] * self.s.queries)
        set_ttl(self.tool.send, self.tool.family, ttl)
        pending: dict[int, _Probe] = {}
        for query in range(self.s.queries):
            key, probe = self._send(query)
            if probe is None:
                hop.error = key
                self.ctx.log(f"hop {ttl}: {key}", "warning")
                return hop
            pending[key] = probe
        self._collect(hop, pending, time.perf_counter() + self.s.timeout)
        self._report(hop)
        return hop

    def _key(self) -> int:
        key = self.next_key
        self.next_key = (self.next_key + 1) & 0xFFFF
        if self.s.proto == "udp":
            return 1 + key % 0xFFFE  # a UDP checksum is never 0 or 0xFFFF on the wire
        return key

    def _send(self, query: int) -> tuple[Any, _Probe | None]:
        key = self._key()
        packet = self.tool.flow.probe(key)
        sent_ns, sent_wall_ns = time.perf_counter_ns(), time.time_ns()
        try:
            self.tool.send.sendto(packet, (self.tool.addr[0], 0, *self.tool.addr[2:]))
        except OSError as exc:
            return f"sendto failed: {exc.strerror or exc}", None
        return key, _Probe(query, sent_ns, sent_wall_ns)

    def _collect(self, hop: Hop, pending: dict[int, _Probe], deadline: float) -> None:
        while pending and not self.ctx.stopping:
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            ready, _, _ = select.select([self.tool.recv], [], [], min(left, POLL))
            while ready and pending:
                try:
                    got = receive(self.tool.recv)
                except OSError:  # nothing left (EAGAIN)
                    break
                reply = self.tool.flow.parse(got.data, got.addr[0].split("%")[0], got.ttl)
                probe = pending.pop(reply.key, None) if reply else None
                if probe is not None:
                    rtt, _ = round_trip_ms(probe.sent_wall_ns, probe.sent_ns, got)
                    hop.answers[probe.query] = Answer(reply, rtt, probe.sent_wall_ns / 1e9)

    def _report(self, hop: Hop) -> None:
        words = []
        for answer in hop.answers:
            if answer is None:
                words.append("*")
                continue
            self.ctx.emit("hop", {"hop": hop.ttl, "from": answer.reply.source,
                                  "rtt": answer.rtt}, answer.sent_at)
            error = f" !{answer.reply.error}" if answer.reply.error else ""
            words.append(f"{answer.reply.source} {answer.rtt:.3f} ms{error}")
        self.ctx.log(f"{hop.ttl:>3}  " + "  ".join(words))
