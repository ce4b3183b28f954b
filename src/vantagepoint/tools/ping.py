"""The ``ping`` tool: ICMP echo round-trip times and loss to one target.

It opens a raw ICMP socket when the process may (root or CAP_NET_RAW), else
the unprivileged ICMP datagram socket Linux offers to the groups listed in
``net.ipv4.ping_group_range``. Requests go out on a fixed grid
(start + k * interval) so the schedule never drifts; replies are matched by
identifier and sequence number.

Requests still unanswered (and not yet timed out) when the period ends get a
short grace; those still in flight after it are counted neither as sent nor
as lost.
"""

from __future__ import annotations

import errno
import os
import secrets
import select
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

import jsonschema

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import ResultSpec
from vantagepoint.tools.base import ActionEnv, RunContext, Tool

PROTO = {socket.AF_INET: socket.IPPROTO_ICMP, socket.AF_INET6: socket.IPPROTO_ICMPV6}
ECHO_REQUEST = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY = {socket.AF_INET: 0, socket.AF_INET6: 129}
STOP_GRACE = 0.25  # seconds left to replies in flight when the period ends
POLL = 0.1  # longest select, so that a cancellation is noticed promptly
RECV_SIZE = 65535 + 1024

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["target"],
    "properties": {
        "target": {"type": "string", "minLength": 1,
                   "description": "Host name, IPv4 or IPv6 address to ping."},
        "count": {"type": "integer", "minimum": 1,
                  "description": "Echo requests to send; without it, ping until the "
                                 "end of the period."},
        "interval": {"type": "number", "minimum": 0.01, "default": 1.0,
                     "description": "Seconds between two requests."},
        "size": {"type": "integer", "minimum": 0, "maximum": 65000, "default": 56,
                 "description": "Payload bytes of each request."},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 1.0,
                    "description": "Seconds to wait for each reply."},
        "ttl": {"type": "integer", "minimum": 1, "maximum": 255,
                "description": "IPv4 TTL or IPv6 hop limit of the requests."},
    },
    "examples": [{"target": "127.0.0.1", "count": 3, "interval": 0.2}],
}


def _ms(name: str, description: str) -> ResultSpec:
    return ResultSpec(name=name, type="number", unit="ms", description=description)


RESULTS = [
    _ms("rtt_ms", "Round-trip time of one reply (timestamped with its request)."),
    # How many were sent follows from the config, not the network: nothing to watch.
    ResultSpec(name="sent", type="integer", unit="packets", description="Requests sent.",
               conditionable=False),
    ResultSpec(name="received", type="integer", unit="packets", description="Replies received."),
    ResultSpec(name="loss_pct", type="number", unit="%", description="Requests without reply."),
    _ms("rtt_min_ms", "Smallest round-trip time (only when a reply came)."),
    _ms("rtt_avg_ms", "Mean round-trip time (only when a reply came)."),
    _ms("rtt_max_ms", "Largest round-trip time (only when a reply came)."),
]


@dataclass(frozen=True)
class Settings:
    """A validated ping config with its defaults filled in."""

    target: str
    count: int | None = None
    interval: float = 1.0
    size: int = 56
    timeout: float = 1.0
    ttl: int | None = None


class Ping(Tool):
    """ICMP echo to one host: per-reply RTT, then loss and RTT statistics."""

    name = "ping"
    version = "1.0"
    description = "ICMP echo (IPv4 and IPv6): round-trip times and packet loss."
    config_schema = CONFIG_SCHEMA
    results = RESULTS

    def __init__(self, env: ActionEnv):
        super().__init__(env)
        self.sock: socket.socket | None = None

    def init(self, config: dict[str, Any], requested: list[str]) -> None:
        """Check the config, resolve the target and open the socket."""
        check_config(config, requested)
        self.settings = Settings(**config)
        self.family, self.addr = resolve(self.settings.target)
        self.sock, self.raw = open_socket(self.family)
        self.sock.setblocking(False)
        if self.env.device:
            bind_device(self.sock, self.env.device)
        if self.settings.ttl is not None:
            set_ttl(self.sock, self.family, self.settings.ttl)

    def run(self, ctx: RunContext) -> None:
        """Send requests until count or the end of the period, then the summary."""
        ctx.log(self._start_line())
        tally = _Session(self, ctx).run()
        report(ctx, tally)

    def finish(self) -> None:
        """Close the socket."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _start_line(self) -> str:
        s = self.settings
        where = self.env.device or self.env.interface or "default route"
        count = f"{s.count} packets" if s.count else "until the end of the period"
        return (f"ping {s.target} ({self.addr[0]}) from {self.env.node} ({where}): {count}, "
                f"{s.size} bytes every {s.interval:g} s")


def check_config(config: dict[str, Any], requested: list[str]) -> None:
    """Refuse a config the schema rejects or a result ping does not produce."""
    errors = list(jsonschema.Draft202012Validator(CONFIG_SCHEMA).iter_errors(config))
    if errors:
        raise ToolError("invalid ping config: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or 'config'}: {e.message}" for e in errors))
    known = [r.name for r in RESULTS]
    for name in requested:
        if name not in known:
            raise ToolError(f"ping does not produce result {name!r} "
                            f"(it produces: {', '.join(known)})")


def resolve(target: str) -> tuple[int, tuple]:
    """The address family and socket address of a host name or address literal."""
    try:
        infos = socket.getaddrinfo(target, None, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ToolError(f"cannot resolve ping target {target!r}: {reason}") from exc
    for family, _, _, _, sockaddr in infos:
        if family in PROTO:
            return family, sockaddr
    raise ToolError(f"ping target {target!r} has no IPv4 or IPv6 address")


def open_socket(family: int) -> tuple[socket.socket, bool]:
    """An ICMP socket and whether it is raw (else an unprivileged datagram one)."""
    try:
        return socket.socket(family, socket.SOCK_RAW, PROTO[family]), True
    except PermissionError:
        pass
    try:
        return socket.socket(family, socket.SOCK_DGRAM, PROTO[family]), False
    except OSError as exc:
        raise ToolError(_privilege_message()) from exc


def _privilege_message() -> str:
    try:
        with open("/proc/sys/net/ipv4/ping_group_range") as f:
            allowed = " ".join(f.read().split())
    except OSError:
        allowed = "unknown"
    return (f"ping needs root (or CAP_NET_RAW) or net.ipv4.ping_group_range covering "
            f"gid {os.getegid()} (it is {allowed!r})")


def bind_device(sock: socket.socket, device: str) -> None:
    """Send and receive only through ``device`` (SO_BINDTODEVICE)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
    except OSError as exc:
        if exc.errno == errno.ENODEV:
            raise ToolError(f"device {device!r} does not exist on this node") from exc
        raise ToolError(f"cannot bind ping to device {device!r}: {exc.strerror}") from exc


def set_ttl(sock: socket.socket, family: int, ttl: int) -> None:
    """Set the IPv4 TTL or the IPv6 unicast hop limit."""
    if family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(family: int, ident: int, seq: int, payload: bytes) -> bytes:
    """An ICMP or ICMPv6 echo request (the kernel sums ICMPv6 itself)."""
    kind = ECHO_REQUEST[family]
    total = checksum(struct.pack("!BBHHH", kind, 0, 0, ident, seq) + payload)
    if family == socket.AF_INET6:
        total = 0
    return struct.pack("!BBHHH", kind, 0, total, ident, seq) + payload


def parse_reply(data: bytes, family: int, raw: bool) -> tuple[int, int] | None:
    """(identifier, sequence) of an echo reply; None for any other message."""
    if raw and family == socket.AF_INET and data:
        data = data[(data[0] & 0x0F) * 4:]  # raw IPv4 sockets see the IP header
    if len(data) < 8:
        return None
    kind, code, _, ident, seq = struct.unpack_from("!BBHHH", data)
    if kind != ECHO_REPLY[family] or code != 0:
        return None
    return ident, seq


@dataclass
class Tally:
    """What a run counted."""

    sent: int = 0
    received: int = 0
    in_flight: int = 0
    send_errors: int = 0
    rtt_min: float = float("inf")
    rtt_max: float = 0.0
    rtt_sum: float = 0.0

    def add(self, rtt: float) -> None:
        """Count one reply and its round-trip time."""
        self.received += 1
        self.rtt_min = min(self.rtt_min, rtt)
        self.rtt_max = max(self.rtt_max, rtt)
        self.rtt_sum += rtt


@dataclass(frozen=True)
class _Probe:
    sent_ns: int  # perf_counter_ns at send
    sent_at: float  # epoch seconds, the timestamp of its rtt
    deadline: float  # perf_counter seconds


class _Session:
    """One run of requests and replies over an open socket."""

    def __init__(self, tool: Ping, ctx: RunContext):
        self.tool, self.ctx, self.s = tool, ctx, tool.settings
        self.ident = secrets.randbits(16)  # the kernel replaces it on datagram sockets
        self.payload = bytes(i & 0xFF for i in range(self.s.size))
        self.pending: dict[int, _Probe] = {}  # by sequence, in send order
        self.tally = Tally()
        self.start = self.next_send = time.perf_counter()
        self.slot = 0
        self.grace_end: float | None = None

    def run(self) -> Tally:
        """Send, receive and expire until done; what was counted."""
        while not self._done():
            now = time.perf_counter()
            self._expire(now)
            if self._sending() and now >= self.next_send:
                self._send(now)
            else:
                self._receive(self._wait(now))
        self.tally.in_flight = len(self.pending)
        return self.tally

    def _done(self) -> bool:
        now = time.perf_counter()
        if self.grace_end is None and self.ctx.stopping:
            self.grace_end = now + min(STOP_GRACE, self.s.timeout)
        if self._sending():
            return False
        return not self.pending or (self.grace_end is not None and now >= self.grace_end)

    def _sending(self) -> bool:
        more = self.s.count is None or self.tally.sent < self.s.count
        return more and self.grace_end is None

    def _wait(self, now: float) -> float:
        wake = [next(iter(self.pending.values())).deadline] if self.pending else []
        if self._sending():
            wake += [self.next_send, now + self.ctx.remaining]
        if self.grace_end is not None:
            wake.append(self.grace_end)
        return min(max(0.0, min(wake, default=now) - now), POLL)

    def _expire(self, now: float) -> None:
        for seq, probe in list(self.pending.items()):
            if probe.deadline > now:
                break
            del self.pending[seq]

    def _send(self, now: float) -> None:
        seq = self.tally.sent & 0xFFFF
        self.pending.pop(seq, None)  # 65536 requests ago: long lost
        packet = echo_request(self.tool.family, self.ident, seq, self.payload)
        self.tally.sent += 1
        self._advance(now)
        sent_ns = time.perf_counter_ns()
        try:
            self.tool.sock.sendto(packet, self.tool.addr)
        except OSError as exc:
            self._send_failed(exc)
            return
        self.pending[seq] = _Probe(sent_ns, time.time(), sent_ns / 1e9 + self.s.timeout)

    def _advance(self, now: float) -> None:
        self.slot += 1
        if self.start + self.slot * self.s.interval < now:
            # Fell behind (a stall): skip the missed slots rather than burst.
            self.slot = int((now - self.start) / self.s.interval) + 1
        self.next_send = self.start + self.slot * self.s.interval

    def _send_failed(self, exc: OSError) -> None:
        self.tally.send_errors += 1
        if self.tally.send_errors == 1:
            self.ctx.log(f"sending to {self.tool.addr[0]} failed: {exc.strerror or exc}",
                         "warning")

    def _receive(self, timeout: float) -> None:
        ready, _, _ = select.select([self.tool.sock], [], [], timeout)
        while ready:
            try:
                data = self.tool.sock.recv(RECV_SIZE)
            except OSError:  # nothing left (EAGAIN) or a queued ICMP error
                return
            self._match(data, time.perf_counter_ns())

    def _match(self, data: bytes, now_ns: int) -> None:
        reply = parse_reply(data, self.tool.family, self.tool.raw)
        if reply is None:
            return
        ident, seq = reply
        if self.tool.raw and ident != self.ident:
            return  # another process's ping
        probe = self.pending.pop(seq, None)
        if probe is None:
            return  # a duplicate or a reply after its timeout
        rtt = (now_ns - probe.sent_ns) / 1e6
        self.tally.add(rtt)
        self.ctx.emit("rtt_ms", rtt, probe.sent_at)


def report(ctx: RunContext, t: Tally) -> None:
    """Emit the summary results and log the summary line."""
    sent = t.sent - t.in_flight
    ctx.emit("sent", sent)
    ctx.emit("received", t.received)
    line = f"{sent} sent, {t.received} received"
    if sent:
        loss = 100.0 * (sent - t.received) / sent
        ctx.emit("loss_pct", loss)
        line += f", {loss:.3g}% loss"
    if t.received:
        avg = t.rtt_sum / t.received
        for name, value in (("rtt_min_ms", t.rtt_min), ("rtt_avg_ms", avg),
                            ("rtt_max_ms", t.rtt_max)):
            ctx.emit(name, value)
        line += f", rtt min/avg/max {t.rtt_min:.3f}/{avg:.3f}/{t.rtt_max:.3f} ms"
    if t.in_flight:
        line += f"; {t.in_flight} still in flight at the end, not counted"
    if t.send_errors:
        line += f"; {t.send_errors} could not be sent"
    ctx.log(line)
