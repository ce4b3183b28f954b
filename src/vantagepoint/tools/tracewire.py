"""Paris traceroute probes and the ICMP replies they draw, for ``traceroute``.

Per-flow load balancers hash a packet's first transport bytes, so every
probe of a run keeps them constant and the run sees one path:

- UDP: source port ``SPORT_BASE + paris_id % SPORT_SPAN`` and the configured
  destination port; a probe is told by its UDP checksum, set per probe by
  two payload bytes;
- ICMP echo: identifier ``paris_id`` and checksum ``ICMP_CHECKSUM``; a probe
  is told by its sequence number, the payload bytes keeping the checksum.

Replies are read from a raw ICMP socket: time exceeded (a hop), port
unreachable or echo reply (the destination), other unreachables (an error,
written as Atlas writes it: N, H, P, A or the code). A reply's ``size`` is the
bytes after its ICMP header.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, replace

from vantagepoint.tools.icmp import ECHO_REPLY, ECHO_REQUEST, ones_sum, pseudo_header, steer

SPORT_BASE, SPORT_SPAN = 20480, 12288  # below Linux's ephemeral ports (32768-60999)
ICMP_CHECKSUM = 0x5A5A
V4, V6 = socket.AF_INET, socket.AF_INET6
TIME_EXCEEDED = {V4: 11, V6: 3}
UNREACHABLE = {V4: 3, V6: 1}
PORT_UNREACHABLE = {V4: 3, V6: 4}
UNREACHABLE_ERRORS = {V4: {0: "N", 1: "H", 2: "P", 9: "A", 10: "A", 13: "A"},
                      V6: {0: "N", 1: "A", 3: "H"}}


@dataclass(frozen=True)
class Reply:
    """What one ICMP message says about one of our probes."""

    key: int  # the probe's UDP checksum or ICMP sequence number
    source: str
    size: int
    final: bool  # the trace ends here (destination answered, or unreachable)
    error: str | None = None  # Atlas's ``err``
    inner_ttl: int | None = None  # the probe's TTL when it expired (quoted)
    ttl: int | None = None  # the reply's own TTL (IPv4 header; IPv6 from ancillary data)


@dataclass(frozen=True)
class Flow:
    """The constant fields of a run's probes: who talks to whom, how."""

    family: int
    proto: str  # "udp" or "icmp"
    src: str
    dst: str
    paris_id: int
    port: int = 33434
    size: int = 48  # payload bytes after the UDP or ICMP header; at least 2

    @property
    def sport(self) -> int:
        return SPORT_BASE + self.paris_id % SPORT_SPAN

    def probe(self, key: int) -> bytes:
        """The packet (from the transport header on) standing for ``key``."""
        rest = bytes(self.size - 2)
        if self.proto == "udp":
            return self._udp(key, rest)
        return self._icmp(key, rest)

    def _udp(self, key: int, rest: bytes) -> bytes:
        length = 8 + self.size
        head = struct.pack("!HHHH", self.sport, self.port, length, 0)
        pseudo = pseudo_header(self.family, self.src, self.dst, socket.IPPROTO_UDP, length)
        word = steer(ones_sum(pseudo + head + b"\0\0" + rest), key)
        return struct.pack("!HHHHH", self.sport, self.port, length, key, word) + rest

    def _icmp(self, key: int, rest: bytes) -> bytes:
        kind = ECHO_REQUEST[self.family]
        head = struct.pack("!BBHHH", kind, 0, 0, self.paris_id, key)
        partial = ones_sum(head + b"\0\0" + rest)
        if self.family == V6:  # the kernel sums ICMPv6 with the pseudo-header itself
            length = 8 + self.size
            pseudo = pseudo_header(V6, self.src, self.dst, socket.IPPROTO_ICMPV6, length)
            partial = ones_sum(pseudo, partial)
        word = steer(partial, ICMP_CHECKSUM)
        checksum = 0 if self.family == V6 else ICMP_CHECKSUM
        return struct.pack("!BBHHHH", kind, 0, checksum, self.paris_id, key, word) + rest

    def parse(self, data: bytes, source: str, ttl: int | None) -> Reply | None:
        """Our probe's reply in a raw ICMP socket's datagram; None for anything else."""
        if self.family == V4:
            if len(data) < 20:
                return None
            ttl, data = data[8], data[(data[0] & 0x0F) * 4:]
        if len(data) < 8:
            return None
        kind, code = data[0], data[1]
        if kind == ECHO_REPLY[self.family] and self.proto == "icmp":
            return self._echo_reply(data, source, ttl)
        if kind not in (TIME_EXCEEDED[self.family], UNREACHABLE[self.family]):
            return None
        quoted = self._quoted(data[8:])
        if quoted is None:
            return None
        key, inner_ttl = quoted
        reply = Reply(key, source, len(data) - 8, False, None, inner_ttl, ttl)
        if kind == TIME_EXCEEDED[self.family]:
            return reply
        return self._unreachable(reply, code)

    def _echo_reply(self, data: bytes, source: str, ttl: int | None) -> Reply | None:
        _, _, _, ident, seq = struct.unpack_from("!BBHHH", data)
        if ident != self.paris_id or source != self.dst:
            return None
        return Reply(seq, source, len(data) - 8, True, ttl=ttl)

    def _unreachable(self, reply: Reply, code: int) -> Reply:
        if code == PORT_UNREACHABLE[self.family] and self.proto == "udp":
            return replace(reply, final=True)
        error = UNREACHABLE_ERRORS[self.family].get(code, str(code))
        return replace(reply, final=True, error=error)

    def _quoted(self, inner: bytes) -> tuple[int, int] | None:
        """(key, TTL at expiry) of the probe an ICMP error quotes, if it is ours."""
        if self.family == V4:
            if len(inner) < 20:
                return None
            hlen, proto, inner_ttl = (inner[0] & 0x0F) * 4, inner[9], inner[8]
            dst = socket.inet_ntop(V4, inner[16:20])
        else:
            if len(inner) < 40:
                return None
            hlen, proto, inner_ttl = 40, inner[6], inner[7]
            dst = socket.inet_ntop(V6, inner[24:40])
        transport = inner[hlen:hlen + 8]
        if dst != self.dst or len(transport) < 8:
            return None
        return self._key(proto, transport, inner_ttl)

    def _key(self, proto: int, transport: bytes, inner_ttl: int) -> tuple[int, int] | None:
        if self.proto == "udp":
            sport, dport, _, key = struct.unpack("!HHHH", transport)
            ours = proto == socket.IPPROTO_UDP and (sport, dport) == (self.sport, self.port)
        else:
            kind, _, _, ident, key = struct.unpack("!BBHHH", transport)
            icmp = socket.IPPROTO_ICMP if self.family == V4 else socket.IPPROTO_ICMPV6
            ours = (proto, kind, ident) == (icmp, ECHO_REQUEST[self.family], self.paris_id)
        return (key, inner_ttl) if ours else None


def udp_key(index: int) -> int:
    """The UDP checksum standing for a run's ``index``-th probe (never 0 or 0xFFFF)."""
    return 1 + index % 0xFFFE
