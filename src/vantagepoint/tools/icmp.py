"""ICMP plumbing shared by ``ping`` and ``traceroute``.

Sockets (raw or unprivileged datagram, bound to a device), echo packets, the
Internet checksum and how to steer it (Paris traceroute holds a checksum
constant by adjusting two payload bytes), and receiving with the kernel's
receive timestamp (SO_TIMESTAMPNS) and the reply's TTL or hop limit.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import time
from dataclasses import dataclass

from vantagepoint.errors import ToolError

PROTO = {socket.AF_INET: socket.IPPROTO_ICMP, socket.AF_INET6: socket.IPPROTO_ICMPV6}
ECHO_REQUEST = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY = {socket.AF_INET: 0, socket.AF_INET6: 129}
# Linux values Python does not export everywhere.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
RECV_SIZE = 65535 + 1024
ANCILLARY = socket.CMSG_SPACE(16) + socket.CMSG_SPACE(4)
TIMESPEC = struct.Struct("qq")
CLOCK_SLACK_NS = 1_000_000  # a kernel RTT this much above the user-space one is a clock step


def resolve(target: str, tool: str) -> tuple[int, tuple]:
    """The address family and socket address of a host name or address literal."""
    try:
        infos = socket.getaddrinfo(target, None, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ToolError(f"cannot resolve {tool} target {target!r}: {reason}") from exc
    for family, _, _, _, sockaddr in infos:
        if family in PROTO:
            return family, sockaddr
    raise ToolError(f"{tool} target {target!r} has no IPv4 or IPv6 address")


def open_socket(family: int) -> tuple[socket.socket, bool]:
    """An ICMP socket and whether it is raw (else an unprivileged datagram one)."""
    try:
        return socket.socket(family, socket.SOCK_RAW, PROTO[family]), True
    except PermissionError:
        pass
    try:
        return socket.socket(family, socket.SOCK_DGRAM, PROTO[family]), False
    except OSError as exc:
        raise ToolError(privilege_message()) from exc


def open_raw(family: int, tool: str) -> socket.socket:
    """A raw ICMP socket, or a ToolError saying that it needs root."""
    try:
        return socket.socket(family, socket.SOCK_RAW, PROTO[family])
    except PermissionError as exc:
        raise ToolError(f"{tool} needs root (or CAP_NET_RAW) to receive ICMP errors on a raw "
                     f"socket; it runs as uid {os.geteuid()}") from exc


def privilege_message() -> str:
    """Why an unprivileged process may not open an ICMP socket here."""
    try:
        with open("/proc/sys/net/ipv4/ping_group_range") as f:
            allowed = " ".join(f.read().split())
    except OSError:
        allowed = "unknown"
    return (f"ping needs root (or CAP_NET_RAW) or net.ipv4.ping_group_range covering "
            f"gid {os.getegid()} (it is {allowed!r})")


def bind_device(sock: socket.socket, device: str, tool: str = "ping") -> None:
    """Send and receive only through ``device`` (SO_BINDTODEVICE)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
    except OSError as exc:
        if exc.errno == errno.ENODEV:
            raise ToolError(f"device {device!r} does not exist on this node") from exc
        raise ToolError(f"cannot bind {tool} to device {device!r}: {exc.strerror}") from exc


def set_ttl(sock: socket.socket, family: int, ttl: int) -> None:
    """Set the IPv4 TTL or the IPv6 unicast hop limit."""
    if family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)


def source_address(family: int, addr: tuple, device: str | None) -> str:
    """The local address the kernel picks to reach ``addr`` (through ``device``)."""
    probe = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if device:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        probe.connect((addr[0], 9, *addr[2:]))
        return probe.getsockname()[0]
    except OSError:
        return "::" if family == socket.AF_INET6 else "0.0.0.0"
    finally:
        probe.close()


def ones_sum(data: bytes, start: int = 0) -> int:
    """The folded 16-bit one's complement sum of ``data`` (not yet complemented)."""
    if len(data) % 2:
        data += b"\0"
    total = start + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    return ~ones_sum(data) & 0xFFFF


def steer(partial: int, wanted: int) -> int:
    """The 16-bit word that, added to a sum of ``partial``, makes the checksum ``wanted``.

    ``wanted`` must not be 0 or 0xFFFF (one's complement has two zeros).
    """
    return ones_sum(b"", (~wanted & 0xFFFF) + (~partial & 0xFFFF))


def pseudo_header(family: int, src: str, dst: str, proto: int, length: int) -> bytes:
    """The IPv4 or IPv6 pseudo-header that UDP and ICMPv6 checksums cover."""
    s, d = socket.inet_pton(family, src), socket.inet_pton(family, dst)
    if family == socket.AF_INET:
        return s + d + struct.pack("!BBH", 0, proto, length)
    return s + d + struct.pack("!IxxxB", length, proto)


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


@dataclass(frozen=True)
class Received:
    """One datagram with what the kernel told about it."""

    data: bytes
    addr: tuple
    perf_ns: int  # perf_counter_ns when user space got it
    kernel_ns: int | None  # CLOCK_REALTIME receive time (SO_TIMESTAMPNS), when given
    ttl: int | None  # the TTL or hop limit it arrived with, when given


def enable_receive_info(sock: socket.socket, family: int) -> bool:
    """Ask for receive timestamps and TTLs; True when the kernel will timestamp."""
    try:
        if family == socket.AF_INET:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    except OSError:
        pass  # no TTLs: records go without them
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        return True
    except OSError:
        return False


def receive(sock: socket.socket) -> Received:
    """One datagram (raises OSError, e.g. BlockingIOError, when there is none)."""
    data, ancillary, _, addr = sock.recvmsg(RECV_SIZE, ANCILLARY)
    perf_ns = time.perf_counter_ns()
    kernel_ns = ttl = None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
            sec, nsec = TIMESPEC.unpack_from(payload)
            kernel_ns = sec * 1_000_000_000 + nsec
        elif (level, kind) in ((socket.IPPROTO_IP, socket.IP_TTL),
                               (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT)) and payload:
            ttl = struct.unpack_from("i", payload)[0] if len(payload) >= 4 else payload[0]
    return Received(data, addr, perf_ns, kernel_ns, ttl)


def round_trip_ms(sent_wall_ns: int, sent_perf_ns: int, got: Received) -> tuple[float, bool]:
    """The round-trip time in ms and whether it is the kernel's timestamp.

    The kernel stamps on the realtime clock; should that clock step between
    send and receive, the monotonic user-space measurement is used instead.
    """
    user_ns = got.perf_ns - sent_perf_ns
    if got.kernel_ns is not None:
        kernel_ns = got.kernel_ns - sent_wall_ns
        if 0 <= kernel_ns <= user_ns + CLOCK_SLACK_NS:
            return kernel_ns / 1e6, True
    return user_ns / 1e6, False
